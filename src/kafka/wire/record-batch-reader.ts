/**
 * Record batches (magic 2) read back into records: the other half of record-batch.ts, for the
 * partition reader. Control batches (transaction markers) are skipped, and so are the batches of
 * transactions the fetch response lists as aborted (read_committed).
 */
import { decompressRecords } from '../codecs';

export interface ReadRecord {
  readonly offset: bigint;
  readonly timestampMs: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Readonly<Record<string, string>>;
}

const HEADER_BYTES = 61;

export class RecordBatchFormatError extends Error {
  override name = 'RecordBatchFormatError';
}

/** A zig-zag varint at `at`: [value, next position]. */
function varint(b: Buffer, at: number): [number, number] {
  let v = 0;
  let scale = 1;
  for (;;) {
    if (at >= b.length) throw new RecordBatchFormatError('record cut short');
    const x = b[at++];
    v += (x & 0x7f) * scale;
    if (x < 0x80) break;
    scale *= 0x80;
    if (scale > 2 ** 63) throw new RecordBatchFormatError('varint too long');
  }
  // Zig-zag: even values are non-negative.
  return [v % 2 === 0 ? v / 2 : -(v + 1) / 2, at];
}

/**
 * The records of the whole batches in `data` with offsets from `fromOffset` on, in order; a batch
 * cut off at the end (the broker stops at the fetch size) is left for the next fetch. Returns the
 * records and the offset after the last whole batch (where the next fetch starts).
 */
export async function readRecordBatches(data: Buffer, fromOffset: bigint, aborted: readonly { producerId: bigint; firstOffset: bigint }[] = []): Promise<{ records: ReadRecord[]; nextOffset: bigint }> {
  const records: ReadRecord[] = [];
  let nextOffset = fromOffset;
  // As the Java consumer: an aborted transaction's batches are skipped from its first offset
  // until that producer's next control batch (the abort marker).
  const pendingAborts = [...aborted].sort((a, b) => (a.firstOffset < b.firstOffset ? -1 : 1));
  const aborting = new Set<bigint>();
  for (let at = 0; at + HEADER_BYTES <= data.length; ) {
    const baseOffset = data.readBigInt64BE(at);
    const batchLength = data.readInt32BE(at + 8);
    const end = at + 12 + batchLength;
    if (end > data.length) break; // cut off: fetched again from its start
    if (data[at + 16] !== 2) throw new RecordBatchFormatError(`record batch magic ${data[at + 16]} (only 2 is read)`);
    const attributes = data.readInt16BE(at + 21);
    const lastOffsetDelta = data.readInt32BE(at + 23);
    const baseTimestamp = Number(data.readBigInt64BE(at + 27));
    const producerId = data.readBigInt64BE(at + 43);
    const count = data.readInt32BE(at + 57);
    const batchAfter = baseOffset + BigInt(lastOffsetDelta) + 1n;
    const control = (attributes & 0x20) !== 0;
    const transactional = (attributes & 0x10) !== 0;
    while (pendingAborts.length > 0 && pendingAborts[0].firstOffset <= baseOffset) aborting.add(pendingAborts.shift()!.producerId);
    const abortedHere = transactional && aborting.has(producerId);
    if (control) aborting.delete(producerId);
    if (!control && !abortedHere && batchAfter > fromOffset) {
      const codec = attributes & 7;
      const body = codec === 0 ? data.subarray(at + HEADER_BYTES, end) : await decompressRecords(codec, data.subarray(at + HEADER_BYTES, end));
      readRecords(body, count, baseOffset, baseTimestamp, fromOffset, records);
    }
    if (batchAfter > nextOffset) nextOffset = batchAfter;
    at = end;
  }
  return { records, nextOffset };
}

function readRecords(b: Buffer, count: number, baseOffset: bigint, baseTimestamp: number, fromOffset: bigint, out: ReadRecord[]): void {
  let at = 0;
  for (let i = 0; i < count; i++) {
    let length: number;
    [length, at] = varint(b, at);
    const recordEnd = at + length;
    if (recordEnd > b.length) throw new RecordBatchFormatError('record cut short');
    at++; // attributes
    let tsDelta: number;
    let offsetDelta: number;
    [tsDelta, at] = varint(b, at);
    [offsetDelta, at] = varint(b, at);
    let n: number;
    [n, at] = varint(b, at);
    const key = n < 0 ? null : b.subarray(at, (at += n));
    [n, at] = varint(b, at);
    const value = n < 0 ? null : b.subarray(at, (at += n));
    let headerCount: number;
    [headerCount, at] = varint(b, at);
    const headers: Record<string, string> = {};
    for (let h = 0; h < headerCount; h++) {
      [n, at] = varint(b, at);
      const name = b.toString('utf8', at, (at += n));
      [n, at] = varint(b, at);
      headers[name] = n < 0 ? '' : b.toString('utf8', at, (at += n));
    }
    if (at !== recordEnd) throw new RecordBatchFormatError('record length does not match its fields');
    const offset = baseOffset + BigInt(offsetDelta);
    if (offset >= fromOffset) out.push({ offset, timestampMs: baseTimestamp + tsDelta, key, value, headers });
  }
}
