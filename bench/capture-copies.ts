/**
 * The capture `copies` times over, each copy `shiftS` later than the one before (classic pcap,
 * little-endian, as the fixture is): ten times the frames, and every copy's connections reuse the
 * previous copy's 4-tuples two hours on, the benign kind of reuse.
 */
export function repeatCapture(pcap: Buffer, copies: number, shiftS: number): Buffer {
  if (pcap.readUInt32LE(0) !== 0xa1b2c3d4) throw new Error('repeatCapture: expected a little-endian µs pcap');
  const body = pcap.subarray(24);
  const out = Buffer.alloc(24 + body.length * copies);
  pcap.copy(out, 0, 0, 24);
  for (let k = 0; k < copies; k++) {
    const base = 24 + k * body.length;
    body.copy(out, base);
    for (let o = base; o < base + body.length; o += 16 + out.readUInt32LE(o + 8)) out.writeUInt32LE(out.readUInt32LE(o) + k * shiftS, o);
  }
  return out;
}
