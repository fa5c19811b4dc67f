/**
 * The binary value of a clients-topic record (feed-records.ts): the items one flow task sends one
 * clients partition, each only the fields the client stage reads (ClientFeedEvent), not the whole
 * event. Per item: its sequence number (the first in full, then the step from the one before),
 * one byte of type and detail (openedBy or severity), the time, and the sensor and both
 * endpoints, each string written once per record and then referred to by number.
 *
 * The JSON of whole events it replaces cost more to write and parse than the client stage's own
 * work (a flow.open is ~400 bytes of JSON, ~30 here).
 */
import type { OpenedBy, Severity } from '../../model/events';
import type { ClientFeedEvent } from '../../stages/client-stage';
import { ByteWriter } from '../../util/byte-writer';

export interface FeedItem {
  readonly seq: number;
  readonly event: ClientFeedEvent;
}

export class FeedRecordError extends Error {
  override name = 'FeedRecordError';
}

const FORMAT = 1;
const OPENED_BY: readonly OpenedBy[] = ['syn', 'synack', 'midstream'];
const SEVERITIES: readonly Severity[] = ['info', 'low', 'medium', 'high'];
const REUSE = 0x80; // type bit of the item's first byte; the low bits index OPENED_BY or SEVERITIES

/** One record's items, written as they come. */
export class FeedItemWriter {
  readonly w: ByteWriter;
  items = 0;
  private lastSeq = 0;
  private readonly strings = new Map<string, number>();

  constructor(initialBytes = 4096) {
    this.w = new ByteWriter(initialBytes);
    this.w.u8(FORMAT);
  }

  add(seq: number, e: ClientFeedEvent): void {
    const w = this.w;
    if (seq < this.lastSeq) throw new RangeError(`feed sequence numbers go back: ${seq} after ${this.lastSeq}`);
    this.varint(seq - this.lastSeq);
    this.lastSeq = seq;
    w.u8(e.type === 'port.reuse' ? REUSE | SEVERITIES.indexOf(e.severity) : OPENED_BY.indexOf(e.openedBy));
    w.f64(e.ts);
    this.ref(e.sensor);
    this.ref(e.client.ip);
    w.u16(e.client.port);
    this.ref(e.server.ip);
    w.u16(e.server.port);
    this.items++;
  }

  /** The record's value (a view of the writer's buffer). */
  bytes(): Buffer {
    return this.w.buf.subarray(0, this.w.at);
  }

  private varint(v: number): void {
    while (v >= 0x80) {
      this.w.u8((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    this.w.u8(v);
  }

  /** 0 and the string (length, UTF-8) the first time; 1 + its number after that. */
  private ref(s: string): void {
    const i = this.strings.get(s);
    if (i !== undefined) return this.varint(i + 1);
    this.strings.set(s, this.strings.size);
    this.w.u8(0);
    this.varint(Buffer.byteLength(s, 'utf8'));
    this.w.text(s);
  }
}

/** The items of a record FeedItemWriter wrote; FeedRecordError (naming `offset`) when it is not one. */
export function readFeedItems(buf: Buffer, offset: string): FeedItem[] {
  let at = 0;
  const fail = (why: string): never => {
    throw new FeedRecordError(`offset ${offset}: ${why}`);
  };
  const need = (n: number): void => {
    if (at + n > buf.length) fail('the record is cut short');
  };
  const varint = (): number => {
    let v = 0;
    for (let scale = 1; ; scale *= 0x80) {
      need(1);
      const b = buf[at++];
      v += (b & 0x7f) * scale;
      if (b < 0x80) return v;
      if (scale > 2 ** 42) fail('a number is too long');
    }
  };
  const strings: string[] = [];
  const ref = (): string => {
    const i = varint();
    if (i > 0) return strings[i - 1] ?? fail(`string ${i} before its definition`);
    const n = varint();
    need(n);
    const s = buf.toString('utf8', at, at + n);
    at += n;
    strings.push(s);
    return s;
  };
  need(1);
  if (buf[at++] !== FORMAT) fail(`feed format ${buf[0]}, this build reads ${FORMAT}`);
  const items: FeedItem[] = [];
  let seq = 0;
  while (at < buf.length) {
    seq += varint();
    need(9);
    const kind = buf[at];
    const ts = buf.readDoubleLE(at + 1);
    at += 9;
    const sensor = ref();
    const clientIp = ref();
    need(2);
    const clientPort = buf.readUInt16LE(at);
    at += 2;
    const serverIp = ref();
    need(2);
    const serverPort = buf.readUInt16LE(at);
    at += 2;
    const client = { ip: clientIp, port: clientPort };
    const server = { ip: serverIp, port: serverPort };
    let event: ClientFeedEvent;
    if (kind & REUSE) event = { type: 'port.reuse', ts, sensor, client, server, severity: SEVERITIES[kind & ~REUSE] ?? fail(`severity ${kind & ~REUSE}`) };
    else event = { type: 'flow.open', ts, sensor, client, server, openedBy: OPENED_BY[kind] ?? fail(`opening ${kind}`) };
    items.push({ seq, event });
  }
  return items;
}
