import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { lastValueFrom, toArray } from 'rxjs';
import { readCapture } from '../../src/capture/pcap-reader';
import type { TcpReuseEvent } from '../../src/model/events';
import type { PacketRecord } from '../../src/model/packet-record';
import { analyze, type AnalyzeOptions } from '../../src/operators/analyze';
import { decodeFrames } from '../../src/operators/decode-frames';

/** The repository root (works from the sources under jest and from a compiled copy). */
function repoRoot(): string {
  let d = __dirname;
  while (!existsSync(join(d, 'package.json'))) d = dirname(d);
  return d;
}
export const ROOT = repoRoot();
export const FIXTURES = join(ROOT, 'test', 'fixtures');
export const CAPTURES = join(FIXTURES, 'captures');
/** The Zeek traces: TCPREUSE_ZEEK_DIR, else ../shared/captures/zeek beside the checkout. */
export const SHARED_ZEEK = process.env.TCPREUSE_ZEEK_DIR ?? join(ROOT, '..', 'shared', 'captures', 'zeek');

/** Every file below `dir`, depth first, in directory order. */
export function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...filesUnder(p));
    else out.push(p);
  }
  return out;
}

export function capturePath(name: string): string {
  return join(CAPTURES, `${name}.pcap.gz`);
}

export async function analyzeCapture(path: string, options: AnalyzeOptions = {}): Promise<TcpReuseEvent[]> {
  return lastValueFrom(readCapture(path).pipe(decodeFrames(), analyze(options as AnalyzeOptions & { watermarks?: false }), toArray()));
}

/**
 * A fixture capture (classic pcap, little-endian) split at record boundaries into `parts` files
 * `part0.pcap`, `part1.pcap`, ... in a fresh temp folder, each with the file header: the files
 * of a rotating capture. Returns their paths and each part's record count.
 */
export function splitCapture(name: string, parts: number): { paths: string[]; records: number[] } {
  const whole = gunzipSync(readFileSync(capturePath(name)));
  const ends: number[] = [];
  for (let at = 24; at < whole.length; at += 16 + whole.readUInt32LE(at + 8)) ends.push(at + 16 + whole.readUInt32LE(at + 8));
  const dir = mkdtempSync(join(tmpdir(), 'tcpreuse-split-'));
  const per = Math.ceil(ends.length / parts);
  const paths: string[] = [];
  const records: number[] = [];
  for (let i = 0; i < parts; i++) {
    const from = i === 0 ? 24 : ends[i * per - 1];
    const to = ends[Math.min((i + 1) * per, ends.length) - 1];
    paths.push(join(dir, `part${i}.pcap`));
    records.push(Math.min((i + 1) * per, ends.length) - i * per);
    writeFileSync(paths[i], Buffer.concat([whole.subarray(0, 24), whole.subarray(from, to)]));
  }
  return { paths, records };
}

/** A fixture capture cut off halfway, mid-record (a file damaged midway), as `cut.pcap` in a fresh temp folder. */
export function cutCapture(name: string): string {
  const whole = gunzipSync(readFileSync(capturePath(name)));
  const path = join(mkdtempSync(join(tmpdir(), 'tcpreuse-cut-')), 'cut.pcap');
  writeFileSync(path, whole.subarray(0, Math.floor(whole.length / 2)));
  return path;
}

/** The packets a capture yields before its damage (or all of them). */
export function packetsBeforeDamage(path: string, sensor: string): Promise<PacketRecord[]> {
  const packets: PacketRecord[] = [];
  return new Promise((resolve) =>
    readCapture(path)
      .pipe(decodeFrames({ sensor }))
      .subscribe({ next: (p) => packets.push(p), error: () => resolve(packets), complete: () => resolve(packets) }),
  );
}

export interface Label {
  frame: number;
  tuple: [string, number, string, number];
  prev_conn_end: 'fin' | 'rst' | 'open' | 'unknown';
  gap_s: number;
  prev_active_closer: 'client' | 'server' | null;
  since_prev_syn_s: number | null;
  cross_vlan?: boolean;
}

export interface Labels {
  reuses: Label[];
  non_reuse_syns: { frame: number; kind: string }[];
  port_cycle?: { range: [number, number]; measured_mean_s: number; nominal_period_s: number } & Record<string, unknown>;
}

export function loadLabels(name: string): Labels {
  return JSON.parse(readFileSync(join(CAPTURES, `${name}.labels.json`), 'utf8')) as Labels;
}

/** frame → [stream|null, reused] from a gzipped `frame,stream,reused` oracle. */
export function loadOracle(path: string): Map<number, [number | null, boolean]> {
  const text = path.endsWith('.gz') ? gunzipSync(readFileSync(path)).toString('utf8') : readFileSync(path, 'utf8');
  const m = new Map<number, [number | null, boolean]>();
  for (const line of text.split('\n').slice(1)) {
    if (!line) continue;
    const [f, s, r] = line.split(',');
    m.set(+f, [s === '' ? null : +s, r === '1']);
  }
  return m;
}
