import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { annotateCapture, compareWithOracle, tsharkFields, type FrameVerdicts } from './helpers/parity';
import { pcapFile } from './helpers/packets';
import { randomTrace } from './helpers/random-trace';
import { analyzeCapture } from './helpers/run';

/**
 * Differential test against the real tshark 4.0.17: random TCP-shaped traces over a handful of
 * 4-tuples (so every kind of reuse, retransmission and odd close happens), each run through
 * tshark and through `annotate`; stream numbers and reused flags must agree on every frame.
 * This covers cases no reference capture has. TCPREUSE_DIFF_SEEDS=first-last explores more.
 */
const HAS_TSHARK = spawnSync('tshark', ['--version'], { stdio: 'ignore' }).status === 0;
if (!HAS_TSHARK) {
  if (process.env.CI) throw new Error('tshark is missing: CI must run the differential parity test (.ci/run installs it)');
  process.stderr.write('\n*** SKIPPING the differential parity test: tshark not installed (apt-get install tshark) ***\n');
}
const [first, last] = (process.env.TCPREUSE_DIFF_SEEDS ?? '1-40').split('-').map(Number);
const seeds = Array.from({ length: last - first + 1 }, (_, i) => first + i);
const dir = mkdtempSync(join(tmpdir(), 'tcpreuse-diff-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function tsharkVerdicts(path: string): FrameVerdicts {
  const args = ['-r', path, '-Y', 'tcp', '-T', 'fields', '-E', 'header=y', '-E', 'occurrence=f', '-e', 'frame.number', '-e', 'tcp.stream', '-e', 'tcp.analysis.reused_ports'];
  return tsharkFields(execFileSync('tshark', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
}

(HAS_TSHARK ? describe : describe.skip)('differential parity with the real tshark on random traces', () => {
  test.each(seeds)('seed %i: same streams, numbering and reused flags on every frame', async (seed) => {
    const path = join(dir, `trace-${seed}.pcap`);
    writeFileSync(path, pcapFile(randomTrace(seed, 400)));
    const oracle = tsharkVerdicts(path);
    expect(oracle.size).toBeGreaterThanOrEqual(400);
    expect(compareWithOracle(oracle, await annotateCapture(path))).toEqual([]);
    // The events say the same numbers: a flow.open carries the tcp.stream of its opening frame.
    const opens = (await analyzeCapture(path)).flatMap((e) => (e.type === 'flow.open' && e.frame !== null ? [e] : []));
    expect(opens.length).toBeGreaterThan(0);
    expect(opens.filter((e) => e.stream !== oracle.get(e.frame!)?.[0]).map((e) => `frame ${e.frame}: ${e.stream}`)).toEqual([]);
  });
});
