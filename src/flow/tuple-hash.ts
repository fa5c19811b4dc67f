/**
 * Hashes of a canonical 4-tuple (endpoint A is the lower address, then port), computed from the
 * fields without building the "sensor|ipA|portA|ipB|portB" text they stand for.
 */

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const BAR = 0x7c; // '|'

/**
 * FNV-1a (32 bits) of the text `sensor|ipA|portA|ipB|portB`: equal to `fnv1a32` of that string, so
 * flowIds stay what they were when the table was keyed by it.
 */
export function tupleHash(sensor: string, ipA: string, portA: number, ipB: string, portB: number): number {
  let h = FNV_OFFSET;
  for (let i = 0; i < sensor.length; i++) h = Math.imul(h ^ sensor.charCodeAt(i), FNV_PRIME);
  h = Math.imul(h ^ BAR, FNV_PRIME);
  for (let i = 0; i < ipA.length; i++) h = Math.imul(h ^ ipA.charCodeAt(i), FNV_PRIME);
  h = hashPort(Math.imul(h ^ BAR, FNV_PRIME), portA);
  h = Math.imul(h ^ BAR, FNV_PRIME);
  for (let i = 0; i < ipB.length; i++) h = Math.imul(h ^ ipB.charCodeAt(i), FNV_PRIME);
  h = hashPort(Math.imul(h ^ BAR, FNV_PRIME), portB);
  return h >>> 0;
}

/** Folds a port's decimal digits into the hash. */
function hashPort(h: number, port: number): number {
  let div = 1;
  while (div * 10 <= port) div *= 10;
  for (; div >= 1; div = (div / 10) | 0) h = Math.imul(h ^ (48 + (((port / div) | 0) % 10)), FNV_PRIME);
  return h;
}

/** murmur3's finaliser: FNV's low bits are weak, and the open-address index probes by them. */
export function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** Whether (ip1, port1) sorts before or equal to (ip2, port2): endpoint A of the canonical tuple. */
export function endpointFirst(ip1: string, port1: number, ip2: string, port2: number): boolean {
  return ip1 < ip2 || (ip1 === ip2 && port1 <= port2);
}
