import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { lastValueFrom, toArray } from 'rxjs';
import { encodeBatch, encodePacket } from '../src/avro/packet-schemas';
import { CaptureParser, readCapture, type CapturedFrame } from '../src/capture/pcap-reader';
import { FrameDecoder } from '../src/decode/frame-decoder';
import { InputDecoder, InputError } from '../src/ingest/input-decoder';
import { encodePcapRecord } from '../src/ingest/pcap-record';
import { decodeTsharkEk } from '../src/ingest/tshark-ek';
import type { PacketRecord } from '../src/model/packet-record';
import { decodeFrames } from '../src/operators/decode-frames';
import { OptionError } from '../src/util/options';
import { pcapFile } from './helpers/packets';
import { randomTrace } from './helpers/random-trace';
import { FIXTURES, ROOT } from './helpers/run';

const HAS_TSHARK = spawnSync('tshark', ['--version'], { stdio: 'ignore' }).status === 0;
if (!HAS_TSHARK && process.env.CI) throw new Error('tshark is missing: CI must run the tshark-ek test (.ci/run installs it)');

const SAMPLE = join(ROOT, 'samples', 'sample.pcap');
let packets: PacketRecord[];
let frames: CapturedFrame[];
beforeAll(async () => {
  frames = await lastValueFrom(readCapture(SAMPLE).pipe(toArray()));
  packets = await lastValueFrom(readCapture(SAMPLE).pipe(decodeFrames(), toArray()));
});
const msg = (value: Buffer | string | null, extra: { timestampMs?: number; headers?: Record<string, string> } = {}) => ({
  value: typeof value === 'string' ? Buffer.from(value) : value,
  timestampMs: extra.timestampMs ?? 0,
  headers: extra.headers,
});

describe('json input', () => {
  const d = new InputDecoder({ format: 'json' });
  test('an object is one packet, an array a batch', () => {
    expect(d.decode(msg(JSON.stringify(packets[0])))).toEqual([packets[0]]);
    expect(d.decode(msg(JSON.stringify(packets.slice(0, 5))))).toEqual(packets.slice(0, 5));
  });
  test.each([
    ['not JSON', '{"ts": 1', /not JSON/],
    ['a bad field', '{"ts":1,"src":"a","dst":"b","sport":70000,"dport":2,"flags":2,"seq":0,"ack":0,"len":0}', /sport/],
    ['a bad packet inside a batch', '[{"ts":1,"src":"a","dst":"b","sport":1,"dport":2,"flags":2,"seq":0,"ack":0,"len":0}, 5]', /packet \[1\]/],
    ['an empty value', '', /empty message/],
  ])('%s is an InputError naming the problem', (_, value, re) => {
    expect(() => d.decode(msg(value))).toThrow(InputError);
    expect(() => d.decode(msg(value))).toThrow(re);
  });
});

describe('packets stamped ahead of the wall clock (a sensor clock fault)', () => {
  const NOW_MS = Date.UTC(2026, 0, 1);
  const at = (aheadS: number): PacketRecord => ({ ...packets[0], ts: (NOW_MS + aheadS * 1000) * 1000 });
  const clocked = (maxFutureS?: number) => new InputDecoder({ format: 'json', maxFutureS, nowMs: () => NOW_MS });

  test('up to a day ahead is input (a sensor off by hours is only shifted); more is an InputError naming packet and gap', () => {
    expect(clocked().decode(msg(JSON.stringify([at(-3600), at(86_400)])))).toHaveLength(2);
    expect(() => clocked().decode(msg(JSON.stringify([at(0), at(86_401)])))).toThrow(InputError);
    expect(() => clocked().decode(msg(JSON.stringify([at(0), at(86_401)])))).toThrow(/packet 1 is stamped 2026-01-02T00:00:01\.\d+Z, 86401 s ahead of this machine's clock \(more than 86400 s\)/);
  });

  test('maxFutureS sets the limit, 0 checks nothing, a negative one is an OptionError', () => {
    expect(() => clocked(60).decode(msg(JSON.stringify(at(61))))).toThrow(/61 s ahead/);
    expect(clocked(0).decode(msg(JSON.stringify(at(10 * 365 * 86_400))))).toHaveLength(1);
    expect(() => clocked(-1)).toThrow(OptionError);
  });

  test('every format is checked (the check is on the decoded packets)', () => {
    const avro = new InputDecoder({ format: 'avro', nowMs: () => NOW_MS });
    expect(() => avro.decode(msg(encodeBatch([at(0), at(2 * 86_400)])))).toThrow(/packet 1 is stamped/);
    const pcap = new InputDecoder({ format: 'pcap-record', pcapRecord: { linkType: 1 }, nowMs: () => NOW_MS });
    expect(() => pcap.decode(msg(encodePcapRecord((NOW_MS + 2 * 86_400_000) * 1000, frames[0].data)))).toThrow(/ahead of this machine's clock/);
  });
});

describe('avro input', () => {
  const d = new InputDecoder({ format: 'avro' });
  test('single records and batches are told apart without a header', () => {
    expect(d.decode(msg(encodePacket(packets[3])))).toEqual([packets[3]]);
    expect(d.decode(msg(encodeBatch(packets)))).toEqual(packets);
    expect(d.decode(msg(encodeBatch([packets[7]])))).toEqual([packets[7]]);
  });
  test('the shape header is honoured', () => {
    expect(d.decode(msg(encodeBatch(packets.slice(0, 2)), { headers: { 'tcpreuse-avro': 'batch' } }))).toEqual(packets.slice(0, 2));
    expect(() => d.decode(msg(encodeBatch(packets.slice(0, 2)), { headers: { 'tcpreuse-avro': 'record' } }))).toThrow(InputError);
  });
  test('garbage, truncated and trailing bytes are InputErrors', () => {
    const good = encodeBatch(packets.slice(0, 3));
    expect(() => d.decode(msg(Buffer.from('hello world, not avro')))).toThrow(InputError);
    expect(() => d.decode(msg(good.subarray(0, good.length - 3)))).toThrow(InputError);
    expect(() => d.decode(msg(Buffer.concat([encodePacket(packets[0]), Buffer.from([1, 2])])))).toThrow(InputError);
  });
});

describe('tshark-ek input', () => {
  const ek = (name: string): Buffer => gunzipSync(readFileSync(join(FIXTURES, 'ek', name)));
  const comparable = (p: PacketRecord) => ({ ...p, icmpQuote: undefined });
  test.each(['sample.full.ek.gz', 'sample.fields.ek.gz'])('%s (real tshark 4.0 output) gives the packets the frame decoder gives', (name) => {
    const d = new InputDecoder({ format: 'tshark-ek' });
    const lines = ek(name).toString('utf8').split('\n');
    const out: PacketRecord[] = [];
    // One line per message, as sensors publish them; bulk index lines are skipped and counted.
    for (const line of lines) if (line.trim()) out.push(...d.decode(msg(line)));
    expect(out.map(comparable)).toEqual(packets.map(comparable));
    expect(d.skipped.get('ek-index')).toBe(frames.length);
  });
  test('a message may hold many lines', () => {
    expect(decodeTsharkEk(ek('sample.fields.ek.gz')).packets).toHaveLength(packets.length);
  });
  test('tshark 3.x naming (bare values in fields mode, nested flag tree) is understood', () => {
    const line = JSON.stringify({
      timestamp: '1600000000123',
      layers: {
        frame: { frame_frame_number: '9', frame_frame_time_epoch: '1600000000.123456000' },
        ip: { ip_ip_src: '10.0.0.1', ip_ip_dst: '10.0.0.2' },
        tcp: { tcp_tcp_srcport: '1025', tcp_tcp_dstport: '80', tcp_tcp_flags: '0x00000012', tcp_tcp_flags_tree: { tcp_tcp_flags_syn: '1' }, tcp_tcp_seq: '5', tcp_tcp_ack: '6', tcp_tcp_len: '0' },
      },
    });
    expect(decodeTsharkEk(Buffer.from(line)).packets).toEqual([
      { ts: 1600000000123456, src: '10.0.0.1', dst: '10.0.0.2', sport: 1025, dport: 80, flags: 0x12, seq: 5, ack: 6, len: 0, frame: 9 },
    ]);
    const bare = JSON.stringify({ timestamp: '1600000000123', layers: { ip_src: '10.0.0.1', ip_dst: '10.0.0.2', tcp_srcport: '1', tcp_dstport: '2', tcp_flags: '0x0010', tcp_seq: '1' } });
    expect(decodeTsharkEk(Buffer.from(bare)).packets[0]).toMatchObject({ ts: 1600000000123000, sport: 1, dport: 2, flags: 0x10 });
  });
  test('an ICMP error quoting only part of a TCP header (no flags, maybe no sequence number) is a quote, not an error', () => {
    const quote = (tcp: Record<string, string[]>): string =>
      JSON.stringify({ timestamp: '1600000000123', layers: { ip_src: ['10.9.9.9', '10.0.0.1'], ip_dst: ['10.0.0.1', '10.0.0.2'], icmp_type: ['3'], tcp_srcport: ['40000'], tcp_dstport: ['443'], ...tcp } });
    const d = new InputDecoder({ format: 'tshark-ek' });
    const [ports] = d.decode(msg(quote({})));
    expect(ports).toMatchObject({ src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 443, icmpQuote: 8 });
    expect(d.decode(msg(quote({ tcp_seq_raw: ['7'] })))[0]).toMatchObject({ seq: 7, icmpQuote: 8 });
    expect(d.decode(msg(quote({ tcp_seq_raw: ['7'], tcp_flags: ['0x0002'], tcp_hdr_len: ['20'] })))[0]).toMatchObject({ flags: 2, icmpQuote: 20 });
  });

  (HAS_TSHARK ? test : test.skip)('the real tshark -T ek of traces with 8- and 20-byte ICMP quotes decodes every TCP frame and quote', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tcpreuse-ek-icmp-'));
    try {
      for (const seed of [3, 5, 8]) {
        const path = join(dir, `t${seed}.pcap`);
        writeFileSync(path, pcapFile(randomTrace(seed, 300)));
        const lines = execFileSync('tshark', ['-r', path, '-T', 'ek'], { encoding: 'utf8', maxBuffer: 1 << 28, stdio: ['ignore', 'pipe', 'ignore'] });
        const d = new InputDecoder({ format: 'tshark-ek' });
        const got = lines.split('\n').filter((l) => l.startsWith('{"timestamp"')).flatMap((l) => d.decode(msg(l)));
        const frames: PacketRecord[] = [];
        const fd = new FrameDecoder({});
        const parser = new CaptureParser(path, (f) => {
          const pkt = fd.decode(f);
          if (pkt) frames.push(pkt);
        });
        parser.push(readFileSync(path));
        parser.end();
        expect(got.filter((p) => p.icmpQuote !== undefined).length).toBe(frames.filter((p) => p.icmpQuote !== undefined).length);
        expect(got.length).toBe(frames.length);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('non-TCP packets are skipped and counted; broken lines are InputErrors', () => {
    const d = new InputDecoder({ format: 'tshark-ek' });
    expect(d.decode(msg('{"timestamp":"1","layers":{"udp":{"udp_udp_srcport":"53"}}}'))).toEqual([]);
    expect(d.skipped.get('not-tcp')).toBe(1);
    expect(() => d.decode(msg('{"timestamp":"1","layers":{"tcp_srcport":["1"]}}'))).toThrow(/ip.src/);
    expect(() => d.decode(msg('{"layers": '))).toThrow(/not JSON/);
    expect(() => d.decode(msg('{"timestamp":"1","layers":{"ip_src":["a"],"ip_dst":["b"],"tcp_srcport":["x"]}}'))).toThrow(/not a number/);
  });
});

describe('pcap-record input', () => {
  test('header form: every frame of the sample gives what the frame decoder gives', () => {
    const d = new InputDecoder({ format: 'pcap-record', pcapRecord: { linkType: 1 } });
    const out: PacketRecord[] = [];
    for (const f of frames) out.push(...d.decode(msg(encodePcapRecord(f.ts, f.data))));
    expect(out).toEqual(packets.map(({ frame: _frame, ...p }) => p));
  });
  test('kafka-timestamp form takes the time from the message', () => {
    const d = new InputDecoder({ format: 'pcap-record', pcapRecord: { timestamp: 'kafka' } });
    expect(d.decode(msg(frames[0].data, { timestampMs: 1234 }))[0].ts).toBe(1234000);
  });
  test('a truncated frame or a lying header is an InputError; a non-TCP frame is counted', () => {
    const d = new InputDecoder({ format: 'pcap-record' });
    const whole = encodePcapRecord(frames[0].ts, frames[0].data);
    expect(() => d.decode(msg(whole.subarray(0, 40)))).toThrow(/header says/);
    const cut = frames[0].data.subarray(0, 30);
    expect(() => d.decode(msg(encodePcapRecord(1, cut)))).toThrow(/truncated/);
    const arp = Buffer.alloc(42);
    arp.writeUInt16BE(0x0806, 12);
    expect(d.decode(msg(encodePcapRecord(1, arp)))).toEqual([]);
    expect([...d.skipped.values()].reduce((a, b) => a + b, 0)).toBe(1);
  });
  test('an unknown input format is refused up front', () => {
    expect(() => new InputDecoder({ format: 'xml' as 'json' })).toThrow(/input format must be one of/);
  });
});
