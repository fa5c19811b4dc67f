import { fnv1a32 } from '../util/fnv';

/**
 * A stable connection id: the same sensor, 4-tuple and first-packet time always give the same id,
 * across runs and restarts (unlike a counter), so ids from a replay match ids from the live run.
 * 8 hex digits of FNV-1a over sensor and tuple, then the first packet's µs timestamp in hex.
 */
export function flowIdOf(tupleKey: string, firstTs: number): string {
  return flowIdFromHash(fnv1a32(tupleKey), firstTs);
}

/** `flowIdOf` with the tuple key's hash already computed (the flow table keeps it per row). */
export function flowIdFromHash(tupleHash: number, firstTs: number): string {
  return hex8(tupleHash) + '-' + hex(firstTs);
}

const SPLIT = 0x1000000; // 2^24: both halves of a safe integer stay small integers (Smis)

/**
 * `n.toString(16)`, fast for the integers timestamps are: V8 formats small integers directly but
 * sends larger numbers through its generic double-to-radix routine (fmod per digit).
 */
function hex(n: number): string {
  if (n >= 0 && n < SPLIT) return n.toString(16);
  if (!(n >= 0 && n <= Number.MAX_SAFE_INTEGER && Number.isInteger(n))) return n.toString(16);
  const hi = Math.floor(n / SPLIT);
  const lo = n - hi * SPLIT;
  return hi.toString(16) + lo.toString(16).padStart(6, '0');
}

function hex8(u32: number): string {
  return ((u32 >>> 16).toString(16) + (u32 & 0xffff).toString(16).padStart(4, '0')).padStart(8, '0');
}
