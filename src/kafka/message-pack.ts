import { ByteWriter } from '../util/byte-writer';
import type { OutgoingMessage } from './client';

/**
 * Outgoing messages packed into one transferable buffer for the producer thread: structured
 * cloning every message object (and its headers object) cost the pipeline thread ~5 µs each,
 * about as much as analysing a packet many times over. Per message: topic index (u16), flags
 * (u8: key present, partition set), partition (i32), timestamp (f64), key and value (u32 length +
 * bytes), headers (u16 count, then name and value as u32 length + UTF-8). Unpacked keys and
 * values are Buffers viewing that one buffer: the producers take them as they are.
 */
export interface PackedMessages {
  readonly topics: string[];
  readonly count: number;
  readonly bytes: Uint8Array;
}

const KEY = 1;
const PARTITION = 2;
/** No value field follows: a tombstone. */
const NULL_VALUE = 4;

/**
 * Builds a PackedMessages record by record. `add` takes a whole message; `begin`/`field`/`end`
 * let a caller write a record's key and value bytes in place (event-records does, for every
 * event), so the consumer keeps no per-record strings or objects until the broker acknowledges.
 */
export class MessagePacker {
  readonly writer: ByteWriter;
  private readonly topics: string[] = [];
  private readonly topicIndex = new Map<string, number>();
  private lengthAt = -1;
  count = 0;
  /** Records per label (the consumer counts event types), for metrics once they are written. */
  readonly tally = new Map<string, number>();

  /** `initialBytes`: a guess of the size (growing a large buffer by doubling copies it each time). */
  constructor(initialBytes = 64 * 1024) {
    this.writer = new ByteWriter(initialBytes);
  }

  /** Starts a record: a key (written next with field()) or none, then the value (none for a tombstone). */
  begin(topic: string, partition: number | undefined, timestampMs: number, hasKey: boolean, tombstone = false): void {
    let t = this.topicIndex.get(topic);
    if (t === undefined) this.topicIndex.set(topic, (t = this.topics.push(topic) - 1));
    const w = this.writer;
    w.u16(t);
    w.u8((hasKey ? KEY : 0) | (partition !== undefined ? PARTITION : 0) | (tombstone ? NULL_VALUE : 0));
    w.i32(partition ?? -1);
    w.f64(timestampMs);
    this.count++;
  }

  /** Opens a length-prefixed field (key, value, header name or value); write its bytes, then close(). */
  open(): ByteWriter {
    this.lengthAt = this.writer.reserveU32();
    return this.writer;
  }

  close(): void {
    this.writer.patchU32(this.lengthAt, this.writer.at - this.lengthAt - 4);
  }

  /** A whole field from a string (UTF-8) or bytes. */
  field(v: string | Uint8Array): void {
    const w = this.open();
    if (typeof v === 'string') w.text(v);
    else w.bytes(v);
    this.close();
  }

  headers(h: Readonly<Record<string, string>> | undefined): void {
    const names = h ? Object.keys(h) : [];
    this.writer.u16(names.length);
    for (const name of names) {
      this.field(name);
      this.field(h![name]);
    }
  }

  add(m: OutgoingMessage): void {
    this.begin(m.topic, m.partition, m.timestampMs, m.key !== null, m.value === null);
    if (m.key !== null) this.field(m.key);
    if (m.value !== null) this.field(m.value);
    this.headers(m.headers);
  }

  label(name: string): void {
    this.tally.set(name, (this.tally.get(name) ?? 0) + 1);
  }

  /** The packed records (the packer is not used after this). */
  finish(): PackedMessages {
    return { topics: this.topics, count: this.count, bytes: this.writer.buf.subarray(0, this.writer.at) };
  }
}

export function packMessages(messages: readonly OutgoingMessage[]): PackedMessages {
  const p = new MessagePacker();
  for (const m of messages) p.add(m);
  return p.finish();
}

/** The messages as objects, whichever form a Sink was given them in. */
export function messagesOf(m: readonly OutgoingMessage[] | PackedMessages): readonly OutgoingMessage[] {
  return isPacked(m) ? unpackMessages(m) : m;
}

/** True for packed messages (a Sink takes either). */
export function isPacked(m: readonly OutgoingMessage[] | PackedMessages): m is PackedMessages {
  return !Array.isArray(m);
}

export function unpackMessages(p: PackedMessages): OutgoingMessage[] {
  const b = Buffer.from(p.bytes.buffer, p.bytes.byteOffset, p.bytes.byteLength);
  let at = 0;
  const bytes = (): Buffer => {
    const n = b.readUInt32LE(at);
    const v = b.subarray(at + 4, at + 4 + n);
    at += 4 + n;
    return v;
  };
  const out: OutgoingMessage[] = new Array(p.count);
  for (let i = 0; i < p.count; i++) {
    const topic = p.topics[b.readUInt16LE(at)];
    const flags = b[at + 2];
    const partition = b.readInt32LE(at + 3);
    const timestampMs = b.readDoubleLE(at + 7);
    at += 15;
    const key = flags & KEY ? bytes() : null;
    const value = flags & NULL_VALUE ? null : bytes();
    const headerCount = b.readUInt16LE(at);
    at += 2;
    let headers: Record<string, string> | undefined;
    if (headerCount > 0) {
      headers = {};
      for (let h = 0; h < headerCount; h++) {
        const name = bytes().toString('utf8');
        headers[name] = bytes().toString('utf8');
      }
    }
    out[i] = { topic, partition: flags & PARTITION ? partition : undefined, key, value, timestampMs, headers };
  }
  return out;
}
