/**
 * Unsigned integer reads straight from the bytes. Buffer's readUInt* validate their offset on
 * every call, which is most of their cost on the per-frame path before V8 has optimised it; the
 * callers here have already checked the length.
 */

export function u16be(b: Uint8Array, o: number): number {
  return (b[o] << 8) | b[o + 1];
}

export function u32be(b: Uint8Array, o: number): number {
  return b[o] * 0x1000000 + ((b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]);
}

export function u32le(b: Uint8Array, o: number): number {
  return b[o + 3] * 0x1000000 + ((b[o + 2] << 16) | (b[o + 1] << 8) | b[o]);
}
