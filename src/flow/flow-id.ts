import { fnv1a32 } from '../util/fnv';

/**
 * A stable connection id: the same sensor, 4-tuple and first-packet time always give the same id,
 * across runs and restarts (unlike a counter), so ids from a replay match ids from the live run.
 * 8 hex digits of FNV-1a over sensor and tuple, then the first packet's µs timestamp in hex.
 */
export function flowIdOf(tupleKey: string, firstTs: number): string {
  return flowIdFromHash(fnv1a32(tupleKey), firstTs);
}

const HEX = [48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 97, 98, 99, 100, 101, 102]; // '0'..'9', 'a'..'f'
const DASH = 45;
const SPLIT = 0x1000000; // 2^24: both halves of a safe integer are small integers
const codes: number[] = [];

/**
 * `flowIdOf` with the tuple hash already computed (the flow table keeps it per row). Written as
 * one fromCharCode over the digits: concatenated pieces would leave a tree of string objects
 * behind every id that is kept (the reuse detector keeps one per tuple), and V8's
 * `toString(16)` of a large number runs a generic double-to-radix loop.
 */
export function flowIdFromHash(tupleHash: number, firstTs: number): string {
  if (!(firstTs >= 0 && firstTs <= Number.MAX_SAFE_INTEGER && Number.isInteger(firstTs))) {
    return (tupleHash >>> 0).toString(16).padStart(8, '0') + '-' + firstTs.toString(16);
  }
  let n = 0;
  for (let shift = 28; shift >= 0; shift -= 4) codes[n++] = HEX[(tupleHash >>> shift) & 15];
  codes[n++] = DASH;
  const hi = Math.floor(firstTs / SPLIT);
  const lo = firstTs - hi * SPLIT;
  if (hi > 0) {
    n = pushHex(hi, n);
    for (let shift = 20; shift >= 0; shift -= 4) codes[n++] = HEX[(lo >>> shift) & 15];
  } else {
    n = pushHex(lo, n);
  }
  // Setting an array's length is a runtime call even when it does not change (ids of one
  // capture are nearly all the same length).
  if (codes.length !== n) codes.length = n;
  return String.fromCharCode.apply(null, codes);
}

/** Appends the hex digits of `v` (0 ≤ v < 2^30) without leading zeros; returns the new length. */
function pushHex(v: number, n: number): number {
  let shift = 28;
  while (shift > 0 && v >>> shift === 0) shift -= 4;
  for (; shift >= 0; shift -= 4) codes[n++] = HEX[(v >>> shift) & 15];
  return n;
}
