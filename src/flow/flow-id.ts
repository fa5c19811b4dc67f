import { fnv1a32 } from '../util/fnv';

/**
 * A stable connection id: the same sensor, 4-tuple and first-packet time always give the same id,
 * across runs and restarts (unlike a counter), so ids from a replay match ids from the live run.
 * 8 hex digits of FNV-1a over sensor and tuple, then the first packet's µs timestamp in hex.
 */
export function flowIdOf(tupleKey: string, firstTs: number): string {
  return fnv1a32(tupleKey).toString(16).padStart(8, '0') + '-' + firstTs.toString(16);
}
