import type { OutgoingMessage } from './client';

/**
 * Outgoing messages packed into one transferable buffer for the producer thread: structured
 * cloning every message object (and its headers object) cost the pipeline thread ~5 µs each,
 * about as much as analysing a packet many times over. Per message: topic index (u16), flags
 * (u8: key present, key is bytes, partition set), partition (i32), timestamp (f64), key and value
 * (u32 length + bytes), headers (u16 count, then name and value as u32 length + UTF-8).
 * Unpacked keys and values are Buffers viewing that one buffer: kafkajs takes them as they are,
 * where strings would be encoded to UTF-8 a second time.
 */
export interface PackedMessages {
  readonly topics: string[];
  readonly count: number;
  readonly bytes: Uint8Array;
}

const KEY = 1;
const PARTITION = 2;

class Writer {
  buf = Buffer.allocUnsafe(64 * 1024);
  at = 0;

  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + n));
    this.buf.copy(bigger, 0, 0, this.at);
    this.buf = bigger;
  }

  u8(v: number): void {
    this.room(1);
    this.buf[this.at++] = v;
  }

  u16(v: number): void {
    this.room(2);
    this.at = this.buf.writeUInt16LE(v, this.at);
  }

  i32(v: number): void {
    this.room(4);
    this.at = this.buf.writeInt32LE(v, this.at);
  }

  f64(v: number): void {
    this.room(8);
    this.at = this.buf.writeDoubleLE(v, this.at);
  }

  /** u32 length, then the bytes (a string as UTF-8). */
  bytes(v: string | Buffer): void {
    if (typeof v === 'string') {
      this.room(4 + v.length * 3); // UTF-8 takes at most 3 bytes per UTF-16 unit
      const n = this.buf.write(v, this.at + 4, 'utf8');
      this.buf.writeUInt32LE(n, this.at);
      this.at += 4 + n;
    } else {
      this.room(4 + v.length);
      this.buf.writeUInt32LE(v.length, this.at);
      v.copy(this.buf, this.at + 4);
      this.at += 4 + v.length;
    }
  }
}

export function packMessages(messages: readonly OutgoingMessage[]): PackedMessages {
  const w = new Writer();
  const topics: string[] = [];
  const topicIndex = new Map<string, number>();
  for (const m of messages) {
    let t = topicIndex.get(m.topic);
    if (t === undefined) topicIndex.set(m.topic, (t = topics.push(m.topic) - 1));
    w.u16(t);
    w.u8((m.key !== null ? KEY : 0) | (m.partition !== undefined ? PARTITION : 0));
    w.i32(m.partition ?? -1);
    w.f64(m.timestampMs);
    if (m.key !== null) w.bytes(m.key);
    w.bytes(m.value);
    const headers = m.headers ? Object.entries(m.headers) : [];
    w.u16(headers.length);
    for (const [name, value] of headers) {
      w.bytes(name);
      w.bytes(value);
    }
  }
  return { topics, count: messages.length, bytes: w.buf.subarray(0, w.at) };
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
    const value = bytes();
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
