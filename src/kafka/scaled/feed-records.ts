/**
 * Records of the clients topic (`<app-id>.clients-repartition`): what the flow tasks send the
 * client tasks. Items (a flow.open opened by a handshake, or a port.reuse, each with the sending
 * task's sequence number) go to the partition `sensor|client address` hashes to, so that one
 * client's connections meet in one partition; a flow task gathers what one batch of its input
 * gives each partition into one record (FeedBatches), its value binary (feed-codec.ts), the
 * sending task and the item count in headers. Earlier versions wrote JSON: a list
 * `[[seq,event],…]`, or one item per record keyed by `sensor|client address` with the sequence
 * number in a header; both are still read. A mark goes to every partition: the sender's low
 * watermark, whether its input is at its end for now (idle), and whether it has ended for good
 * (final: `--until-end` flushed it).
 *
 * One record per batch and partition instead of one per item: the client tasks' kafkajs decodes a
 * record (and its headers) into objects, and the producer frames each; with items one by one the
 * feed cost more than the events themselves.
 */
import type { ClientFeedEvent } from '../../stages/client-stage';
import { ByteWriter } from '../../util/byte-writer';
import type { ConsumedMessage } from '../client';
import type { MessagePacker } from '../message-pack';
import { keyPartition } from '../wire/murmur2';
import { FeedItemWriter, FeedRecordError, readFeedItems, type FeedItem } from './feed-codec';

export { FeedRecordError, type FeedItem };

export const FEED_HEADERS = { from: 'tcpreuse-from', seq: 'tcpreuse-seq', items: 'tcpreuse-items', format: 'tcpreuse-feed', mark: 'tcpreuse-mark', idle: 'tcpreuse-idle', final: 'tcpreuse-final' } as const;
const BINARY = 'bin1';

export type FeedRecord = { readonly kind: 'items'; readonly from: string; readonly items: readonly FeedItem[] } | { readonly kind: 'mark'; readonly from: string; readonly ts: number; readonly idle: boolean; readonly final: boolean };

/** A record's value grows to about this before the next item starts another (well under the broker's 1 MB limit). */
const RECORD_BYTES = 256 * 1024;

interface Gathered {
  readonly partition: number;
  readonly items: FeedItemWriter;
  readonly ts: number;
}

/** One flow task's items not written yet, per clients partition. */
export class FeedBatches {
  private readonly open = new Map<number, Gathered>();
  /** Records filled up, in the order they were started. */
  private readonly full: Gathered[] = [];
  private readonly key = new ByteWriter(256);

  constructor(private readonly partitions: number) {}

  get pending(): boolean {
    return this.open.size > 0 || this.full.length > 0;
  }

  add(seq: number, e: ClientFeedEvent): void {
    const k = this.key;
    k.at = 0;
    k.text(`${e.sensor}|${e.client.ip}`);
    const partition = keyPartition(k.buf, this.partitions, k.at);
    let b = this.open.get(partition);
    if (b && b.items.w.at >= RECORD_BYTES) {
      this.full.push(b);
      b = undefined;
    }
    if (!b) this.open.set(partition, (b = { partition, items: new FeedItemWriter(), ts: e.ts }));
    b.items.add(seq, e);
  }

  /** Writes one record per partition with items, to `topic`, from task `from`. */
  writeTo(packer: MessagePacker, topic: string, from: string): void {
    // A partition's full records before its open one: its items stay in sequence order.
    for (const b of [...this.full, ...this.open.values()]) {
      packer.begin(topic, b.partition, Math.floor(b.ts / 1000), false);
      packer.field(b.items.bytes());
      packer.headers({ [FEED_HEADERS.from]: from, [FEED_HEADERS.items]: String(b.items.items), [FEED_HEADERS.format]: BINARY });
      packer.label('feed');
    }
    this.open.clear();
    this.full.length = 0;
  }
}

export function packFeedMark(packer: MessagePacker, topic: string, partition: number, from: string, ts: number, idle: boolean, final: boolean): void {
  packer.begin(topic, partition, Number.isFinite(ts) ? Math.max(0, Math.floor(ts / 1000)) : Date.now(), false);
  packer.field('');
  packer.headers({ [FEED_HEADERS.from]: from, [FEED_HEADERS.mark]: String(ts), [FEED_HEADERS.idle]: idle ? '1' : '0', [FEED_HEADERS.final]: final ? '1' : '0' });
  packer.label('mark');
}

function feedEvent(value: unknown, offset: string): ClientFeedEvent {
  const type = (value as { type?: unknown } | null)?.type;
  if (type !== 'flow.open' && type !== 'port.reuse') throw new FeedRecordError(`offset ${offset}: a ${String(type)} is not for the client stage`);
  return value as ClientFeedEvent;
}

function sequence(value: unknown, offset: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 0) throw new FeedRecordError(`offset ${offset}: no sequence number`);
  return value as number;
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
  if (m.headers[FEED_HEADERS.format] !== undefined) {
    if (m.headers[FEED_HEADERS.format] !== BINARY) throw new FeedRecordError(`offset ${m.offset}: feed format ${m.headers[FEED_HEADERS.format]}, this build reads ${BINARY}`);
    if (!m.value) throw new FeedRecordError(`offset ${m.offset}: no value`);
    const items = readFeedItems(m.value, m.offset);
    if (String(items.length) !== m.headers[FEED_HEADERS.items]) throw new FeedRecordError(`offset ${m.offset}: ${items.length} items, the header says ${m.headers[FEED_HEADERS.items]}`);
    return { kind: 'items', from, items };
  }
  let value: unknown;
  try {
    value = JSON.parse(m.value?.toString('utf8') ?? '');
  } catch {
    throw new FeedRecordError(`offset ${m.offset}: the value is not JSON`);
  }
  // One item per record, its sequence number in a header (as earlier versions wrote them).
  if (m.headers[FEED_HEADERS.items] === undefined) return { kind: 'items', from, items: [{ seq: sequence(Number(m.headers[FEED_HEADERS.seq]), m.offset), event: feedEvent(value, m.offset) }] };
  if (!Array.isArray(value)) throw new FeedRecordError(`offset ${m.offset}: the value is not a list of items`);
  return {
    kind: 'items',
    from,
    items: value.map((item: unknown) => {
      if (!Array.isArray(item) || item.length !== 2) throw new FeedRecordError(`offset ${m.offset}: an item is not [sequence number, event]`);
      return { seq: sequence(item[0], m.offset), event: feedEvent(item[1], m.offset) };
    }),
  };
}
