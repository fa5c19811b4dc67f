/**
 * `npm run bench`: throughput and memory figures for the README, measured side by side in one
 * run (this machine is shared and noisy: compare the ratios, not the absolute numbers).
 *
 *   1. track+detect on pre-decoded PacketRecords: RxJS operators vs a plain loop over the same cores
 *   2. `tcpreuse analyze` on a pcap vs `tshark -Y tcp -T fields -e tcp.stream -e tcp.analysis.reused_ports`
 *   3. memory per open flow with 1 million concurrent flows
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { from } from 'rxjs';
import { FlowTracker } from '../src/flow/flow-tracker';
import type { StreamItem } from '../src/model/events';
import { detectPortReuse } from '../src/operators/detect-port-reuse';
import { trackFlows } from '../src/operators/track-flows';
import { ReuseDetector } from '../src/reuse/reuse-detector';
import { benchCheckpoint } from './checkpoint';
import { repeatCapture } from './capture-copies';
import { SyntheticPackets } from './synthetic-packets';

const ROOT = join(__dirname, '..', '..');
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);

function time(fn: () => void): number {
  const t = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t) / 1e9;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function benchTrackDetect(): { packets: number; rxjs: number; plain: number } {
  // Both sides read the same iterable, so making the packet objects costs both alike.
  const packets = new SyntheticPackets(250_000);
  let sink = 0;
  const rxjs = (): void => {
    from(packets)
      .pipe(trackFlows(), detectPortReuse<StreamItem>())
      .subscribe(() => sink++);
  };
  // The same cores, wired by hand: what the operators cost is the difference.
  const plain = (): void => {
    const detector = new ReuseDetector({}, () => sink++);
    const tracker = new FlowTracker({}, (e) => {
      sink++;
      detector.push(e);
    });
    for (const p of packets) tracker.process(p);
    tracker.flush();
  };
  rxjs(); // warm-up: let both get optimised before anything is timed
  plain();
  const r: number[] = [];
  const p: number[] = [];
  for (let i = 0; i < 5; i++) {
    // Alternate so drift in machine load (and the previous run's garbage) hits both sides alike.
    // No forced GC in between: after one V8 shrinks the young generation, and the next run is
    // then measured in a heap no long-running process would have.
    r.push(time(rxjs));
    p.push(time(plain));
  }
  if (sink === 0) throw new Error('nothing emitted');
  return { packets: packets.count, rxjs: median(r), plain: median(p) };
}

interface PcapRun {
  file: string;
  frames: number;
  /** `analyze` as each variant below runs it, in their order (seconds). */
  ours: { variant: Variant; s: number }[];
  tshark: number | null;
}

/**
 * Node 20 reads and parses the whole NODE_EXTRA_CA_CERTS bundle (and its own root store) before
 * running any JavaScript (nodejs/node#40524; later Node lines load certificates lazily). Machines
 * that set it for a proxy (this one points it at the system's ~140-certificate bundle) pay that
 * on every `tcpreuse analyze`, which never opens a TLS connection; measured both ways.
 */
const EXTRA_CA = process.env.NODE_EXTRA_CA_CERTS;
const envWithoutExtraCa = (): NodeJS.ProcessEnv => {
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  return env;
};

/**
 * How `analyze` is run and timed. Node gives V8 four helper threads (GC, TurboFan) whatever the
 * machine; `--v8-pool-size=0` sizes the pool to the cores minus the main thread, which on two
 * cores keeps a short run's compiles and collections off the core the analysis runs on. It can
 * only be given on node's command line or in NODE_OPTIONS (not from a running process), so the
 * CLI cannot set it for itself; measured as a user would set it.
 */
interface Variant {
  /** What the speed-up line calls it. */
  name: string;
  /** What its timing line says of it. */
  label: string;
  flags: string[];
  env: () => NodeJS.ProcessEnv;
  when: boolean;
}
const VARIANTS: Variant[] = [
  { name: 'report', label: 'report; includes node start-up', flags: [], env: () => process.env, when: true },
  { name: '--json', label: 'every event as a JSON line', flags: ['--json'], env: () => process.env, when: true },
  { name: 'report, NODE_EXTRA_CA_CERTS unset', label: 'report, NODE_EXTRA_CA_CERTS unset', flags: [], env: envWithoutExtraCa, when: EXTRA_CA !== undefined },
  {
    name: 'report, NODE_OPTIONS=--v8-pool-size=0',
    label: 'report, NODE_OPTIONS=--v8-pool-size=0',
    flags: [],
    env: () => ({ ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --v8-pool-size=0`.trim() }),
    when: true,
  },
];

/** `tcpreuse analyze` (each variant) against tshark's stream/reuse fields, alternating, median of `runs`. */
function benchPcap(name: string, pcap: Buffer, frames: number, runs: number): PcapRun {
  const dir = mkdtempSync(join(tmpdir(), 'tcpreuse-bench-'));
  const file = join(dir, 'capture.pcap');
  writeFileSync(file, pcap);
  const cli = join(ROOT, 'dist', 'src', 'cli', 'main.js');
  const variants = VARIANTS.filter((v) => v.when);
  const runOurs = (v: Variant): number =>
    time(() => execFileSync(process.execPath, [cli, 'analyze', file, ...v.flags], { stdio: ['ignore', 'ignore', 'inherit'], maxBuffer: 1 << 30, env: v.env() }));
  const hasTshark = spawnSync('tshark', ['--version'], { stdio: 'ignore' }).status === 0;
  const runTshark = (): number =>
    time(() =>
      execFileSync('tshark', ['-r', file, '-Y', 'tcp', '-T', 'fields', '-e', 'tcp.stream', '-e', 'tcp.analysis.reused_ports'], {
        stdio: ['ignore', 'ignore', 'ignore'],
      }),
    );
  const times = variants.map(() => [] as number[]);
  const t: number[] = [];
  for (let i = 0; i < runs; i++) {
    variants.forEach((v, k) => times[k].push(runOurs(v)));
    if (hasTshark) t.push(runTshark());
  }
  rmSync(dir, { recursive: true, force: true });
  return {
    file: `${name} (${frames.toLocaleString('en')} frames, ${(pcap.length / 1e6).toFixed(1)} MB)`,
    frames,
    ours: variants.map((variant, k) => ({ variant, s: median(times[k]) })),
    tshark: hasTshark ? median(t) : null,
  };
}

function benchMemory(flows: number): { flows: number; bytesPerFlow: number } {
  const tracker = new FlowTracker({ maxFlows: flows + 1 }, () => undefined);
  gc();
  const before = process.memoryUsage();
  const base = 1_700_000_000_000_000;
  for (let i = 0; i < flows; i++) {
    // One SYN per flow from a distinct client address/port: a million concurrent half-open flows.
    tracker.process({ src: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, dst: '192.0.2.1', sport: 1024 + (i % 60000), dport: 443, flags: 0x02, seq: i, ack: 0, len: 0, ts: base + i });
  }
  gc();
  gc(); // a second full collection settles what the first one only marked
  const after = process.memoryUsage();
  if (tracker.openFlows !== flows) throw new Error(`expected ${flows} open flows, have ${tracker.openFlows}`);
  const used = after.heapUsed - before.heapUsed + (after.arrayBuffers - before.arrayBuffers);
  return { flows, bytesPerFlow: Math.round(used / flows) };
}

async function main(): Promise<void> {
  const out: string[] = [];
  const log = (s: string): void => {
    out.push(s);
    console.log(s);
  };
  log(`tcpreuse bench  ${new Date().toISOString()}  node ${process.version}  ${process.arch}`);
  if (EXTRA_CA) {
    const startup = (env: NodeJS.ProcessEnv): number => median([0, 1, 2, 3, 4, 5, 6].map(() => time(() => execFileSync(process.execPath, ['-e', '0'], { env }))));
    const [withCa, withoutCa] = [startup(process.env), startup(envWithoutExtraCa())];
    log(`node start-up (node -e 0): ${withCa.toFixed(3)} s with NODE_EXTRA_CA_CERTS=${EXTRA_CA}, ${withoutCa.toFixed(3)} s without`);
  }
  const td = benchTrackDetect();
  const rx = td.packets / td.rxjs;
  const pl = td.packets / td.plain;
  log(`track+detect, ${td.packets} pre-decoded packets (median of 5, alternating):`);
  log(`  RxJS operators  ${(rx / 1e6).toFixed(2)} M packets/s`);
  log(`  plain loop      ${(pl / 1e6).toFixed(2)} M packets/s`);
  log(`  ratio           ${(td.rxjs / td.plain).toFixed(2)}x (RxJS time / plain-loop time)`);
  const fixture = gunzipSync(readFileSync(join(ROOT, 'test', 'fixtures', 'captures', 'many-flows.pcap.gz')));
  // Both start-ups (node ~0.1 s, tshark ~0.2 s) weigh on a 6.7 MB file; the 10x copy shows the rate on long files.
  for (const pc of [benchPcap('many-flows.pcap', fixture, 64_795, 5), benchPcap('many-flows.pcap x10, each copy 2 h later', repeatCapture(fixture, 10, 7200), 647_950, 3)]) {
    log(`analyze on a pcap: ${pc.file} (median, alternating):`);
    const rate = (s: number): string => `${s.toFixed(2)} s  (${(pc.frames / s / 1e3).toFixed(0)} k frames/s)`;
    for (const o of pc.ours) log(`  ${`tcpreuse analyze ${o.variant.flags.join(' ')}`.padEnd(24)}  ${rate(o.s)}  (${o.variant.label})`);
    if (pc.tshark !== null) {
      log(`  tshark -Y tcp -T fields   ${rate(pc.tshark)}`);
      log(`  speed-up                  ${pc.ours.map((o) => `${(pc.tshark! / o.s).toFixed(1)}x (${o.variant.name})`).join(', ')}`);
    } else {
      log('  tshark not installed: no comparison (apt-get install tshark)');
    }
  }
  // Each memory run in a fresh process: what earlier benches left on the heap must not count.
  const runs = [0, 1, 2].map(() => Number(execFileSync(process.execPath, ['--expose-gc', '--max-old-space-size=8192', __filename, '--memory-child'], { encoding: 'utf8' }).trim()));
  log(`memory: 1000000 concurrent flows: ${median(runs)} bytes/flow (heap + typed arrays, after GC; median of ${runs.join(', ')})`);
  const ck = await benchCheckpoint(1_000_000);
  log(`checkpoint of a flow stage with ${ck.openFlows} open flows and ${ck.remembered} remembered 4-tuples:`);
  log(`  ${(ck.bytes / 1e6).toFixed(0)} MB (${(ck.lz4Bytes / 1e6).toFixed(0)} MB lz4), ${Math.round(ck.bytes / (ck.openFlows + ck.remembered))} bytes per entry; written in ${ck.writeS.toFixed(2)} s, restored in ${ck.restoreS.toFixed(2)} s`);
}

if (process.argv[2] === '--memory-child') console.log(benchMemory(1_000_000).bytesPerFlow);
else void main();
