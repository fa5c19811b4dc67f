/**
 * The scaled consumer through what a real deployment goes through, against the real broker:
 * instances joining and leaving mid-stream (every task checkpointed on revoke: nothing lost, no
 * repeats), and instances killed with SIGKILL and started again (nothing lost; repeats counted).
 * The input is the many-flows capture twelve times over (each copy two hours after the one before,
 * so every connection's tuple is reused), one packet batch of 5 per message, in 12 partitions.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { repeatCapture } from '../../bench/capture-copies';
import type { TcpReuseEvent } from '../../src/model/events';
import { cli, describeKafka, killChildren, metricsPortOf, metricTotal, readTopicDirect, runCli, uniqueName, type CliRun } from '../helpers/kafka';
import { rng } from '../helpers/rng';
import { analyzeCapture, capturePath } from '../helpers/run';
import { expectEquivalent, multiset, once } from '../helpers/scaled-analysis';

const dir = mkdtempSync(join(tmpdir(), 'tcpreuse-scaled-faults-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => killChildren());

const COPIES = 12;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describeKafka('scaled consumer through rebalances and kills (real broker)', () => {
  const base = uniqueName('sf');
  const topic = `${base}.in`;
  let want: TcpReuseEvent[];
  let packets = 0;

  beforeAll(async () => {
    const pcap = join(dir, 'big.pcap');
    writeFileSync(pcap, repeatCapture(gunzipSync(readFileSync(capturePath('many-flows'))), COPIES, 7200));
    const r = await cli(['replay', pcap, '--topic', topic, '--partitions', '12', '--sensor', 'big', '--batch-size', '5', '--log-level', 'warn']);
    packets = Number(/replayed (\d+) TCP packets/.exec(r.stdout + r.stderr)?.[1] ?? 0);
    expect(packets).toBeGreaterThan(500_000);
    want = await analyzeCapture(pcap, { sensor: 'big' });
  }, 300_000);

  const args = (id: string, checkpointS = 0.5, sessionMs = 6000): string[] => [
    'consume', '--topic', topic, '--app-id', `${id}.app`, '--until-end', '--metrics-port', '0', '--flows-topic', `${id}.flows`, '--alerts-topic', `${id}.alerts`,
    '--dlq-topic', `${id}.dlq`, '--checkpoint-interval', String(checkpointS), '--session-timeout-ms', String(sessionMs), '--log-level', 'info',
  ];
  const start = async (id: string, checkpointS?: number, sessionMs?: number, extra: string[] = []): Promise<{ run: ReturnType<typeof runCli>; port: number }> => {
    const run = runCli([...args(id, checkpointS, sessionMs), ...extra]);
    return { run, port: await metricsPortOf(run.stderr) };
  };
  /** Packets the group has processed (what every live instance says; a killed one's count is lost with it). */
  const progress = async (ports: number[]): Promise<number> => (await Promise.all(ports.map((p) => metricTotal(p, 'packets_in_total')))).reduce((a, b) => a + b, 0);
  const waitFor = async (what: string, cond: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> => {
    const started = Date.now();
    while (!(await cond())) {
      if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
      await sleep(100);
    }
  };
  const outputs = async (id: string, readCommitted = false): Promise<TcpReuseEvent[]> =>
    [...(await readTopicDirect(`${id}.flows`, undefined, readCommitted)), ...(await readTopicDirect(`${id}.alerts`, undefined, readCommitted))].map((m) => JSON.parse(m.value.toString()) as TcpReuseEvent);
  type Instance = Awaited<ReturnType<typeof start>>;
  const exitedCleanly = (results: CliRun[]): void => {
    for (const res of results) expect({ code: res.code, tail: res.code === 0 ? '' : res.stderr.slice(-3000) }).toEqual({ code: 0, tail: '' });
  };
  /**
   * SIGKILLs the busiest instance (one still joining the group owns nothing a kill could lose; on
   * a tie, a seeded pick) at five seeded moments, starting `restart(slot)` in its place each time;
   * then waits for every instance to end.
   */
  const killBusiestFiveTimes = async (live: Instance[], seed: number, restart: (slot: number) => Promise<Instance>): Promise<CliRun[]> => {
    const r = rng(seed);
    let processedBefore = 0;
    for (let k = 0; k < 5; k++) {
      const target = packets * (0.1 + 0.15 * k) + r(packets / 20);
      await waitFor(`kill ${k + 1}`, async () => processedBefore + (await progress(live.map((x) => x.port))) > target, 240_000);
      const counts = await Promise.all(live.map((x) => metricTotal(x.port, 'packets_in_total')));
      const busiest = Math.max(...counts);
      const candidates = counts.map((c, i) => (c === busiest ? i : -1)).filter((i) => i >= 0);
      const victim = candidates[r(candidates.length)];
      processedBefore += counts[victim];
      live[victim].run.child.kill('SIGKILL');
      live[victim] = await restart(victim);
    }
    return Promise.all(live.map((x) => x.run.done));
  };
  /**
   * SIGSTOPs the busiest instance for `stopMs` once the group has processed each of `shares` of the
   * input (an instance that has consumed everything exits, and its metrics with it: a moment the
   * input reached meanwhile is passed, not waited for forever); then waits for every instance to end.
   */
  const stallBusiest = async (live: Instance[], shares: number[], stopMs: number): Promise<{ stalls: number; results: CliRun[] }> => {
    let exited = 0;
    for (const x of live) void x.run.done.then(() => exited++);
    let stalls = 0;
    for (const share of shares) {
      await waitFor(`${share * 100}%`, async () => exited > 0 || (await progress(live.map((x) => x.port))) > packets * share, 240_000);
      if (exited > 0) break;
      stalls++;
      const counts = await Promise.all(live.map((x) => metricTotal(x.port, 'packets_in_total')));
      const victim = live[counts.indexOf(Math.max(...counts))];
      victim.run.child.kill('SIGSTOP');
      await sleep(stopMs);
      victim.run.child.kill('SIGCONT');
    }
    return { stalls, results: await Promise.all(live.map((x) => x.run.done)) };
  };

  test('instances joining and one leaving mid-stream: nothing lost, nothing twice', async () => {
    const id = `${base}.rb`;
    const a = await start(id);
    await waitFor('A to process a tenth', async () => (await progress([a.port])) > packets / 10);
    // Two more join while A works (the group rebalances: A checkpoints every task and commits).
    const b = await start(id);
    const c = await start(id);
    let aEnded = false;
    void a.run.done.then(() => (aEnded = true));
    await waitFor('half of the input', async () => aEnded || (await progress([a.port, b.port, c.port])) > packets / 2);
    a.run.child.kill('SIGTERM'); // a graceful leave: its tasks checkpoint and move to B and C
    const results = await Promise.all([a.run.done, b.run.done, c.run.done]);
    for (const r of results) expect({ code: r.code, tail: r.code === 0 ? '' : r.stderr.slice(-3000) }).toEqual({ code: 0, tail: '' });
    // The work was shared: more than one instance processed packets.
    const processed = results.map((r) => Number(/"msg":"stopped".*"packets":(\d+)/.exec(r.stderr)?.[1] ?? 0));
    expect(processed.filter((n) => n > 0).length).toBeGreaterThanOrEqual(2);
    const events = await outputs(id);
    const keys = events.map((e) => JSON.stringify(e));
    expect(keys.length - new Set(keys).size).toBe(0);
    expectEquivalent(events, want);
  }, 600_000);

  test('SIGKILL of an instance at five seeded moments, each restarted: every reuse and cycle still there', async () => {
    const id = `${base}.k9`;
    // Checkpoints 3 s apart: a kill loses work since the last one, which its successor redoes.
    const results = await killBusiestFiveTimes([await start(id, 3), await start(id, 3), await start(id, 3)], 9, () => start(id, 3));
    exitedCleanly(results);
    const got = await outputs(id);
    const unique = once(got);
    // Every reference reuse, cycle and connection at least once (with its gap, severity, how the old one ended …).
    for (const types of [['port.reuse'], ['port.cycle'], ['port.pressure'], ['flow.open']]) {
      const have = new Set(multiset(unique, types));
      const missing = multiset(want, types).filter((e) => !have.has(e));
      expect({ types, missing: missing.slice(0, 5), count: missing.length }).toEqual({ types, missing: [], count: 0 });
    }
    process.stderr.write(`scaled SIGKILL test: ${got.length} events written, ${got.length - unique.length} of them repeats (at-least-once)\n`);
    expect(got.length - unique.length).toBeGreaterThan(0); // the kills did cost redone work, and it was redone
  }, 900_000);

  test('--exactly-once: SIGKILL of an instance at five seeded moments, each restarted with its transactional id: read committed, the output equals analyze --json, nothing twice', async () => {
    const id = `${base}.eos`;
    // Each instance keeps its transactional id across its restarts (its open transaction is aborted when it comes back).
    const eos = (slot: number): Promise<Instance> => start(id, 1, 6000, ['--exactly-once', '--transactional-id', `${id}.tx${slot}`]);
    exitedCleanly(await killBusiestFiveTimes([await eos(0), await eos(1), await eos(2)], 17, eos));
    const got = await outputs(id, true);
    const keys = got.map((e) => JSON.stringify(e));
    // What the killed instances wrote after their last commit is there for a read_uncommitted reader, aborted.
    const uncommitted = (await outputs(id, false)).length;
    process.stderr.write(`scaled --exactly-once SIGKILL test: ${got.length} events committed, ${keys.length - new Set(keys).size} repeats; ${uncommitted - got.length} aborted records\n`);
    expect(keys.length - new Set(keys).size).toBe(0);
    expectEquivalent(got, want);
  }, 900_000);

  test('--exactly-once: the busiest instance stopped (SIGSTOP) past its session timeout twice (a zombie): its transaction refused and aborted, it rejoins; read committed, equal, nothing twice', async () => {
    const id = `${base}.zombie`;
    // A transaction timeout well past the stall: a stall past it gets the producer fenced (exit 1, see docs/scale-out.md).
    const eos = (slot: number): Promise<Instance> => start(id, 1, 6000, ['--exactly-once', '--transactional-id', `${id}.tx${slot}`, '--transaction-timeout', '30']);
    // Past the 6 s session timeout: the group gives the stalled one's partitions to the other, which
    // restores them from the last committed checkpoints; the stalled one wakes with work it cannot commit.
    const { stalls, results } = await stallBusiest([await eos(0), await eos(1)], [0.25, 0.6], 9000);
    expect(stalls).toBe(2);
    exitedCleanly(results);
    const refused = results.reduce((n, res) => n + (res.stderr.match(/transaction refused: the group has moved on/g)?.length ?? 0), 0);
    const got = await outputs(id, true);
    const keys = got.map((e) => JSON.stringify(e));
    process.stderr.write(`scaled --exactly-once SIGSTOP test: ${got.length} events committed, ${keys.length - new Set(keys).size} repeats; ${refused} transactions refused\n`);
    expect(refused).toBeGreaterThan(0); // the stalled member did try to commit what was no longer its
    expect(keys.length - new Set(keys).size).toBe(0);
    expectEquivalent(got, want);
  }, 600_000);

  test('the busiest instance stopped (SIGSTOP) for 5 s at three moments: the output equals analyze --json, nothing twice', async () => {
    const id = `${base}.stop`;
    // A stall of the process itself (a GC pause, CPU starvation): nothing may be judged idle or reordered by it.
    const { stalls, results } = await stallBusiest([await start(id, 0.5, 15000), await start(id, 0.5, 15000)], [0.2, 0.45, 0.7], 5000);
    expect(stalls).toBeGreaterThanOrEqual(2);
    exitedCleanly(results);
    const events = await outputs(id);
    const keys = events.map((e) => JSON.stringify(e));
    expect(keys.length - new Set(keys).size).toBe(0);
    expectEquivalent(events, want);
  }, 600_000);

  test('a single consumer (no app id) stopped (SIGSTOP) for 5 s at three moments: the output equals analyze --json, nothing twice', async () => {
    const id = `${base}.stop1`;
    // Merging 12 partitions in event-time order: a stall of the process must not make a partition
    // whose batch is on its way look idle (wall time the consumer itself lost is not the broker's word).
    const run = runCli(['consume', '--topic', topic, '--group', `${id}.g`, '--until-end', '--metrics-port', '0', '--flows-topic', `${id}.flows`, '--alerts-topic', `${id}.alerts`, '--dlq-topic', `${id}.dlq`, '--log-level', 'info']);
    const port = await metricsPortOf(run.stderr);
    let exited = false;
    void run.done.then(() => (exited = true));
    let stalls = 0;
    for (const share of [0.2, 0.45, 0.7]) {
      await waitFor(`${share * 100}%`, async () => exited || (await metricTotal(port, 'packets_in_total')) > packets * share, 240_000);
      if (exited) break;
      stalls++;
      run.child.kill('SIGSTOP');
      await sleep(5000);
      run.child.kill('SIGCONT');
    }
    const res = await run.done;
    expect(stalls).toBeGreaterThanOrEqual(2);
    expect({ code: res.code, tail: res.code === 0 ? '' : res.stderr.slice(-3000) }).toEqual({ code: 0, tail: '' });
    const events = await outputs(id);
    const keys = events.map((e) => JSON.stringify(e));
    expect(keys.length - new Set(keys).size).toBe(0);
    expectEquivalent(events, want);
  }, 600_000);
});
