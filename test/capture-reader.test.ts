import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { lastValueFrom, take, toArray } from 'rxjs';
import { CaptureError, RawCaptureParser, readCapture } from '../src/capture/pcap-reader';
import { readPackets, readPacketsInSequence } from '../src/capture/read-packets';
import type { FrameDecoder } from '../src/decode/frame-decoder';
import { decodeFrames } from '../src/operators/decode-frames';
import { OptionError } from '../src/util/options';
import { CAPTURES } from './helpers/run';
import { ethernet, ipv4, pcapFile, pcapngFile, tcpHeader } from './helpers/packets';
import { rng } from './helpers/rng';

const dir = mkdtempSync(join(tmpdir(), 'tcpreuse-capture-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const write = (name: string, data: Buffer): string => {
  const p = join(dir, name);
  writeFileSync(p, data);
  return p;
};
const frame = (seq: number): Buffer => ethernet(0x0800, ipv4(6, tcpHeader({ seq })));
const TS = [1_700_000_000_123_456, 1_700_000_001_000_001, 1_700_000_002_999_999];
const frames = TS.map((ts, i) => ({ ts, data: frame(i) }));

async function read(path: string): Promise<{ frame: number; ts: number; linkType: number; len: number }[]> {
  const got = await lastValueFrom(readCapture(path, { chunkBytes: 37 }).pipe(toArray()));
  return got.map((f) => ({ frame: f.frame, ts: f.ts, linkType: f.linkType, len: f.data.length }));
}

const openFds = (): number => readdirSync('/proc/self/fd').length;
/** Open descriptors once a read still in flight has settled and the reader has closed its file. */
async function openFdsSettled(before: number): Promise<number> {
  for (let i = 0; i < 50 && openFds() > before; i++) await new Promise((r) => setTimeout(r, 10));
  return openFds();
}

describe('readCapture', () => {
  const expected = TS.map((ts, i) => ({ frame: i + 1, ts, linkType: 1, len: frames[i].data.length }));

  test.each([
    ['pcap little-endian µs', {}],
    ['pcap big-endian µs', { bigEndian: true }],
    ['pcap little-endian ns', { nanos: true }],
    ['pcap big-endian ns', { bigEndian: true, nanos: true }],
  ])('%s: frames, numbers and µs timestamps (read in 37-byte chunks)', async (_n, opts) => {
    expect(await read(write(`a${JSON.stringify(opts).length}.pcap`, pcapFile(frames, opts)))).toEqual(expected);
  });

  test('pcapng with two interfaces of different link types and resolutions', async () => {
    const raw = ipv4(6, tcpHeader({}));
    const file = pcapngFile(
      [{ linkType: 1 }, { linkType: 101, tsresol: 9 }],
      [
        { ts: TS[0], data: frame(0), iface: 0 },
        { ts: TS[1], data: raw, iface: 1 },
      ],
    );
    expect(await read(write('b.pcapng', file))).toEqual([
      { frame: 1, ts: TS[0], linkType: 1, len: frame(0).length },
      { frame: 2, ts: TS[1], linkType: 101, len: raw.length },
    ]);
  });

  test('gzip-compressed files are read transparently', async () => {
    expect(await read(write('c.pcap.gz', gzipSync(pcapFile(frames))))).toEqual(expected);
  });

  test('a truncated file yields the frames before the damage, then one CaptureError', async () => {
    const whole = pcapFile(frames);
    const path = write('d.pcap', whole.subarray(0, whole.length - 10));
    const seen: number[] = [];
    const err = await new Promise<unknown>((resolve) =>
      readCapture(path).subscribe({ next: (f) => seen.push(f.frame), error: resolve, complete: () => resolve(null) }),
    );
    expect(seen).toEqual([1, 2]);
    expect(err).toBeInstanceOf(CaptureError);
    expect((err as Error).message).toMatch(/truncated.*after frame 2/);
  });

  test('onDamage: damage after the first frame completes the stream there and hands over the error; damage before any frame still errors', async () => {
    const whole = pcapFile(frames);
    const damages: CaptureError[] = [];
    const seen = await lastValueFrom(readCapture(write('d2.pcap', whole.subarray(0, whole.length - 10)), { onDamage: (e) => damages.push(e) }).pipe(toArray()));
    expect(seen.map((f) => f.frame)).toEqual([1, 2]);
    expect(damages).toHaveLength(1);
    expect(damages[0].reason).toMatch(/^file is truncated: .*after frame 2/);
    const early = await lastValueFrom(readCapture(write('d3.pcap', whole.subarray(0, 30)), { onDamage: (e) => damages.push(e) })).catch((e: unknown) => e);
    expect(early).toBeInstanceOf(CaptureError);
    expect(damages).toHaveLength(1);
  });

  test('a truncated gzip stream is one clear error', async () => {
    const gz = gzipSync(pcapFile(frames));
    const err = await lastValueFrom(readCapture(write('e.pcap.gz', gz.subarray(0, gz.length - 12)))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CaptureError);
  });

  test.each([
    ['not a capture', Buffer.from('hello, this is not a capture file at all'), /not a capture file/],
    ['empty', Buffer.alloc(0), /empty/],
  ])('%s file: CaptureError naming the problem', async (_n, data, re) => {
    const err = await lastValueFrom(readCapture(write(`f${data.length}.pcap`, data))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CaptureError);
    expect((err as Error).message).toMatch(re);
  });

  test('a pcapng block too short for its fixed fields is a CaptureError after the frames before it (found by fuzzing)', async () => {
    const good = pcapngFile([{ linkType: 1 }], [{ ts: TS[0], data: frame(0) }]);
    const short = Buffer.alloc(24); // an Enhanced Packet Block of 24 bytes: a 12-byte body where 20 are fixed
    short.writeUInt32LE(6, 0);
    short.writeUInt32LE(24, 4);
    short.writeUInt32LE(24, 20);
    const seen: number[] = [];
    const err = await new Promise<unknown>((resolve) =>
      readCapture(write('g.pcapng', Buffer.concat([good, short]))).subscribe({ next: (f) => seen.push(f.frame), error: resolve, complete: () => resolve(null) }),
    );
    expect(seen).toEqual([1]);
    expect(err).toBeInstanceOf(CaptureError);
    expect((err as Error).message).toMatch(/corrupt pcapng block of type 6: 12 bytes, shorter than its 20 fixed bytes/);
  });

  test('a missing file: CaptureError "no such file"', async () => {
    const err = await lastValueFrom(readCapture(join(dir, 'nope.pcap'))).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/nope\.pcap: no such file/);
  });

  test('a chunk size that is not a positive integer is an OptionError when the reader is made', () => {
    for (const chunkBytes of [0, -1, 1.5, Number.NaN]) expect(() => readCapture(dir, { chunkBytes })).toThrow(OptionError);
  });

  test('a directory: CaptureError "is a directory" (the open succeeds, the first read fails)', async () => {
    const err = await lastValueFrom(readCapture(dir)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CaptureError);
    expect((err as Error).message).toMatch(/is a directory, not a capture file/);
  });

  test('unsubscribing midway stops reading and closes the file (no descriptor left open)', async () => {
    const many = Array.from({ length: 200 }, (_, i) => ({ ts: TS[0] + i, data: frame(i) }));
    const path = write('h.pcap', pcapFile(many));
    const before = openFds();
    const got = await lastValueFrom(readCapture(path, { chunkBytes: 64 }).pipe(take(5), toArray()));
    expect(got.map((f) => f.frame)).toEqual([1, 2, 3, 4, 5]);
    // The read that was in flight settles, then the descriptor is closed.
    expect(await openFdsSettled(before)).toBe(before);
  });

  test('unsubscribing from a gzip file waiting on the decompressor closes the file too', async () => {
    // Random payloads: the compressed file is far larger than gunzip's 16 KiB buffer, so the
    // reader is waiting for it to drain when the subscriber leaves.
    const many = Array.from({ length: 2000 }, (_, i) => ({ ts: TS[0] + i, data: Buffer.concat([frame(i), randomBytes(100)]) }));
    const path = write('j.pcap.gz', gzipSync(pcapFile(many)));
    const before = openFds();
    const got = await lastValueFrom(readCapture(path).pipe(take(5), toArray()));
    expect(got.map((f) => f.frame)).toEqual([1, 2, 3, 4, 5]);
    expect(await openFdsSettled(before)).toBe(before);
  });

  test('throttle: reading pauses until the promise settles, and every frame still arrives in order', async () => {
    const many = Array.from({ length: 50 }, (_, i) => ({ ts: TS[0] + i, data: frame(i) }));
    const path = write('i.pcap', pcapFile(many));
    let waits = 0;
    const got = await lastValueFrom(
      readCapture(path, { chunkBytes: 100, throttle: () => (waits++ % 3 === 0 ? new Promise<void>((r) => setTimeout(r, 2)) : undefined) }).pipe(toArray()),
    );
    expect(waits).toBeGreaterThan(10);
    expect(got.map((f) => f.frame)).toEqual(many.map((_, i) => i + 1));
  });
});

describe('readPackets (reader and decoder in one pass, as the CLI reads)', () => {
  const fixtures = readdirSync(CAPTURES).filter((f) => f.endsWith('.pcap.gz'));

  test.each(fixtures)('%s: the same records and skip counts as readCapture + decodeFrames', async (name) => {
    const path = join(CAPTURES, name);
    let viaFrames: FrameDecoder | undefined;
    let inPlace: FrameDecoder | undefined;
    const a = await lastValueFrom(readCapture(path).pipe(decodeFrames({ sensor: 'x' }, { onDecoder: (d) => (viaFrames = d) }), toArray()));
    const b = await lastValueFrom(readPackets(path, { sensor: 'x', chunkBytes: 4096 }, { onDecoder: (d) => (inPlace = d) }).pipe(toArray()));
    expect(b.length).toBeGreaterThan(0);
    expect(b).toEqual(a);
    expect([...inPlace!.skipped]).toEqual([...viaFrames!.skipped]);
  });

  test('pcapng with two interfaces: records of both link types', async () => {
    const raw = ipv4(6, tcpHeader({ sport: 1234 }));
    const file = pcapngFile([{ linkType: 1 }, { linkType: 101, tsresol: 9 }], [
      { ts: TS[0], data: frame(0), iface: 0 },
      { ts: TS[1], data: raw, iface: 1 },
    ]);
    const got = await lastValueFrom(readPackets(write('k.pcapng', file)).pipe(toArray()));
    expect(got.map((p) => [p.frame, p.ts, p.sport])).toEqual([
      [1, TS[0], 40000],
      [2, TS[1], 1234],
    ]);
  });

  test('damage midway: the records before it, then onDamage and completion', async () => {
    const whole = pcapFile(frames);
    let damage: CaptureError | undefined;
    const got = await lastValueFrom(readPackets(write('l.pcap', whole.subarray(0, whole.length - 10)), { onDamage: (e) => (damage = e) }).pipe(toArray()));
    expect(got.map((p) => p.frame)).toEqual([1, 2]);
    expect(damage?.message).toMatch(/truncated/);
  });
});

describe('RawCaptureParser across chunk boundaries', () => {
  // Records of every size around the bridge (the part of a chunk copied behind a leftover partial
  // record): shorter ones are finished on the bridge, longer ones by copying the whole chunk.
  const r = rng(7);
  const specs = Array.from({ length: 300 }, (_, i) => ({ ts: 1_700_000_000_000_000 + i * 1000, data: randomBytesOf(r, 1 + r(r(8) === 0 ? 3000 : 400)) }));
  const files: [string, Buffer][] = [
    ['pcap', pcapFile(specs)],
    ['pcap big-endian ns', pcapFile(specs, { bigEndian: true, nanos: true })],
    ['pcapng', pcapngFile([{ linkType: 1 }, { linkType: 101 }], specs.map((f, i) => ({ ...f, iface: i % 2 })))],
  ];

  /** Every frame the parser gives (number, time, link type, bytes as hex), and the error at the end if any. */
  function parse(file: Buffer, chunk: number, bridgeBytes?: number): { frames: string[]; error: string | null } {
    const frames: string[] = [];
    const p = new RawCaptureParser('x', (buf, start, end, frame, ts, linkType) => frames.push(`${frame} ${ts} ${linkType} ${buf.toString('hex', start, end)}`), { bridgeBytes });
    try {
      for (let at = 0; at < file.length; at += chunk) p.push(file.subarray(at, at + chunk));
      p.end();
      return { frames, error: null };
    } catch (e) {
      return { frames, error: (e as Error).message };
    }
  }

  test.each(files)('%s: the same frames for every chunk and bridge size as in one piece', (_n, file) => {
    const whole = parse(file, file.length);
    expect(whole.frames).toHaveLength(300);
    for (const [chunk, bridge] of [[1000, 100], [1000, 999], [4096, 512], [777, 1], [5000, 64 * 1024], [3001, 2999]]) {
      expect(parse(file, chunk, bridge)).toEqual(whole);
    }
  });

  test.each(files)('%s: a file cut short fails at the same place whatever the chunking', (_n, file) => {
    const cut = file.subarray(0, Math.floor(file.length * 0.6));
    const whole = parse(cut, cut.length);
    expect(whole.error).toMatch(/truncated/);
    for (const [chunk, bridge] of [[1000, 100], [4096, 512], [777, 1]]) expect(parse(cut, chunk, bridge)).toEqual(whole);
  });

  test('a corrupt record header is reported at the same byte whatever the chunking', () => {
    const file = Buffer.from(files[0][1]);
    let at = 24;
    for (let i = 0; i < 150; i++) at += 16 + specs[i].data.length;
    file.writeUInt32LE(0xffffffff, at + 8); // record 151's captured length
    const whole = parse(file, file.length);
    expect(whole.frames).toHaveLength(150);
    expect(whole.error).toMatch(new RegExp(`corrupt record header.*at byte ${at}\\)`));
    for (const [chunk, bridge] of [[1000, 100], [4096, 512], [777, 1], [3001, 2999]]) expect(parse(file, chunk, bridge)).toEqual(whole);
  });
});

function randomBytesOf(r: (n: number) => number, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = r(256);
  return b;
}

describe('readCapture with an abort signal (how a live capture on standard input is ended)', () => {
  test('aborting ends the input where it is: the frames read so far, then completion (a record cut there is damage)', async () => {
    const path = write('signal.pcap', pcapFile(frames));
    const controller = new AbortController();
    let chunks = 0;
    let damage: CaptureError | undefined;
    const got = await lastValueFrom(
      readCapture(path, {
        chunkBytes: 100,
        onDamage: (e) => (damage = e),
        throttle: () => {
          if (++chunks === 2) controller.abort(); // after 200 bytes: two whole records and part of the third
          return undefined;
        },
        signal: controller.signal,
      }).pipe(toArray()),
    );
    expect(got.map((f) => f.frame)).toEqual([1, 2]);
    expect(damage?.message).toMatch(/file is truncated/);
  });

  test('a signal aborted before the read: no frames, the empty input said as such', async () => {
    const controller = new AbortController();
    controller.abort();
    const err = await lastValueFrom(readCapture(write('signal2.pcap', pcapFile(frames)), { signal: controller.signal })).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/file is empty/);
  });
});

describe('readPacketsInSequence', () => {
  test('frames numbered on across the files; progress counts the bytes of all of them; a decoder per file', async () => {
    const a = write('seq-a.pcap', pcapFile(frames));
    const b = write('seq-b.pcap.gz', gzipSync(pcapFile(frames, { bigEndian: true })));
    const c = write('seq-c.pcapng', pcapngFile([{ linkType: 1 }], frames.map((f) => ({ ...f, iface: 0 }))));
    const progress: [number, number][] = [];
    const decoders: FrameDecoder[] = [];
    const got = await lastValueFrom(
      readPacketsInSequence([a, b, c], { sensor: 's', chunkBytes: 50, onProgress: (done, total) => progress.push([done, total]) }, { onDecoder: (d) => decoders.push(d) }).pipe(toArray()),
    );
    expect(got.map((p) => p.frame)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(got.map((p) => p.ts)).toEqual([...TS, ...TS, ...TS]);
    expect(decoders.map((d) => d.decoded)).toEqual([3, 3, 3]);
    const total = [a, b, c].reduce((n, p) => n + statSync(p).size, 0);
    expect(progress.every(([, t]) => t === total)).toBe(true);
    expect(progress.map(([d]) => d)).toEqual([...progress.map(([d]) => d)].sort((x, y) => x - y));
    expect(progress[progress.length - 1][0]).toBe(total);
  });
});
