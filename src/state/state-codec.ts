/**
 * The byte format of checkpoints (the state of a stage, written to the changelog topic so it can
 * move with its partition): a header, then sections written and read in the same order.
 *
 * No checksum of its own: the changelog carries checkpoints in Kafka record batches, which have a
 * CRC-32C each, and the chunk headers say which checkpoint each piece belongs to (a CRC over the
 * whole checkpoint measured 13% of writing plus restoring 1 M open flows and 1 M remembered tuples).
 *
 * Strings (sensors, addresses) are interned as they are first written: a reference is a varint,
 * 0 followed by the text for a string not seen before, or 1 + its index. Table columns are written
 * whole, one column after another, in the table's row order (a million rows are a few dozen
 * block copies, not a million field-by-field calls), with their names and widths up front, so a
 * checkpoint written by a build with other columns is refused instead of misread.
 */
import { ByteWriter } from '../util/byte-writer';
import type { Column, NamedColumn } from '../util/columns';

const MAGIC = 0x54535254; // "TRST" read as a little-endian u32
export const STATE_FORMAT_VERSION = 1;

/** A checkpoint this build cannot read (another version, another stage, or damaged bytes). */
export class StateFormatError extends Error {
  override readonly name = 'StateFormatError';
}

// Typed arrays are written in the machine's byte order: this format is little-endian.
if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new Error('tcpreuse checkpoints need a little-endian machine');

export class StateWriter {
  /** Finished pieces of the checkpoint: written bytes and whole column blocks (not copied until finish). */
  private readonly parts: Uint8Array[] = [];
  /** Bytes in `parts`. */
  private size = 0;
  private w = new ByteWriter(64 * 1024);
  private readonly strings = new Map<string, number>();
  private readonly lastRef: string[] = [];

  constructor(kind: string) {
    this.u32(MAGIC);
    this.u8(STATE_FORMAT_VERSION);
    this.text(kind);
  }

  u8(v: number): void {
    this.w.u8(v);
  }

  u32(v: number): void {
    this.w.room(4);
    this.w.at = this.w.buf.writeUInt32LE(v >>> 0, this.w.at);
  }

  i32(v: number): void {
    this.w.i32(v | 0);
  }

  f64(v: number): void {
    this.w.f64(v);
  }

  /** A non-negative integer below 2^53 in 7-bit groups. */
  varint(v: number): void {
    if (!(Number.isSafeInteger(v) && v >= 0)) throw new RangeError(`not a count: ${v}`);
    while (v >= 0x80) {
      this.w.u8((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    this.w.u8(v);
  }

  text(s: string): void {
    const bytes = Buffer.from(s, 'utf8');
    this.varint(bytes.length);
    this.w.bytes(bytes);
  }

  /**
   * An interned string. `slot` names the field it is for: a string equal to the slot's previous
   * one (the same sensor, the same server, row after row) is one byte and no look-up.
   * 0: a new string follows; 1: the slot's previous string; n ≥ 2: string number n - 2.
   */
  ref(s: string, slot: number): void {
    if (this.lastRef[slot] === s) return this.w.u8(1);
    this.lastRef[slot] = s;
    const i = this.strings.get(s);
    if (i !== undefined) return this.varint(i + 2);
    this.strings.set(s, this.strings.size);
    this.w.u8(0);
    this.text(s);
  }

  /** A JSON value (for the few small, object-shaped parts of a state). */
  json(v: unknown): void {
    this.text(JSON.stringify(v));
  }

  /**
   * The columns' names and widths, then the values of entries 0..span-1 of each, as they lie in
   * memory (the caller says separately which entries are in use and in what order).
   */
  columns(columns: readonly NamedColumn[], span: number): void {
    this.varint(columns.length);
    for (const c of columns) {
      this.text(c.name);
      this.u8(c.values.BYTES_PER_ELEMENT);
      this.u8(c.perRow);
    }
    for (const c of columns) this.block(c.values.subarray(0, span * c.perRow));
  }

  /**
   * Like `columns`, for the entries `order` in that order (read back as entries 0..n-1): for the
   * tables whose restore allocates entry numbers afresh.
   */
  gatheredColumns(columns: readonly NamedColumn[], order: Int32Array): void {
    const gathered = columns.map((c) => {
      const per = c.perRow;
      const out = new (c.values.constructor as new (n: number) => Column)(order.length * per);
      for (let i = 0; i < order.length; i++) for (let k = 0; k < per; k++) out[i * per + k] = c.values[order[i] * per + k];
      return { ...c, values: out };
    });
    this.columns(gathered, order.length);
  }

  /** An Int32Array of known length (the caller writes the length), as it lies in memory. */
  int32s(a: Int32Array): void {
    this.block(a);
  }

  /** A typed array's bytes, after zero padding to a multiple of 8 from the start: read back in place. */
  private block(a: Column): void {
    const pad = (8 - ((this.size + this.w.at) % 8)) % 8;
    for (let i = 0; i < pad; i++) this.w.u8(0);
    this.cut();
    this.parts.push(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    this.size += a.byteLength;
  }

  /** Moves what the byte writer holds into the parts and starts a new one. */
  private cut(): void {
    if (this.w.at === 0) return;
    this.parts.push(this.w.buf.subarray(0, this.w.at));
    this.size += this.w.at;
    this.w = new ByteWriter(64 * 1024);
  }

  /** The checkpoint's bytes (copied out of the tables: they may change after this). */
  finish(): Buffer {
    this.cut();
    return Buffer.concat(this.parts);
  }
}

export class StateReader {
  private at = 0;
  private readonly strings: string[] = [];
  private readonly lastRef: (string | undefined)[] = [];

  constructor(
    private readonly buf: Buffer,
    kind: string,
  ) {
    if (buf.length < 5 || buf.readUInt32LE(0) !== MAGIC) throw new StateFormatError('not a tcpreuse checkpoint');
    this.at = 4;
    const version = this.u8();
    if (version !== STATE_FORMAT_VERSION) throw new StateFormatError(`checkpoint format ${version}, this build reads ${STATE_FORMAT_VERSION}`);
    const got = this.text();
    if (got !== kind) throw new StateFormatError(`a checkpoint of "${got}", not of "${kind}"`);
  }

  /** Every byte was read: a checkpoint with bytes left over is damaged. */
  end(): void {
    if (this.at !== this.buf.length) throw new StateFormatError(`${this.buf.length - this.at} bytes left over at the end of the checkpoint`);
  }

  private need(n: number): void {
    if (this.at + n > this.buf.length) throw new StateFormatError('checkpoint cut short');
  }

  u8(): number {
    this.need(1);
    return this.buf[this.at++];
  }

  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32LE(this.at);
    this.at += 4;
    return v;
  }

  i32(): number {
    this.need(4);
    const v = this.buf.readInt32LE(this.at);
    this.at += 4;
    return v;
  }

  f64(): number {
    this.need(8);
    const v = this.buf.readDoubleLE(this.at);
    this.at += 8;
    return v;
  }

  varint(): number {
    let v = 0;
    let scale = 1;
    for (;;) {
      const b = this.u8();
      v += (b & 0x7f) * scale;
      if (b < 0x80) return v;
      scale *= 0x80;
      if (scale > 2 ** 56) throw new StateFormatError('varint too long');
    }
  }

  text(): string {
    const n = this.varint();
    this.need(n);
    const s = this.buf.toString('utf8', this.at, this.at + n);
    this.at += n;
    return s;
  }

  /** See StateWriter.ref. */
  ref(slot: number): string {
    const i = this.varint();
    let s: string | undefined;
    if (i === 0) {
      s = this.text();
      this.strings.push(s);
    } else if (i === 1) {
      s = this.lastRef[slot];
      if (s === undefined) throw new StateFormatError('a repeated string before any string');
    } else {
      s = this.strings[i - 2];
      if (s === undefined) throw new StateFormatError(`string reference ${i} before its definition`);
    }
    this.lastRef[slot] = s;
    return s;
  }

  json<T>(): T {
    const s = this.text();
    try {
      return JSON.parse(s) as T;
    } catch {
      throw new StateFormatError('damaged JSON section');
    }
  }

  /** An Int32Array of `n` values (see StateWriter.int32s). */
  int32s(n: number): Int32Array {
    const out = new Int32Array(n);
    out.set(this.block(Int32Array, n * 4));
    return out;
  }

  /**
   * A view of the next `bytes` bytes (after the writer's padding) as `Type`: in place when the
   * buffer lets it be aligned, else on a copy.
   */
  private block<T extends Column>(Type: { new (b: ArrayBufferLike, offset: number, length: number): T; readonly BYTES_PER_ELEMENT: number }, bytes: number): T {
    this.at += (8 - (this.at % 8)) % 8;
    this.need(bytes);
    const offset = this.buf.byteOffset + this.at;
    let view: T;
    if (offset % Type.BYTES_PER_ELEMENT === 0) view = new Type(this.buf.buffer, offset, bytes / Type.BYTES_PER_ELEMENT);
    else view = new Type(new Uint8Array(this.buf.subarray(this.at, this.at + bytes)).buffer, 0, bytes / Type.BYTES_PER_ELEMENT);
    this.at += bytes;
    return view;
  }

  /**
   * Reads what `StateWriter.columns` wrote into `columns` (entries 0..span-1; the caller's table
   * has room for them), after checking the names and widths match this build's.
   */
  columns(columns: readonly NamedColumn[], span: number): void {
    const n = this.varint();
    const written: string[] = [];
    for (let i = 0; i < n; i++) written.push(`${this.text()}:${this.u8()}x${this.u8()}`);
    const expected = columns.map((c) => `${c.name}:${c.values.BYTES_PER_ELEMENT}x${c.perRow}`);
    if (written.join(',') !== expected.join(',')) {
      throw new StateFormatError(`the checkpoint's columns (${written.join(', ')}) are not this build's (${expected.join(', ')})`);
    }
    for (const c of columns) {
      const Type = c.values.constructor as unknown as { new (b: ArrayBufferLike, offset: number, length: number): Column; readonly BYTES_PER_ELEMENT: number };
      c.values.set(this.block(Type, span * c.perRow * c.values.BYTES_PER_ELEMENT));
    }
  }
}
