/**
 * Big-endian primitives of the Kafka protocol: a Writer over a buffer sized up front (callers
 * compute exact sizes, so nothing grows or copies) and a Reader for responses. Varints are
 * zig-zag encoded, as in record batches (magic 2).
 */

/** Bytes of the zig-zag varint of an integer (|n| < 2^53). */
export function varintSize(n: number): number {
  let z = n >= 0 ? n * 2 : -n * 2 - 1;
  let size = 1;
  while (z >= 128) {
    z = Math.floor(z / 128);
    size++;
  }
  return size;
}

export class Writer {
  at = 0;
  constructor(readonly buf: Buffer) {}

  int8(v: number): void {
    this.buf[this.at++] = v & 0xff;
  }

  int16(v: number): void {
    this.at = this.buf.writeInt16BE(v, this.at);
  }

  int32(v: number): void {
    this.at = this.buf.writeInt32BE(v, this.at);
  }

  uint32(v: number): void {
    this.at = this.buf.writeUInt32BE(v, this.at);
  }

  int64(v: bigint): void {
    this.at = this.buf.writeBigInt64BE(v, this.at);
  }

  /** An int64 from a safe integer (timestamps). */
  int64n(v: number): void {
    const high = Math.floor(v / 4294967296);
    this.buf.writeInt32BE(high, this.at);
    this.buf.writeUInt32BE(v - high * 4294967296, this.at + 4);
    this.at += 8;
  }

  /** Zig-zag varint (varint and varlong alike, for |v| < 2^53). */
  varint(v: number): void {
    const buf = this.buf;
    if (v > -0x40000000 && v < 0x40000000) {
      let z = (v << 1) ^ (v >> 31);
      while (z >>> 7 !== 0) {
        buf[this.at++] = (z & 0x7f) | 0x80;
        z >>>= 7;
      }
      buf[this.at++] = z;
      return;
    }
    let z = v >= 0 ? v * 2 : -v * 2 - 1;
    while (z >= 128) {
      buf[this.at++] = (z % 128) | 0x80;
      z = Math.floor(z / 128);
    }
    buf[this.at++] = z;
  }

  /** Protocol STRING / NULLABLE_STRING: int16 length (-1 for null), UTF-8. */
  string(v: string | null): void {
    if (v === null) return this.int16(-1);
    const n = this.buf.write(v, this.at + 2, 'utf8');
    this.buf.writeInt16BE(n, this.at);
    this.at += 2 + n;
  }

  /** Raw bytes: a Buffer copied, a string as UTF-8 (the caller reserved `Buffer.byteLength`). */
  raw(v: Buffer | string): void {
    if (typeof v === 'string') this.at += this.buf.write(v, this.at, 'utf8');
    else this.at += v.copy(this.buf, this.at);
  }
}

/** Bytes of a protocol STRING. */
export const stringSize = (v: string | null): number => 2 + (v === null ? 0 : Buffer.byteLength(v, 'utf8'));

export class Reader {
  at = 0;
  constructor(private readonly buf: Buffer) {}

  int16(): number {
    const v = this.buf.readInt16BE(this.at);
    this.at += 2;
    return v;
  }

  int32(): number {
    const v = this.buf.readInt32BE(this.at);
    this.at += 4;
    return v;
  }

  int64(): bigint {
    const v = this.buf.readBigInt64BE(this.at);
    this.at += 8;
    return v;
  }

  bool(): boolean {
    return this.buf[this.at++] !== 0;
  }

  string(): string | null {
    const n = this.int16();
    if (n < 0) return null;
    const v = this.buf.toString('utf8', this.at, this.at + n);
    this.at += n;
    return v;
  }

  /** `n` raw bytes (a view of the response). */
  bytes(n: number): Buffer {
    const v = this.buf.subarray(this.at, this.at + n);
    this.at += n;
    return v;
  }

  array<T>(item: (r: Reader) => T): T[] {
    const n = this.int32();
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(item(this));
    return out;
  }

  /** Unsigned varint (flexible versions' lengths and tag counts). */
  uvarint(): number {
    let v = 0;
    let scale = 1;
    for (;;) {
      const x = this.buf[this.at++];
      v += (x & 0x7f) * scale;
      if (x < 0x80) return v;
      scale *= 0x80;
    }
  }

  /** COMPACT_NULLABLE_STRING: uvarint length + 1 (0 for null), UTF-8. */
  compactString(): string | null {
    const n = this.uvarint() - 1;
    if (n < 0) return null;
    const v = this.buf.toString('utf8', this.at, this.at + n);
    this.at += n;
    return v;
  }

  /** COMPACT_ARRAY: uvarint count + 1; each item followed by its tagged fields (skipped). */
  compactArray<T>(item: (r: Reader) => T): T[] {
    const n = this.uvarint() - 1;
    const out: T[] = [];
    for (let i = 0; i < n; i++) {
      out.push(item(this));
      this.skipTags();
    }
    return out;
  }

  /** A flexible structure's tagged fields: none are read, all are skipped. */
  skipTags(): void {
    const n = this.uvarint();
    for (let i = 0; i < n; i++) {
      this.uvarint(); // tag
      this.at += this.uvarint(); // size, then the data
    }
  }
}
