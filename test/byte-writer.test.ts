import { ByteWriter } from '../src/util/byte-writer';

const written = (f: (w: ByteWriter) => void, initial = 4): string => {
  const w = new ByteWriter(initial); // tiny: every write grows the buffer
  f(w);
  return w.buf.toString('utf8', 0, w.at);
};

describe('ByteWriter', () => {
  test.each([0, -0, 7, 10, 99, 100, 65535, -42, 1_700_000_000_123_456, 9007199254740991, -9007199254740991, 0.5, 6.745949, 1e21, 1e-7, -3.25, 2 ** 53 + 2, NaN, Infinity])(
    'number(%p) writes what JSON.stringify does',
    (n) => {
      expect(written((w) => w.number(n))).toBe(JSON.stringify(n));
    },
  );

  test('text: ASCII, non-ASCII after ASCII, astral characters, long strings; growth keeps what was written', () => {
    const parts = ['10.0.0.1', 'tap-ünï', '😀 pair', 'x'.repeat(200), 'é'.repeat(100), ''];
    expect(written((w) => parts.forEach((p) => w.text(p)))).toBe(parts.join(''));
  });

  test('fixed-size fields and a patched length', () => {
    const w = new ByteWriter(2);
    w.u8(1);
    w.u16(0x0203);
    const at = w.reserveU32();
    w.i32(-5);
    w.f64(1.5);
    w.bytes(Uint8Array.from([9, 8]));
    w.patchU32(at, w.at - at - 4);
    const b = w.buf.subarray(0, w.at);
    expect([b[0], b.readUInt16LE(1), b.readUInt32LE(3), b.readInt32LE(7), b.readDoubleLE(11), b[19], b[20]]).toEqual([1, 0x0203, 14, -5, 1.5, 9, 8]);
  });
});
