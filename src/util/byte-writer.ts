/**
 * A growable byte buffer written front to back: the outgoing records of the Kafka consumer are
 * written into one of these as they are produced (keys, JSON values, headers), so that no string
 * or object per record is kept alive until the broker acknowledges it.
 */
export class ByteWriter {
  buf: Buffer;
  at = 0;

  constructor(initial = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  /** Makes room for `n` more bytes. */
  room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + n));
    this.buf.copy(bigger, 0, 0, this.at);
    this.buf = bigger;
  }

  u8(v: number): void {
    this.room(1);
    this.buf[this.at++] = v;
  }

  u16(v: number): void {
    this.room(2);
    this.at = this.buf.writeUInt16LE(v, this.at);
  }

  i32(v: number): void {
    this.room(4);
    this.at = this.buf.writeInt32LE(v, this.at);
  }

  f64(v: number): void {
    this.room(8);
    this.at = this.buf.writeDoubleLE(v, this.at);
  }

  bytes(v: Uint8Array): void {
    this.room(v.length);
    this.buf.set(v, this.at);
    this.at += v.length;
  }

  /**
   * A string as UTF-8. Short ASCII strings (keys, addresses, JSON pieces) are copied in a loop:
   * a native call per piece would cost more than the copy.
   */
  text(s: string): void {
    const n = s.length;
    if (n > 64) {
      this.room(n * 3);
      this.at += this.buf.write(s, this.at, 'utf8');
      return;
    }
    this.room(n * 3);
    const buf = this.buf;
    const at = this.at;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) {
        this.at = at + i + buf.write(s.slice(i), at + i, 'utf8');
        return;
      }
      buf[at + i] = c;
    }
    this.at = at + n;
  }

  /** A number as JSON writes it; integers digit by digit (no string made). */
  number(v: number): void {
    if (!Number.isInteger(v) || v > 9007199254740991 || v < -9007199254740991) return this.text(Number.isFinite(v) ? String(v) : 'null');
    this.room(17);
    const buf = this.buf;
    if (v < 0) {
      buf[this.at++] = 0x2d; // '-'
      v = -v;
    }
    if (v < 10) {
      buf[this.at++] = 0x30 + v;
      return;
    }
    let digits = 1;
    for (let p = 10; p <= v; p *= 10) digits++;
    let end = this.at + digits;
    this.at = end;
    while (v > 0) {
      const q = Math.floor(v / 10);
      buf[--end] = 0x30 + (v - q * 10);
      v = q;
    }
  }

  /** Reserves a u32 to be filled in later with `patchU32`; returns its position. */
  reserveU32(): number {
    this.room(4);
    const at = this.at;
    this.at += 4;
    return at;
  }

  patchU32(at: number, v: number): void {
    this.buf.writeUInt32LE(v, at);
  }
}
