/**
 * A stable connection id: the same sensor, 4-tuple and first-packet time always give the same id,
 * across runs and restarts (unlike a counter), so ids from a replay match ids from the live run.
 * 8 hex digits of FNV-1a over sensor and tuple, then the first packet's µs timestamp in hex.
 */
export function flowIdOf(tupleKey: string, firstTs: number): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < tupleKey.length; i++) h = Math.imul(h ^ tupleKey.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0') + '-' + firstTs.toString(16);
}
