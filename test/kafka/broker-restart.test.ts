/**
 * The broker killed (SIGKILL) and started again on the same storage and ports, twice, while two
 * scaled consumer instances work (issue #21's first fault, #17's broker-restart point). A private
 * broker (the other suites share theirs). The instances must resume by themselves; nothing may be
 * lost and no false reuse may appear (re-read input must never run through state built from it);
 * /healthz says degraded while the broker is away. A broker that stays away past --broker-timeout
 * ends the consumer (exit 1, one clear line) instead of leaving it retrying forever.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { repeatCapture } from '../../bench/capture-copies';
import type { TcpReuseEvent } from '../../src/model/events';
import { BROKERS, describeKafka, killChildren, metricsPortOf, metricTotal, readTopicDirect, runCli, uniqueName, waitForHealth } from '../helpers/kafka';
import { analyzeCapture, capturePath, ROOT } from '../helpers/run';
import { multiset, once } from '../helpers/scaled-analysis';

const BROKER = join(ROOT, 'docker', 'kafka', 'broker.sh');
const dir = mkdtempSync(join(tmpdir(), 'tcpreuse-broker-restart-'));
let brokerDir = '';
let bootstrap = '';

afterAll(() => {
  killChildren();
  if (brokerDir) execFileSync('bash', [BROKER, 'stop', brokerDir], { stdio: 'ignore' });
  rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describeKafka('scaled consumer through broker crashes (private broker)', () => {
  beforeAll(() => {
    const out = execFileSync('bash', [BROKER, 'start'], { encoding: 'utf8', env: { ...process.env, TCPREUSE_KAFKA_OWNER_PID: String(process.pid) } });
    brokerDir = /^dir=(.*)$/m.exec(out)![1];
    bootstrap = /^bootstrap=(.*)$/m.exec(out)![1];
  }, 120_000);

  // Scaled: two instances with --app-id. Single: one consumer without (the one-process design keeps
  // state behind when partitions move between instances, so two of them would differ by design).
  test.each([
    ['scaled (two instances)', true, false],
    ['scaled (two instances, --exactly-once: read committed, nothing twice)', true, true],
    ['single consumer', false, false],
  ])('%s: killed and restarted twice mid-stream: degraded health while it is away, resumed by itself, nothing lost, no false reuse', async (_name, scaled, eos) => {
    expect(BROKERS).toBeTruthy(); // the suite's broker is up, so Java is here for ours too
    const env = { TCPREUSE_BROKERS: bootstrap };
    const pcap = join(dir, 'big.pcap');
    writeFileSync(pcap, repeatCapture(gunzipSync(readFileSync(capturePath('many-flows'))), 8, 7200));
    const id = uniqueName('br');
    const replay = await runCli(['replay', pcap, '--topic', `${id}.in`, '--partitions', '12', '--sensor', 'big', '--batch-size', '5', '--log-level', 'warn'], env).done;
    expect(replay.code).toBe(0);
    const packets = Number(/replayed (\d+) TCP packets/.exec(replay.stdout + replay.stderr)?.[1] ?? 0);
    const mode = scaled ? ['--app-id', `${id}.app`, '--checkpoint-interval', '1'] : ['--group', `${id}.g`];
    const args = ['consume', '--topic', `${id}.in`, ...mode, '--until-end', '--metrics-port', '0', '--flows-topic', `${id}.flows`,
      '--alerts-topic', `${id}.alerts`, '--session-timeout-ms', '10000', '--log-level', 'info'];
    // A transaction timeout past the outage (8 s down, restarts take up to ~25 s under load): a transaction
    // open longer is aborted by the broker and its producer fenced, which ends the instance (docs/scale-out.md).
    const exactlyOnce = (n: number): string[] => (eos ? ['--exactly-once', '--transactional-id', `${id}.tx${n}`, '--transaction-timeout', '90'] : []);
    const instances = scaled ? [runCli([...args, ...exactlyOnce(0)], env), runCli([...args, ...exactlyOnce(1)], env)] : [runCli(args, env)];
    const ports = await Promise.all(instances.map((i) => metricsPortOf(i.stderr)));
    const progress = async (): Promise<number> => (await Promise.all(ports.map((p) => metricTotal(p, 'packets_in_total')))).reduce((a, b) => a + b, 0);
    for (const share of [0.25, 0.6]) {
      const started = Date.now();
      while ((await progress()) < packets * share) {
        if (Date.now() - started > 180_000) throw new Error(`no progress to ${share * 100}%`);
        await sleep(100);
      }
      execFileSync('bash', [BROKER, 'crash', brokerDir]);
      const crashed = Date.now();
      try {
        // /healthz: degraded (503) within seconds of the broker going away, not "consuming".
        await waitForHealth(ports, (h) => h.httpStatus === 503 && h.status === 'degraded', 7000, (i) => instances[i].child.exitCode !== null).catch((err: Error) => {
          throw new Error(`${err.message}\n${instances.map((i, n) => `instance ${n}: ${i.stderr().slice(-1500)}`).join('\n')}`);
        });
        await sleep(Math.max(0, 8000 - (Date.now() - crashed)));
      } finally {
        // Restarted whatever happened: the next tests use this broker.
        execFileSync('bash', [BROKER, 'restart', brokerDir], { stdio: 'ignore', env: { ...process.env, TCPREUSE_KAFKA_OWNER_PID: String(process.pid) } });
      }
      // ... and healthy again once it is back (after the first outage: after the second they may finish and exit first).
      if (share === 0.25) await waitForHealth(ports, (h) => h.ok, 120_000, (i) => instances[i].child.exitCode !== null);
    }
    const results = await Promise.all(instances.map((i) => i.done));
    for (const r of results) expect({ code: r.code, tail: r.code === 0 ? '' : r.stderr.slice(-3000) }).toEqual({ code: 0, tail: '' });

    const want = await analyzeCapture(pcap, { sensor: 'big' });
    const got = [...(await readTopicDirect(`${id}.flows`, bootstrap, eos)), ...(await readTopicDirect(`${id}.alerts`, bootstrap, eos))].map((m) => JSON.parse(m.value.toString()) as TcpReuseEvent);
    // Exactly the reference's reuses, cycles and connections (repeats aside): none lost, none made up.
    const unique = once(got);
    for (const types of [['port.reuse'], ['port.cycle'], ['port.pressure'], ['flow.open']]) {
      expect({ types, events: multiset(unique, types) }).toEqual({ types, events: multiset(want, types) });
    }
    if (eos) expect(got.length - unique.length).toBe(0);
  }, 600_000);

  test.each([
    ['single consumer', false],
    ['scaled instance', true],
  ])('%s, idle: a broker away past --broker-timeout ends it with exit 1 and one clear line, within seconds of the limit', async (_name, scaled) => {
    const env = { TCPREUSE_BROKERS: bootstrap };
    const id = uniqueName('gone');
    const replay = await runCli(['replay', capturePath('nat-collision'), '--topic', `${id}.in`, '--partitions', '2', '--log-level', 'warn'], env).done;
    expect(replay.code).toBe(0);
    const mode = scaled ? ['--app-id', `${id}.app`] : ['--group', `${id}.g`];
    const consumer = runCli(['consume', '--topic', `${id}.in`, ...mode, '--metrics-port', '0', '--flows-topic', `${id}.flows`, '--alerts-topic', `${id}.alerts`, '--broker-timeout', '8', '--log-level', 'info'], env);
    const [port] = [await metricsPortOf(consumer.stderr)];
    await waitForHealth([port], (h) => h.ok, 60_000); // consuming (the input is small: idle soon)
    // Idle: the input's events written and their offsets committed. A write still in flight when the
    // broker goes gives up after the same 8 s (the producer's own budget) and would race the limit.
    const started = Date.now();
    while ((await metricTotal(port, 'offset_commits_total')) < 1) {
      if (Date.now() - started > 60_000) throw new Error('the consumer committed nothing in 60 s');
      await new Promise((r) => setTimeout(r, 100));
    }
    execFileSync('bash', [BROKER, 'crash', brokerDir]);
    const crashed = Date.now();
    let r: Awaited<typeof consumer.done>;
    let tookS: number;
    try {
      r = await consumer.done;
      tookS = (Date.now() - crashed) / 1000;
    } finally {
      execFileSync('bash', [BROKER, 'restart', brokerDir], { stdio: 'ignore', env: { ...process.env, TCPREUSE_KAFKA_OWNER_PID: String(process.pid) } });
    }
    expect(r.code).toBe(1);
    expect(tookS).toBeLessThan(8 + 15);
    expect(r.stderr).toMatch(/tcpreuse: consume failed: Kafka unreachable for \d+ s, past the limit of 8 s \(--broker-timeout\)/);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  }, 180_000);
});
