/**
 * A stable connection id: the same sensor, 4-tuple and first-packet time always give the same id,
 * across runs and restarts (unlike a counter), so ids from a replay match ids from the live run.
 */
export function flowIdOf(sensor: string, tupleKey: string, firstTs: number): string {
  const s = sensor + '\u0000' + tupleKey + '\u0000' + firstTs;
  // Two FNV-1a passes with different offsets: 64 bits of id without BigInt on the hot path.
  let h1 = 0x811c9dc5;
  let h2 = 0x050c5d1f;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x01000193) ^ (h2 >>> 15);
  }
  return (h1 >>> 0).toString(16).padStart(8, '0') + (h2 >>> 0).toString(16).padStart(8, '0');
}
