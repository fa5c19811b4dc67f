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
import { cli, describeKafka, killChildren, metricsPortOf, metricTotal, readTopicDirect, runCli, uniqueName } from '../helpers/kafka';
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

  const args = (id: string): string[] => [
    'consume', '--topic', topic, '--app-id', `${id}.app`, '--until-end', '--metrics-port', '0', '--flows-topic', `${id}.flows`, '--alerts-topic', `${id}.alerts`,
    '--dlq-topic', `${id}.dlq`, '--checkpoint-interval', '0.5', '--session-timeout-ms', '6000', '--log-level', 'info',
  ];
  const start = async (id: string): Promise<{ run: ReturnType<typeof runCli>; port: number }> => {
    const run = runCli(args(id));
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
  const outputs = async (id: string): Promise<TcpReuseEvent[]> =>
    [...(await readTopicDirect(`${id}.flows`)), ...(await readTopicDirect(`${id}.alerts`))].map((m) => JSON.parse(m.value.toString()) as TcpReuseEvent);

  test('instances joining and one leaving mid-stream: nothing lost, nothing twice', async () => {
    const id = `${base}.rb`;
    const a = await start(id);
    await waitFor('A to process a tenth', async () => (await progress([a.port])) > packets / 10);
    const b = await start(id);
    await waitFor('A and B to share the work', async () => (await metricTotal(b.port, 'packets_in_total')) > 0);
    const c = await start(id);
    await waitFor('C to take part', async () => (await metricTotal(c.port, 'packets_in_total')) > 0);
    a.run.child.kill('SIGTERM'); // a graceful leave: its tasks checkpoint and move
    const results = await Promise.all([a.run.done, b.run.done, c.run.done]);
    for (const r of results) expect({ code: r.code, tail: r.code === 0 ? '' : r.stderr.slice(-3000) }).toEqual({ code: 0, tail: '' });
    expect(results[0].stderr).toMatch(/"reason":"SIGTERM"/);
    const events = await outputs(id);
    const keys = events.map((e) => JSON.stringify(e));
    expect(keys.length - new Set(keys).size).toBe(0);
    expectEquivalent(events, want);
  }, 600_000);

  test('SIGKILL of an instance at five seeded moments, each restarted: every reuse and cycle still there', async () => {
    const id = `${base}.k9`;
    const r = rng(9);
    const live = [await start(id), await start(id), await start(id)];
    const killedRuns: Promise<unknown>[] = [];
    let processedBefore = 0;
    for (let k = 0; k < 5; k++) {
      const target = packets * (0.1 + 0.15 * k) + r(packets / 20);
      await waitFor(`kill ${k + 1}`, async () => processedBefore + (await progress(live.map((x) => x.port))) > target, 240_000);
      const victim = r(live.length);
      processedBefore += await metricTotal(live[victim].port, 'packets_in_total');
      live[victim].run.child.kill('SIGKILL');
      killedRuns.push(live[victim].run.done);
      live[victim] = await start(id);
    }
    const results = await Promise.all(live.map((x) => x.run.done));
    for (const res of results) expect({ code: res.code, tail: res.code === 0 ? '' : res.stderr.slice(-3000) }).toEqual({ code: 0, tail: '' });
    const got = await outputs(id);
    const unique = once(got);
    // Every reference reuse, cycle and connection at least once (with its gap, severity, how the old one ended …).
    for (const types of [['port.reuse'], ['port.cycle'], ['port.pressure'], ['flow.open']]) {
      const have = new Set(multiset(unique, types));
      const missing = multiset(want, types).filter((e) => !have.has(e));
      expect({ types, missing: missing.slice(0, 5), count: missing.length }).toEqual({ types, missing: [], count: 0 });
    }
    process.stderr.write(`scaled SIGKILL test: ${got.length} events written, ${got.length - unique.length} of them repeats (at-least-once)\n`);
  }, 900_000);
});
