import { randomBytes } from 'node:crypto';
import { u16be, u32be, u32le } from '../src/util/byte-read';

describe('byte-read', () => {
  it('reads what Buffer reads, including values with the top bit set', () => {
    const b = Buffer.concat([Buffer.from([0xff, 0xff, 0xff, 0xff, 0x80, 0, 0, 1]), randomBytes(4096)]);
    for (let o = 0; o + 4 <= b.length; o++) {
      expect(u16be(b, o)).toBe(b.readUInt16BE(o));
      expect(u32be(b, o)).toBe(b.readUInt32BE(o));
      expect(u32le(b, o)).toBe(b.readUInt32LE(o));
    }
    expect(u32be(b, 0)).toBe(0xffffffff);
    expect(u32be(b, 4)).toBe(0x80000001);
    expect(u32le(b, 4)).toBe(0x01000080);
  });
});
