import { accessSync, closeSync, constants, openSync, read, statSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { u32be, u32le } from '../util/byte-read';
import { numberOption } from '../util/options';
import { Observable } from '../util/rx';

/** One captured frame as the file stores it, before any protocol decoding. */
export interface CapturedFrame {
  /** 1-based position in the file, as Wireshark numbers frames. */
  frame: number;
  /** Microseconds since the Unix epoch. */
  ts: number;
  /** LINKTYPE_* value of the interface the frame was captured on. */
  linkType: number;
  /** Captured bytes (may be shorter than the frame on the wire). A view, valid only during the callback. */
  data: Buffer;
  /** Length of the frame on the wire. */
  origLen: number;
}

/** A capture file that cannot be read further: says where and why. */
export class CaptureError extends Error {
  /** What is wrong and where, without the file name (the message is `path: reason`). */
  readonly reason: string;

  constructor(
    message: string,
    readonly path: string,
    readonly offset: number,
  ) {
    const reason = `${message}${offset >= 0 ? ` (at byte ${offset})` : ''}`;
    super(`${path}: ${reason}`);
    this.name = 'CaptureError';
    this.reason = reason;
  }
}

export interface ReadCaptureOptions {
  /** Bytes read per chunk. @default 1 MiB */
  readonly chunkBytes?: number;
  /** Called with (bytesRead, totalBytes) after each chunk of the file, for progress bars. */
  readonly onProgress?: (bytesRead: number, totalBytes: number) => void;
  /**
   * Asked after each chunk: return a promise to pause reading until it settles (e.g. until a
   * slow stdout drains), so output backpressure reaches the file and memory stays bounded.
   */
  readonly throttle?: () => Promise<void> | undefined;
  /**
   * Damage after the first frame (a file cut short, a corrupt record) ends the capture there, as
   * Wireshark reads it: every frame before it is emitted, `onDamage` gets the error, and the
   * stream completes instead of erroring. Without it, the stream errors with the CaptureError.
   */
  readonly onDamage?: (err: CaptureError) => void;
  /**
   * Aborting it ends the input where it is, as if the capture ended there: what was read is
   * parsed and the stream completes (for a live capture on standard input, where an interrupt is
   * how it ends). A record cut off there is damage, as at the end of a cut-short file.
   */
  readonly signal?: AbortSignal;
  /**
   * The number of the capture's first frame. For captures read one after another as one (as
   * `mergecap -a` joins them): the frame after the previous capture's last. @default 1
   */
  readonly firstFrame?: number;
}

const PCAP_MAGIC_US = 0xa1b2c3d4;
const PCAP_MAGIC_NS = 0xa1b23c4d;
const PCAPNG_SHB = 0x0a0d0d0a;
const PCAPNG_BOM = 0x1a2b3c4d;
/** Bytes a block body must hold before its options or packet data, by block type. */
const PCAPNG_FIXED_BODY: Readonly<Record<number, number>> = { 0x0a0d0d0a: 16, 1: 8, 2: 20, 3: 4, 6: 20 };

interface PcapngInterface {
  linkType: number;
  /** Multiply the 64-bit tick count by this to get microseconds, when the resolution is not µs. */
  ticksPerSecond: bigint;
  tsOffsetS: bigint;
}

/**
 * Receives each frame in place: its bytes are `buf[start, end)`, valid only during the call (the
 * buffer is the chunk being parsed). No view and no object is made per frame.
 */
export type RawFrameSink = (buf: Buffer, start: number, end: number, frame: number, ts: number, linkType: number, origLen: number) => void;

/**
 * Incremental parser for classic pcap and pcapng: feed it chunks, it calls back per frame with
 * the frame's place in the chunk. Holds at most one partial record between chunks, so memory
 * stays constant on multi-GB files.
 */
export class RawCaptureParser {
  private buf: Buffer = Buffer.alloc(0);
  private consumed = 0; // file offset of buf[0]
  private format: 'unknown' | 'pcap' | 'pcapng' = 'unknown';
  private le = true;
  private nanos = false;
  private pcapLinkType = 0;
  private interfaces: PcapngInterface[] = [];
  private frameNo = 0;
  private readonly path: string;
  private readonly bridgeBytes: number;

  /**
   * `firstFrame`: the number of the first frame (see ReadCaptureOptions). `bridgeBytes`: how much
   * of a new chunk is copied behind a partial record left over from the last one to finish it;
   * the rest of the chunk is parsed where it lies (a longer record is finished by copying the
   * whole chunk).
   */
  constructor(
    path: string,
    private readonly sink: RawFrameSink,
    options: { readonly firstFrame?: number; readonly bridgeBytes?: number } = {},
  ) {
    this.path = captureLabel(path);
    this.frameNo = (options.firstFrame ?? 1) - 1;
    this.bridgeBytes = options.bridgeBytes ?? 64 * 1024;
  }

  /** The number of the last frame read (frames of earlier captures included, see `firstFrame`). */
  get framesRead(): number {
    return this.frameNo;
  }

  push(chunk: Buffer): void {
    let b = chunk;
    let pos = 0;
    const carried = this.buf.length;
    if (carried > 0 && chunk.length > this.bridgeBytes) {
      // Copying each 1 MiB chunk behind the few bytes left over was most of the reader's copying.
      const bridge = Buffer.concat([this.buf, chunk.subarray(0, this.bridgeBytes)]);
      pos = this.parse(bridge, 0);
      if (pos >= carried) {
        this.consumed += carried;
        pos -= carried; // carry on in the chunk itself
      } else {
        this.consumed += pos;
        b = Buffer.concat([bridge.subarray(pos, carried), chunk]);
        pos = 0;
      }
    } else if (carried > 0) {
      b = Buffer.concat([this.buf, chunk]);
    }
    pos = this.parse(b, pos);
    this.consumed += pos;
    // Copy the remainder so the (large) chunk it came from can be freed.
    this.buf = pos === b.length ? Buffer.alloc(0) : Buffer.from(b.subarray(pos));
  }

  /** Parses the records of `b` from `pos` on; returns where the last complete one ends. */
  private parse(b: Buffer, pos: number): number {
    this.buf = b;
    if (this.format === 'unknown') {
      if (b.length < 24) return pos;
      pos = this.readFileHeader();
    }
    return this.format === 'pcap' ? this.parsePcap(pos) : this.parsePcapng(pos);
  }

  /** Call at end of input: a partial record left over means the file was cut short. */
  end(): void {
    if (this.format === 'unknown') {
      throw new CaptureError(
        this.buf.length === 0 ? (this.path === 'stdin' ? 'nothing came on standard input' : 'file is empty') : 'file is too short to be a pcap or pcapng capture',
        this.path,
        -1,
      );
    }
    if (this.buf.length > 0) {
      throw new CaptureError(
        `file is truncated: the last record is incomplete (${this.buf.length} bytes left after frame ${this.frameNo})`,
        this.path,
        this.consumed,
      );
    }
  }

  private fail(message: string, at: number): never {
    throw new CaptureError(message, this.path, this.consumed + at);
  }

  private readFileHeader(): number {
    const b = this.buf;
    const magicLE = b.readUInt32LE(0);
    const magicBE = b.readUInt32BE(0);
    if (magicLE === PCAPNG_SHB) {
      this.format = 'pcapng';
      return 0; // the SHB is parsed as a block
    }
    for (const [magic, le] of [
      [magicLE, true],
      [magicBE, false],
    ] as const) {
      if (magic === PCAP_MAGIC_US || magic === PCAP_MAGIC_NS) {
        this.format = 'pcap';
        this.le = le;
        this.nanos = magic === PCAP_MAGIC_NS;
        this.pcapLinkType = (le ? b.readUInt32LE(20) : b.readUInt32BE(20)) & 0x0fffffff;
        return 24;
      }
    }
    this.fail(
      `not a capture file: magic 0x${magicBE.toString(16).padStart(8, '0')} is neither pcap (a1b2c3d4/a1b23c4d) nor pcapng (0a0d0d0a)`,
      0,
    );
  }

  private parsePcap(pos: number): number {
    const b = this.buf;
    const le = this.le;
    while (pos + 16 <= b.length) {
      const sec = le ? u32le(b, pos) : u32be(b, pos);
      const frac = le ? u32le(b, pos + 4) : u32be(b, pos + 4);
      const incl = le ? u32le(b, pos + 8) : u32be(b, pos + 8);
      const orig = le ? u32le(b, pos + 12) : u32be(b, pos + 12);
      if (incl > 0x4000000) this.fail(`corrupt record header after frame ${this.frameNo}: captured length ${incl}`, pos);
      if (pos + 16 + incl > b.length) break;
      const start = pos + 16;
      this.sink(b, start, start + incl, ++this.frameNo, sec * 1_000_000 + (this.nanos ? Math.floor(frac / 1000) : frac), this.pcapLinkType, orig);
      pos += 16 + incl;
    }
    return pos;
  }

  private parsePcapng(pos: number): number {
    const b = this.buf;
    while (pos + 12 <= b.length) {
      const typeLE = b.readUInt32LE(pos);
      if (typeLE === PCAPNG_SHB) {
        // A section header sets the byte order of everything up to the next one.
        const bom = b.readUInt32LE(pos + 8);
        if (bom === PCAPNG_BOM) this.le = true;
        else if (bom === 0x4d3c2b1a) this.le = false;
        else this.fail('corrupt pcapng section header (byte-order magic)', pos);
      }
      const le = this.le;
      const type = le ? typeLE : b.readUInt32BE(pos);
      const len = le ? b.readUInt32LE(pos + 4) : b.readUInt32BE(pos + 4);
      if (len < 12 || len % 4 !== 0 || len > 0x4000000) {
        this.fail(`corrupt pcapng block of type ${type} with length ${len} after frame ${this.frameNo}`, pos);
      }
      if (pos + len > b.length) break;
      this.pcapngBlock(type, b, pos + 8, pos + len - 4, pos);
      pos += len;
    }
    return pos;
  }

  private u32(b: Buffer, at: number): number {
    return this.le ? b.readUInt32LE(at) : b.readUInt32BE(at);
  }

  private u16(b: Buffer, at: number): number {
    return this.le ? b.readUInt16LE(at) : b.readUInt16BE(at);
  }

  /** One block whose body is `b[bs, be)`; `pos` is where the block starts, for errors. */
  private pcapngBlock(type: number, b: Buffer, bs: number, be: number, pos: number): void {
    const fixed = PCAPNG_FIXED_BODY[type];
    const size = be - bs;
    if (fixed !== undefined && size < fixed) this.fail(`corrupt pcapng block of type ${type}: ${size} bytes, shorter than its ${fixed} fixed bytes`, pos);
    switch (type) {
      case PCAPNG_SHB:
        this.interfaces = []; // interface ids restart in every section
        return;
      case 1: {
        // Interface Description Block: link type, snaplen, options (if_tsresol=9, if_tsoffset=14).
        const body = b.subarray(bs, be);
        const iface: PcapngInterface = { linkType: this.u16(body, 0), ticksPerSecond: 1_000_000n, tsOffsetS: 0n };
        let o = 8;
        while (o + 4 <= body.length) {
          const code = this.u16(body, o);
          const olen = this.u16(body, o + 2);
          if (code === 0) break;
          if (code === 9 && olen >= 1) {
            const r = body[o + 4];
            iface.ticksPerSecond = r & 0x80 ? 1n << BigInt(r & 0x7f) : 10n ** BigInt(r & 0x7f);
          } else if (code === 14 && olen >= 8 && o + 12 <= body.length) {
            iface.tsOffsetS = this.le ? body.readBigInt64LE(o + 4) : body.readBigInt64BE(o + 4);
          }
          o += 4 + ((olen + 3) & ~3);
        }
        this.interfaces.push(iface);
        return;
      }
      case 6:
      case 2: {
        // Enhanced Packet Block (6) and the obsolete Packet Block (2, 16-bit interface id).
        const ifId = type === 6 ? this.u32(b, bs) : this.u16(b, bs);
        const iface = this.interfaces[ifId];
        if (!iface) this.fail(`packet block refers to undeclared interface ${ifId}`, pos);
        const hi = this.u32(b, bs + 4);
        const lo = this.u32(b, bs + 8);
        const caplen = this.u32(b, bs + 12);
        const orig = this.u32(b, bs + 16);
        if (20 + caplen > size) this.fail(`packet block with captured length ${caplen} exceeds its block`, pos);
        const ts = ticksToMicros(hi, lo, iface);
        // Event time is integer µs since 1970 (the contract): a timestamp before 1970 or past
        // 2255 (2^53 µs, beyond which µs are not exact numbers) is a damaged block, not a time.
        if (!(ts >= 0 && ts <= Number.MAX_SAFE_INTEGER)) {
          this.fail(`packet block after frame ${this.frameNo} has a timestamp outside 1970-2255 (${ts < 0 ? 'before 1970' : 'after 2255'}): damaged, or a wrong if_tsresol/if_tsoffset`, pos);
        }
        this.sink(b, bs + 20, bs + 20 + caplen, ++this.frameNo, ts, iface.linkType, orig);
        return;
      }
      case 3: {
        // Simple Packet Block: interface 0, no timestamp.
        const iface = this.interfaces[0];
        if (!iface) this.fail('simple packet block before any interface description', pos);
        const orig = this.u32(b, bs);
        const caplen = Math.min(orig, size - 4);
        this.sink(b, bs + 4, bs + 4 + caplen, ++this.frameNo, 0, iface.linkType, orig);
        return;
      }
      default:
        // Name resolution, statistics, custom blocks: nothing to do with TCP flows.
        return;
    }
  }
}

/** The parser handing over each frame as a CapturedFrame (a view of its bytes). */
export class CaptureParser extends RawCaptureParser {
  constructor(path: string, onFrame: (f: CapturedFrame) => void, options: { readonly firstFrame?: number } = {}) {
    super(path, (buf, start, end, frame, ts, linkType, origLen) => onFrame({ frame, ts, linkType, data: buf.subarray(start, end), origLen }), options);
  }
}

function ticksToMicros(hi: number, lo: number, iface: PcapngInterface): number {
  if (iface.ticksPerSecond === 1_000_000n && iface.tsOffsetS === 0n) return hi * 4294967296 + lo;
  const ticks = (BigInt(hi) << 32n) | BigInt(lo);
  return Number((ticks * 1_000_000n) / iface.ticksPerSecond + iface.tsOffsetS * 1_000_000n);
}

/**
 * Streams a pcap or pcapng file (gzip-compressed or not) as frames, in file order, in constant
 * memory. Errors with a CaptureError at the first damage, after emitting every frame before it
 * (or completes there, with `onDamage`).
 * Each frame's `data` is only valid during the subscriber's `next` call: copy what you keep.
 */
export function readCapture(path: string, options: ReadCaptureOptions = {}): Observable<CapturedFrame> {
  return streamCapture(path, options, (emit, firstFrame) => new CaptureParser(path, emit, { firstFrame }));
}

/**
 * A capture file through a parser made per subscription: `makeParser` gets the subscriber's
 * `next` and returns the parser that calls it (with frames, or with what it makes of them).
 * Reading, gzip, backpressure, damage and teardown are the same for every parser.
 */
export function streamCapture<T>(
  path: string,
  options: ReadCaptureOptions,
  makeParser: (emit: (item: T) => void, firstFrame: number) => RawCaptureParser,
): Observable<T> {
  // A bad option throws where the pipeline is written, not later inside a subscription.
  const chunkBytes = numberOption('readCapture', 'chunkBytes', options.chunkBytes, 1 << 20, { min: 1, max: 1 << 30, integer: true });
  const firstFrame = numberOption('readCapture', 'firstFrame', options.firstFrame, 1, { min: 1, integer: true });
  return new Observable<T>((subscriber) => {
    let source: CaptureSource;
    try {
      source = openSource(path, chunkBytes);
    } catch (err) {
      subscriber.error(err);
      return;
    }
    const { total, chunks } = source;
    const parser = makeParser((item) => subscriber.next(item), firstFrame);
    let stopped = false;
    let inputEnded = false; // by the signal: chunks still arriving are not parsed
    let gunzip: import('node:zlib').Gunzip | undefined;
    const fail = (err: unknown): void => {
      if (stopped) return;
      stopped = true;
      gunzip?.destroy();
      if (options.onDamage && err instanceof CaptureError && parser.framesRead > 0) {
        options.onDamage(err);
        subscriber.complete();
      } else {
        subscriber.error(err);
      }
    };
    const parse = (chunk: Buffer): boolean => {
      try {
        parser.push(chunk);
        return true;
      } catch (err) {
        fail(err);
        return false;
      }
    };
    /** No more bytes: a gzip stream still flushes what it holds (its 'end' calls `end`). */
    const finishInput = (): void => {
      if (gunzip) gunzip.end();
      else end();
    };
    const end = (): void => {
      try {
        parser.end();
      } catch (err) {
        fail(err);
        return;
      }
      if (!stopped) {
        stopped = true;
        subscriber.complete();
      }
    };

    void (async () => {
      let readBytes = 0;
      try {
        for await (const chunk of chunks) {
          if (stopped || inputEnded) break;
          readBytes += chunk.length;
          options.onProgress?.(readBytes, total);
          if (readBytes === chunk.length && chunk.length >= 2 && chunk[0] === 0x1f && chunk[1] === 0x8b) {
            // gzip: the raw bytes go through a gunzip stream, transparently.
            // zlib loaded only for a compressed file: a few ms of start-up the others need not pay.
            const g = (gunzip = (require('node:zlib') as typeof import('node:zlib')).createGunzip());
            g.on('data', (c: Buffer) => {
              if (!parse(c)) return;
              const wait = options.throttle?.();
              if (wait) {
                g.pause();
                void wait.then(() => g.resume());
              }
            });
            g.on('end', end);
            g.on('error', (err) => fail(new CaptureError(`gzip data is corrupt or truncated (${err.message})`, captureLabel(path), -1)));
          }
          if (gunzip) {
            // Respect the gunzip stream's backpressure so memory stays bounded: wait for 'drain',
            // or for 'close' when an error or an unsubscribe has destroyed it.
            if (!gunzip.write(chunk)) {
              const g = gunzip;
              // The listener that did not fire is removed: a long gzipped stream would pile them up.
              await new Promise<void>((resolve) => {
                const done = (): void => {
                  g.off('drain', done);
                  g.off('close', done);
                  resolve();
                };
                g.on('drain', done);
                g.on('close', done);
              });
            }
          } else {
            if (!parse(chunk)) break;
            const wait = options.throttle?.();
            if (wait) await wait;
          }
        }
      } catch (err) {
        if (inputEnded) return; // the source was closed under a pending read
        // Frames before the damage have been emitted already; this is the one clear error.
        fail(new CaptureError(describeFsError(err), captureLabel(path), -1));
        return;
      }
      if (!stopped && !inputEnded) finishInput();
    })();
    const endInput = (): void => {
      if (stopped || inputEnded) return;
      inputEnded = true;
      source.close();
      finishInput();
    };
    options.signal?.addEventListener('abort', endInput, { once: true });
    if (options.signal?.aborted) endInput();
    return () => {
      options.signal?.removeEventListener('abort', endInput);
      stopped = true;
      gunzip?.destroy();
      // The generator closes the file once its read in flight has settled.
      void chunks.return(undefined);
    };
  });
}

/** The path that means standard input, as for tcpdump -r and tshark -r. */
export const STDIN_PATH = '-';

/** How errors name the capture: the path, or "stdin". */
export function captureLabel(path: string): string {
  return path === STDIN_PATH ? 'stdin' : path;
}

interface CaptureSource {
  /** Bytes in all (0 when not known beforehand: a pipe). */
  readonly total: number;
  readonly chunks: AsyncGenerator<Buffer, void, undefined>;
  /** Stops a read that may wait for ever (a pipe); a file's reads end by themselves. */
  close(): void;
}

/**
 * The size of a capture file (0 for standard input), or the CaptureError reading it would end
 * with at once: no such file, permission denied, a directory.
 */
export function captureBytes(path: string): number {
  if (path === STDIN_PATH) return 0;
  try {
    const st = statSync(path);
    if (st.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    accessSync(path, constants.R_OK);
    return st.size;
  } catch (err) {
    throw new CaptureError(describeFsError(err), path, -1);
  }
}

/** The capture's bytes: a file read ahead, or standard input for "-". Throws a CaptureError. */
function openSource(path: string, chunkBytes: number): CaptureSource {
  if (path === STDIN_PATH) {
    if (process.stdin.isTTY) throw new CaptureError('standard input is a terminal: pipe a capture into it (e.g. tcpdump -w - | tcpreuse analyze -)', 'stdin', -1);
    return { total: 0, chunks: streamChunks(process.stdin), close: () => process.stdin.destroy() };
  }
  const total = captureBytes(path);
  try {
    return { total, chunks: readAhead(openSync(path, 'r'), chunkBytes), close: () => undefined };
  } catch (err) {
    throw new CaptureError(describeFsError(err), path, -1);
  }
}

/** A stream's chunks; stopping early leaves the stream open (standard input is not ours to destroy). */
async function* streamChunks(stream: Readable): AsyncGenerator<Buffer, void, undefined> {
  for await (const chunk of stream.iterator({ destroyOnReturn: false })) yield chunk as Buffer;
}

/**
 * A file's bytes in chunks, with the next read always in flight while the caller handles the
 * current chunk: the disk (or the page cache copy on a pool thread) works while the parser does,
 * instead of after it. Closes the file when done, failed or returned early.
 */
async function* readAhead(fd: number, chunkBytes: number): AsyncGenerator<Buffer, void, undefined> {
  const readNext = (): Promise<Buffer> =>
    new Promise((resolve, reject) => {
      const buf = Buffer.allocUnsafe(chunkBytes);
      read(fd, buf, 0, chunkBytes, null, (err, n) => (err ? reject(err) : resolve(buf.subarray(0, n))));
    });
  let pending = readNext();
  // A read that fails while the caller is paused is awaited (and thrown) later, not unhandled.
  pending.catch(() => undefined);
  try {
    for (;;) {
      const chunk = await pending;
      if (chunk.length === 0) return;
      pending = readNext();
      pending.catch(() => undefined);
      yield chunk;
    }
  } finally {
    await pending.catch(() => undefined);
    closeSync(fd);
  }
}

function describeFsError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'ENOENT') return 'no such file';
  if (e?.code === 'EACCES') return 'permission denied';
  if (e?.code === 'EISDIR') return 'is a directory, not a capture file';
  return e?.message ?? String(err);
}
