import type { PacketRecord } from '../model/packet-record';

/**
 * A hand-written reader for schemas/packet-record.avsc and packet-batch.avsc: the consumer's
 * hottest input path. avsc decodes each packet into a record object that is then copied into a
 * PacketRecord, and makes two new strings per packet for addresses that repeat all the time;
 * this reads straight into the PacketRecord and takes addresses (and sensor names) from a small
 * cache keyed by their bytes, so a packet costs one object.
 *
 * It covers what sensors send: ASCII strings, single-block arrays, values within range. Anything
 * else (non-ASCII text, multi-block arrays, a varint too long, a bad union index, truncation,
 * trailing bytes) returns undefined and the caller decodes with avsc, which then accepts it or
 * says what is wrong, exactly as before. A test holds both to the same result.
 */

let buf: Buffer = Buffer.alloc(0);
let pos = 0;
let end = 0;
/** Set when the input leaves what this reader covers. */
let off = false;

/** A zig-zag varint (Avro int and long alike), exact up to 2^53. */
function varint(): number {
  let b = buf[pos++];
  if (b < 0x80) return (b >>> 1) ^ -(b & 1);
  let n = b & 0x7f;
  let scale = 128;
  for (let i = 1; i < 8; i++) {
    b = buf[pos++];
    n += (b & 0x7f) * scale;
    if (b < 0x80) {
      if (n > Number.MAX_SAFE_INTEGER) break; // avsc refuses a long it cannot hold exactly
      return n % 2 === 0 ? n / 2 : -(n + 1) / 2;
    }
    scale *= 128;
  }
  off = true; // too long or too large (or truncated: reads past the end are undefined, never < 0x80)
  return 0;
}

/** Strings seen recently, by their bytes: open addressing, replaced on collision. */
const CACHE_SLOTS = 4096;
const cachedBytes: (Buffer | undefined)[] = new Array(CACHE_SLOTS);
const cachedText: string[] = new Array(CACHE_SLOTS);

function string(): string {
  const n = varint();
  const from = pos;
  const to = (pos += n);
  if (n < 0 || to > end || n > 64) {
    off = true;
    return '';
  }
  let h = 0x811c9dc5;
  for (let i = from; i < to; i++) {
    const c = buf[i];
    if (c >= 0x80) {
      off = true; // UTF-8 beyond ASCII: left to avsc
      return '';
    }
    h = Math.imul(h ^ c, 0x01000193);
  }
  const slot = (h >>> 0) & (CACHE_SLOTS - 1);
  const known = cachedBytes[slot];
  if (known !== undefined && known.length === n) {
    let same = true;
    for (let i = 0; i < n; i++) {
      if (known[i] !== buf[from + i]) {
        same = false;
        break;
      }
    }
    if (same) return cachedText[slot];
  }
  const text = buf.toString('latin1', from, to);
  cachedBytes[slot] = Buffer.from(buf.subarray(from, to));
  cachedText[slot] = text;
  return text;
}

/** Steps over a string of any bytes (structure only). */
function skipString(): void {
  const n = varint();
  if (n < 0 || pos + n > end) off = true;
  else pos += n;
}

/** Steps over one record, checking only its structure. */
function skipRecord(): void {
  varint(); // ts
  skipString(); // src
  skipString(); // dst
  for (let i = 0; i < 6; i++) varint(); // sport dport flags seq ack len
  for (let u = 0; u < 5 && !off; u++) {
    const index = varint();
    if (index === 1) {
      if (u === 2) skipString(); // sensor
      else varint();
    } else if (index !== 0) off = true;
  }
}

/** A union ["null", T]: false for null, true when a T follows. */
function present(): boolean {
  const index = varint();
  if (index === 0) return false;
  if (index !== 1) off = true;
  return true;
}

function record(): PacketRecord {
  const r: PacketRecord = { ts: varint(), src: string(), dst: string(), sport: varint(), dport: varint(), flags: varint(), seq: varint(), ack: varint(), len: varint() };
  if (present()) r.win = varint();
  if (present()) r.vlan = varint();
  if (present()) r.sensor = string();
  if (present()) r.frame = varint();
  if (present()) r.icmpQuote = varint();
  return r;
}

function start(value: Buffer): void {
  buf = value;
  pos = 0;
  end = value.length;
  off = false;
}

const done = (): boolean => !off && pos === end;

/** One PacketRecord (packet-record.avsc), or undefined when avsc should decide. */
export function readPacketRecord(value: Buffer): PacketRecord | undefined {
  start(value);
  const r = record();
  return done() ? r : undefined;
}

/**
 * Whether `value` is a PacketBatch in structure (any number of blocks, every declared count
 * within what the bytes can hold). avsc allocates and reads every item an array block declares
 * before it checks the bytes: one corrupt count of 10^8 exhausted the heap. So avsc only sees
 * batches that pass this.
 */
export function plausibleBatch(value: Buffer): boolean {
  start(value);
  for (;;) {
    let count = varint();
    if (off) return false;
    if (count === 0) return done();
    if (count < 0) {
      count = -count;
      varint(); // the block's size in bytes
    }
    if (count > (end - pos) / 14) return false; // a record takes at least 14 bytes
    for (let i = 0; i < count && !off; i++) skipRecord();
    if (off || pos > end) return false;
  }
}

/** A PacketBatch (packet-batch.avsc), or undefined when avsc should decide. */
export function readPacketBatch(value: Buffer): PacketRecord[] | undefined {
  start(value);
  const count = varint();
  // One block, then the terminating empty block; a record needs at least 13 bytes.
  if (count <= 0 || count > end / 13) return count === 0 && done() ? [] : undefined;
  const packets: PacketRecord[] = new Array(count);
  for (let i = 0; i < count && !off; i++) packets[i] = record();
  if (off || varint() !== 0) return undefined;
  return done() ? packets : undefined;
}
