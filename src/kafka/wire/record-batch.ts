/**
 * Record batches (magic 2, the only format Kafka 4 accepts) encoded straight into one buffer of
 * the exact size: a first pass measures every key, value and header, a second writes them. Where
 * kafkajs builds an encoder object per record and per field (and Long.js varints), this makes one
 * allocation per batch, which is what lets a record cost about as much as the packet it came from.
 */
import type { OutgoingMessage } from '../client';
import { COMPRESSION_CODEC, compressRecords, type Compression } from '../codecs';
import { varintSize, Writer } from './bytes';
import { crc32c } from './crc32c';

/** Idempotent-producer fields of a batch: the broker drops a batch whose sequence it already has. */
export interface ProducerStamp {
  readonly producerId: bigint;
  readonly producerEpoch: number;
  readonly baseSequence: number;
  /** Part of a transaction (read_committed readers see it once the transaction commits). */
  readonly transactional?: boolean;
}

/** baseOffset … recordCount: the fixed part of a batch. */
const HEADER_BYTES = 61;
/** Where the CRC-covered part starts (attributes). */
const CRC_FROM = 21;

let keyBytes = new Int32Array(1024);
let valueBytes = new Int32Array(1024);

const byteLength = (v: string | Buffer): number => (typeof v === 'string' ? Buffer.byteLength(v, 'utf8') : v.length);

function headersSize(headers: Readonly<Record<string, string>> | undefined): number {
  if (!headers) return 1;
  let size = 0;
  let count = 0;
  for (const name in headers) {
    const k = Buffer.byteLength(name, 'utf8');
    const v = Buffer.byteLength(headers[name], 'utf8');
    size += varintSize(k) + k + varintSize(v) + v;
    count++;
  }
  return size + varintSize(count);
}

/** The records section (without count) of `messages`, written at `w`; returns nothing, advances `w`. */
function writeRecords(w: Writer, messages: readonly OutgoingMessage[], baseTimestamp: number, bodySizes: Int32Array): void {
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i];
    w.varint(bodySizes[i]);
    w.int8(0); // record attributes: none defined
    w.varint(m.timestampMs - baseTimestamp);
    w.varint(i);
    if (m.key === null) w.varint(-1);
    else {
      w.varint(keyBytes[i]);
      w.raw(m.key);
    }
    w.varint(valueBytes[i]);
    if (m.value !== null) w.raw(m.value);
    const h = m.headers;
    if (!h) w.varint(0);
    else {
      const names = Object.keys(h);
      w.varint(names.length);
      for (const name of names) {
        w.varint(Buffer.byteLength(name, 'utf8'));
        w.raw(name);
        w.varint(Buffer.byteLength(h[name], 'utf8'));
        w.raw(h[name]);
      }
    }
  }
}

/**
 * One partition's messages as a record batch (baseOffset 0, the broker assigns offsets), ready to
 * go into a produce request as the partition's `records` bytes. Timestamps are CreateTime.
 */
export async function encodeRecordBatch(messages: readonly OutgoingMessage[], stamp: ProducerStamp, compression: Compression): Promise<Buffer> {
  const n = messages.length;
  if (n === 0) throw new Error('a record batch needs at least one record');
  if (keyBytes.length < n) {
    keyBytes = new Int32Array(n * 2);
    valueBytes = new Int32Array(n * 2);
  }
  const bodySizes = new Int32Array(n);
  const baseTimestamp = messages[0].timestampMs;
  let maxTimestamp = baseTimestamp;
  let recordsSize = 0;
  for (let i = 0; i < n; i++) {
    const m = messages[i];
    const t = m.timestampMs;
    if (t > maxTimestamp) maxTimestamp = t;
    const k = m.key === null ? -1 : byteLength(m.key);
    const v = m.value === null ? -1 : byteLength(m.value);
    keyBytes[i] = k;
    valueBytes[i] = v;
    const body = 1 + varintSize(t - baseTimestamp) + varintSize(i) + (k < 0 ? 1 : varintSize(k) + k) + (v < 0 ? 1 : varintSize(v) + v) + headersSize(m.headers);
    bodySizes[i] = body;
    recordsSize += varintSize(body) + body;
  }

  let records: Buffer | null = null;
  if (compression !== 'none') {
    const raw = new Writer(Buffer.allocUnsafe(recordsSize));
    writeRecords(raw, messages, baseTimestamp, bodySizes);
    records = await compressRecords(compression, raw.buf);
  }
  const size = HEADER_BYTES + (records ? records.length : recordsSize);
  const w = new Writer(Buffer.allocUnsafe(size));
  w.int64n(0); // baseOffset
  w.int32(size - 12); // batchLength: the bytes after this field
  w.int32(-1); // partitionLeaderEpoch: unknown to a producer
  w.int8(2); // magic
  w.uint32(0); // crc, filled in below
  w.int16(COMPRESSION_CODEC[compression] | (stamp.transactional ? 0x10 : 0)); // attributes: codec, CreateTime, transactional or not
  w.int32(n - 1); // lastOffsetDelta
  w.int64n(baseTimestamp);
  w.int64n(maxTimestamp);
  w.int64(stamp.producerId);
  w.int16(stamp.producerEpoch);
  w.int32(stamp.baseSequence);
  w.int32(n);
  if (records) w.raw(records);
  else writeRecords(w, messages, baseTimestamp, bodySizes);
  if (w.at !== size) throw new Error(`record batch: wrote ${w.at} bytes, expected ${size}`);
  w.buf.writeUInt32BE(crc32c(w.buf, CRC_FROM, size), 17);
  return w.buf;
}
