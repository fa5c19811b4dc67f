/**
 * ListOffsets v2 and Fetch v4: enough to read one partition from an offset to an offset without
 * joining a group (the consumer restores a task's state from the changelog this way). Field
 * layouts as Kafka's ListOffsetsRequest.json and FetchRequest.json have them for these versions.
 */
import { stringSize, Writer, type Reader } from './bytes';

/** ListOffsets timestamps that ask for the log's start and end rather than a time. */
export const EARLIEST = -2n;
export const LATEST = -1n;

export const READ_UNCOMMITTED = 0;
export const READ_COMMITTED = 1;

export function listOffsetsRequest(topic: string, partition: number, timestamp: bigint, isolation: number): Buffer {
  const w = new Writer(Buffer.allocUnsafe(4 + 1 + 4 + stringSize(topic) + 4 + 4 + 8));
  w.int32(-1); // replica_id: a client
  w.int8(isolation);
  w.int32(1);
  w.string(topic);
  w.int32(1);
  w.int32(partition);
  w.int64(timestamp);
  return w.buf;
}

export function parseListOffsets(r: Reader): { errorCode: number; offset: bigint } {
  r.int32(); // throttle_time_ms
  const topics = r.array((t) => {
    t.string();
    return t.array((p) => ({ partition: p.int32(), errorCode: p.int16(), timestamp: p.int64(), offset: p.int64() }));
  });
  const p = topics[0]?.[0];
  if (!p) return { errorCode: 3, offset: -1n };
  return { errorCode: p.errorCode, offset: p.offset };
}

export function fetchRequest(topic: string, partition: number, offset: bigint, maxBytes: number, maxWaitMs: number, isolation: number): Buffer {
  const w = new Writer(Buffer.allocUnsafe(4 * 4 + 1 + 4 + stringSize(topic) + 4 + 4 + 8 + 4));
  w.int32(-1); // replica_id
  w.int32(maxWaitMs);
  w.int32(1); // min_bytes
  w.int32(maxBytes);
  w.int8(isolation);
  w.int32(1);
  w.string(topic);
  w.int32(1);
  w.int32(partition);
  w.int64(offset);
  w.int32(maxBytes); // partition_max_bytes
  return w.buf;
}

export interface FetchedPartition {
  readonly errorCode: number;
  readonly highWatermark: bigint;
  readonly lastStableOffset: bigint;
  /** Transactions aborted in the fetched range (read_committed): their records are to be skipped. */
  readonly aborted: readonly { producerId: bigint; firstOffset: bigint }[];
  /** Record batches; the last may be cut short (the broker stops at max_bytes). */
  readonly records: Buffer | null;
}

export function parseFetch(r: Reader): FetchedPartition {
  r.int32(); // throttle_time_ms
  const topics = r.array((t) => {
    t.string();
    return t.array((p) => {
      p.int32(); // partition_index
      const errorCode = p.int16();
      const highWatermark = p.int64();
      const lastStableOffset = p.int64();
      const n = p.int32();
      const aborted: { producerId: bigint; firstOffset: bigint }[] = [];
      for (let i = 0; i < n; i++) aborted.push({ producerId: p.int64(), firstOffset: p.int64() });
      const size = p.int32();
      return { errorCode, highWatermark, lastStableOffset, aborted, records: size < 0 ? null : p.bytes(size) };
    });
  });
  return topics[0]?.[0] ?? { errorCode: 3, highWatermark: -1n, lastStableOffset: -1n, aborted: [], records: null };
}
