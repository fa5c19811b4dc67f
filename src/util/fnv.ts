export const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** FNV-1a, 32 bits, over a string's UTF-16 code units: a fast, stable (cross-run) string hash. */
export function fnv1a32(s: string): number {
  return fnvText(FNV_OFFSET, s) >>> 0;
}

/** Continues an FNV-1a state over `s`: hashes a key of several fields without joining them. */
export function fnvText(h: number, s: string): number {
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), FNV_PRIME);
  return h;
}

/** Continues an FNV-1a state with one small integer (a separator, a port). */
export function fnvInt(h: number, n: number): number {
  return Math.imul(h ^ n, FNV_PRIME);
}

/** '|' between fields: keeps ("a", "b|c") and ("a|b", "c") apart. */
export const FNV_SEPARATOR = 0x7c;

/** The FNV-1a state after a client's key (sensor, address): the start of every per-client table key. */
export function fnvClientKey(sensor: string, client: string): number {
  return fnvText(fnvInt(fnvText(FNV_OFFSET, sensor), FNV_SEPARATOR), client);
}
