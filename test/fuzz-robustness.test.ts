import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { count, from, lastValueFrom } from 'rxjs';
import { encodeBatch, encodePacket } from '../src/avro/packet-schemas';
import { CaptureError, CaptureParser, type CapturedFrame } from '../src/capture/pcap-reader';
import { FrameDecoder } from '../src/decode/frame-decoder';
import { InputDecoder, InputError, type InputFormat } from '../src/ingest/input-decoder';
import { encodePcapRecord } from '../src/ingest/pcap-record';
import { validatePacketRecord, type PacketRecord } from '../src/model/packet-record';
import { analyze } from '../src/operators/analyze';
import { CAPTURES, ROOT } from './helpers/run';
import { ethernet, ipv4, pcapngFile, tcpHeader } from './helpers/packets';
import { rng } from './helpers/rng';

/**
 * Damaged input, the way sensors and disks produce it: random byte changes, cuts and splices of
 * real captures and messages, from a seeded generator so a failure can be replayed. What must
 * hold at every layer:
 * - the capture parser either reads on or stops with one CaptureError (what the CLI prints);
 * - the frame decoder never throws: a frame it cannot use is counted by reason;
 * - the analyze pipeline takes whatever the decoder produces;
 * - a Kafka input decoder returns valid PacketRecords or throws InputError (what the consumer
 *   dead-letters, with its message); never another exception, never a hang.
 */

/** One random damage: a few bytes changed (mostly in the headers, where parsing decides), a cut, or a splice. */
function damage(input: Buffer, r: (n: number) => number, headerBytes = 96): Buffer {
  const b = Buffer.from(input);
  switch (r(4)) {
    case 0:
    case 1: {
      const n = 1 + r(4);
      for (let i = 0; i < n; i++) b[r(Math.min(b.length, r(2) ? headerBytes : b.length))] = r(256);
      return b;
    }
    case 2:
      return b.subarray(0, r(b.length + 1));
    default: {
      const at = r(b.length + 1);
      const from = r(b.length + 1);
      return Buffer.concat([b.subarray(0, at), b.subarray(from, from + 1 + r(64)), b.subarray(at)]);
    }
  }
}

/** Frames of a fixture capture, as the reader yields them (copied: the reader's views are reused). */
function fixtureFrames(name: string, max: number): CapturedFrame[] {
  const frames: CapturedFrame[] = [];
  const p = new CaptureParser(name, (f) => {
    if (frames.length < max) frames.push({ ...f, data: Buffer.from(f.data) });
  });
  p.push(gunzipSync(readFileSync(join(CAPTURES, `${name}.pcap.gz`))));
  p.end();
  return frames;
}

const SEEDS = Number(process.env.TCPREUSE_FUZZ_ITERATIONS ?? 1);

describe('damaged input never escapes as anything but the layer\'s own error', () => {
  const frames = [...fixtureFrames('vlan-mixed', 150), ...fixtureFrames('ipv6-reuse', 150), ...fixtureFrames('nat-collision', 100)];
  // Tunnels and link types the fixtures do not carry, built the way the decoder test builds them.
  const seg = tcpHeader({ sport: 40000, dport: 443, flags: 0x18, seq: 7, ack: 9, payload: 5 });
  const inner = ipv4(6, seg, '10.9.9.1', '10.9.9.2');
  const built: { linkType: number; data: Buffer }[] = [
    { linkType: 1, data: ethernet(0x8847, Buffer.concat([Buffer.from([0, 0, 0x11, 64]), inner])) }, // MPLS
    { linkType: 1, data: ethernet(0x0800, ipv4(47, Buffer.concat([Buffer.from([0, 0, 0x08, 0x00]), inner]))) }, // GRE
    { linkType: 101, data: inner },
    { linkType: 0, data: Buffer.concat([Buffer.from([2, 0, 0, 0]), inner]) }, // BSD loopback
    { linkType: 113, data: Buffer.concat([Buffer.from([0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x00]), inner]) }, // Linux SLL
  ];

  test('frame decoder and analyze: every damaged frame is decoded or counted, never thrown', async () => {
    const r = rng(0x5eed + SEEDS);
    const decoder = new FrameDecoder({ sensor: 'fuzz' });
    const decoded: PacketRecord[] = [];
    const rounds = 40_000 * SEEDS;
    let frameNo = 0;
    for (let i = 0; i < rounds; i++) {
      const base = r(5) === 0 ? built[r(built.length)] : frames[r(frames.length)];
      // Sometimes the wrong link type too: a sensor configured for the wrong interface.
      const linkType = r(20) === 0 ? [0, 1, 9, 10, 12, 101, 113, 228, 229, 239, 276][r(11)] : base.linkType;
      const f: CapturedFrame = { frame: ++frameNo, ts: 1_700_000_000_000_000 + i * 1000, linkType, data: damage(base.data, r), origLen: base.data.length };
      const p = decoder.decode(f);
      if (p) {
        expect(() => validatePacketRecord(p)).not.toThrow();
        decoded.push(p);
      }
    }
    // Whatever the decoder lets through, the whole pipeline takes (flows, reuses, cycles, stats).
    const events = await lastValueFrom(from(decoded).pipe(analyze(), count()));
    expect(events).toBeGreaterThan(0);
    expect(decoder.decoded + [...decoder.skipped.values()].reduce((a, b) => a + b, 0)).toBe(rounds);
    expect(decoder.decoded).toBeGreaterThan(rounds / 4); // the damage left many frames usable: the walk went deep
  });

  const pcap = gunzipSync(readFileSync(join(CAPTURES, 'vlan-mixed.pcap.gz'))).subarray(0, 24 + 60 * 100);
  const pcapng = pcapngFile(
    [{ linkType: 1 }, { linkType: 101, tsresol: 9 }],
    frames.slice(0, 60).map((f, i) => ({ ts: f.ts, data: i % 3 === 2 ? inner : f.data, iface: i % 3 === 2 ? 1 : 0 })),
  );

  test.each([
    ['pcap', pcap],
    ['pcapng', pcapng],
  ])('%s parser: damaged files read on or stop with one CaptureError', (_name, file) => {
    const r = rng(0xcafe + SEEDS);
    const rounds = 3000 * SEEDS;
    let stopped = 0;
    for (let i = 0; i < rounds; i++) {
      const bad = damage(file, r, file.length);
      let frames = 0;
      const parser = new CaptureParser('fuzz', (f) => {
        // Event time as the contract has it: integer µs, 1970 onwards, exact as a number.
        if (!(Number.isSafeInteger(f.ts) && f.ts >= 0)) throw new Error(`round ${i}: frame ${f.frame} has ts ${f.ts}`);
        frames++;
      });
      try {
        // Chunks of random sizes: a record may straddle any boundary.
        for (let at = 0; at < bad.length; ) {
          const n = 1 + r(4096);
          parser.push(bad.subarray(at, at + n));
          at += n;
        }
        parser.end();
      } catch (err) {
        if (!(err instanceof CaptureError)) throw new Error(`round ${i}: ${(err as Error).stack}`);
        expect(err.message).not.toMatch(/\n/);
        stopped++;
      }
    }
    expect(stopped).toBeGreaterThan(0);
    expect(stopped).toBeLessThan(rounds);
  });

  test('the CLI on damaged pcapng files: the report and --json exit 0 or 1 with one line, never an internal error; every ts an integer', () => {
    const r = rng(0xbeef + SEEDS);
    const dir = mkdtempSync(join(tmpdir(), 'tcpreuse-fuzz-cli-'));
    try {
      let damaged = 0;
      for (let i = 0; i < 12 * SEEDS; i++) {
        const path = join(dir, `f${i}.pcapng`);
        writeFileSync(path, damage(pcapng, r, pcapng.length));
        for (const args of [['analyze', path], ['analyze', path, '--json']]) {
          const res = spawnSync(process.execPath, [join(ROOT, 'dist', 'src', 'cli', 'main.js'), ...args], { encoding: 'utf8' });
          expect({ args, status: res.status === 0 || res.status === 1, internal: /internal error|RangeError|\n\s+at /.test(res.stderr) }).toEqual({ args, status: true, internal: false });
          if (res.status === 1) {
            expect(res.stderr.trim().split('\n')).toHaveLength(1);
            damaged++;
          }
          if (args.includes('--json')) {
            for (const line of res.stdout.split('\n').filter(Boolean)) expect(Number.isSafeInteger((JSON.parse(line) as { ts: number }).ts)).toBe(true);
          }
        }
      }
      expect(damaged).toBeGreaterThan(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a pcapng timestamp outside 1970-2255 stops the reader with the damage line, in the report as in --json', () => {
    // The third packet's timestamp: high word all ones (year ~584,000 at µs resolution).
    const file = Buffer.from(pcapng);
    let epb = 0;
    for (let at = 0; at + 12 <= file.length; at += file.readUInt32LE(at + 4)) {
      if (file.readUInt32LE(at) === 6 && ++epb === 3) file.writeUInt32LE(0xffffffff, at + 12);
    }
    const dir = mkdtempSync(join(tmpdir(), 'tcpreuse-ts-'));
    try {
      const path = join(dir, 'far.pcapng');
      writeFileSync(path, file);
      for (const args of [['analyze', path], ['analyze', path, '--json']]) {
        const res = spawnSync(process.execPath, [join(ROOT, 'dist', 'src', 'cli', 'main.js'), ...args], { encoding: 'utf8' });
        expect(res.status).toBe(1);
        expect(res.stderr.trim().split('\n')).toEqual([expect.stringMatching(/timestamp outside 1970-2255 \(after 2255\)/)]);
        if (args.includes('--json')) for (const line of res.stdout.split('\n').filter(Boolean)) expect(Number.isSafeInteger((JSON.parse(line) as { ts: number }).ts)).toBe(true);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const packets: PacketRecord[] = [];
  {
    const d = new FrameDecoder({ sensor: 'fuzz' });
    for (const f of frames) {
      const p = d.decode(f);
      if (p) packets.push({ ...p });
    }
  }
  const ek = gunzipSync(readFileSync(join(ROOT, 'test', 'fixtures', 'ek', 'sample.fields.ek.gz'))).toString('utf8').split('\n').filter((l) => l.startsWith('{"timestamp"'));
  const messages: Record<InputFormat, Buffer[]> = {
    avro: [encodeBatch(packets.slice(0, 40)), encodeBatch(packets.slice(40, 41)), encodePacket(packets[0])],
    json: [Buffer.from(JSON.stringify(packets.slice(0, 20))), Buffer.from(JSON.stringify(packets[3]))],
    'tshark-ek': ek.slice(0, 20).map((l) => Buffer.from(l)),
    'pcap-record': frames.slice(0, 20).map((f) => encodePcapRecord(f.ts, f.data)),
  };

  test.each(Object.keys(messages) as InputFormat[])('%s input: damaged messages decode to valid packets or throw InputError', (format) => {
    expect(messages[format].length).toBeGreaterThan(0);
    const r = rng(0xbeef + SEEDS);
    const decoder = new InputDecoder({ format, pcapRecord: { linkType: 1, timestamp: 'header' } });
    const rounds = 4000 * SEEDS;
    let rejected = 0;
    for (let i = 0; i < rounds; i++) {
      const m = messages[format][r(messages[format].length)];
      const bad = damage(m, r, m.length);
      try {
        for (const p of decoder.decode({ value: bad, timestampMs: 1_700_000_000_000 })) validatePacketRecord(p);
      } catch (err) {
        if (!(err instanceof InputError)) throw new Error(`${format} round ${i} (${bad.toString('base64')}): ${(err as Error).stack}`);
        rejected++;
      }
    }
    expect(rejected).toBeGreaterThan(0);
  });
});
