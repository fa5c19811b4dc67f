/**
 * Records of the clients topic (`<app-id>.clients-repartition`): what the flow tasks send the
 * client tasks. An item is a flow.open (opened by a handshake) or a port.reuse as its JSON, keyed
 * by `sensor|client address` so one client's connections meet in one partition, with the sending
 * task and its sequence number in headers. A mark goes to every partition: the sender's low
 * watermark, whether its input is at its end for now (idle), and whether it has ended for good
 * (final: `--until-end` flushed it).
 */
import { writeEventJson } from '../../model/event-json';
import type { ClientFeedEvent } from '../../stages/client-stage';
import type { ConsumedMessage } from '../client';
import type { MessagePacker } from '../message-pack';

export const FEED_HEADERS = { from: 'tcpreuse-from', seq: 'tcpreuse-seq', mark: 'tcpreuse-mark', idle: 'tcpreuse-idle', final: 'tcpreuse-final' } as const;

export type FeedRecord =
  | { readonly kind: 'item'; readonly from: string; readonly seq: number; readonly event: ClientFeedEvent }
  | { readonly kind: 'mark'; readonly from: string; readonly ts: number; readonly idle: boolean; readonly final: boolean };

export class FeedRecordError extends Error {
  override name = 'FeedRecordError';
}

export function packFeedItem(packer: MessagePacker, topic: string, from: string, seq: number, e: ClientFeedEvent): void {
  packer.begin(topic, undefined, Math.floor(e.ts / 1000), true);
  packer.field(`${e.sensor}|${e.client.ip}`);
  writeEventJson(packer.open(), e);
  packer.close();
  packer.writer.u16(2);
  packer.field(FEED_HEADERS.from);
  packer.field(from);
  packer.field(FEED_HEADERS.seq);
  packer.field(String(seq));
  packer.label('feed');
}

export function packFeedMark(packer: MessagePacker, topic: string, partition: number, from: string, ts: number, idle: boolean, final: boolean): void {
  packer.begin(topic, partition, Number.isFinite(ts) ? Math.max(0, Math.floor(ts / 1000)) : Date.now(), false);
  packer.field('');
  packer.headers({ [FEED_HEADERS.from]: from, [FEED_HEADERS.mark]: String(ts), [FEED_HEADERS.idle]: idle ? '1' : '0', [FEED_HEADERS.final]: final ? '1' : '0' });
  packer.label('mark');
}

export function parseFeedRecord(m: ConsumedMessage): FeedRecord {
  const from = m.headers[FEED_HEADERS.from];
  if (!from) throw new FeedRecordError(`offset ${m.offset}: no ${FEED_HEADERS.from} header (not written by a tcpreuse flow task)`);
  const mark = m.headers[FEED_HEADERS.mark];
  if (mark !== undefined) {
    const ts = Number(mark);
    if (Number.isNaN(ts)) throw new FeedRecordError(`offset ${m.offset}: mark ${JSON.stringify(mark)} is not a time`);
    return { kind: 'mark', from, ts, idle: m.headers[FEED_HEADERS.idle] === '1', final: m.headers[FEED_HEADERS.final] === '1' };
  }
  const seq = Number(m.headers[FEED_HEADERS.seq]);
  if (!Number.isSafeInteger(seq) || seq < 0) throw new FeedRecordError(`offset ${m.offset}: no sequence number`);
  let event: ClientFeedEvent;
  try {
    event = JSON.parse(m.value?.toString('utf8') ?? '') as ClientFeedEvent;
  } catch {
    throw new FeedRecordError(`offset ${m.offset}: the value is not an event's JSON`);
  }
  if (event.type !== 'flow.open' && event.type !== 'port.reuse') throw new FeedRecordError(`offset ${m.offset}: a ${String((event as { type?: unknown }).type)} is not for the client stage`);
  return { kind: 'item', from, seq, event };
}
