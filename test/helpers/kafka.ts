import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Kafka, logLevel, type IHeaders } from 'kafkajs';
import { registerCodecs } from '../../src/kafka/codecs';
import { ROOT } from './run';

/** The test broker's address, or null when the Kafka tests must skip (said loudly by globalSetup). */
export const BROKERS = process.env.TCPREUSE_KAFKA_BROKERS ?? null;
/** `describe` when a broker is up; otherwise a skip whose title says why. */
export const describeKafka: jest.Describe = BROKERS
  ? describe
  : (((name: string, fn: () => void) =>
      describe.skip(`${name} [SKIPPED: ${process.env.TCPREUSE_KAFKA_SKIP ?? 'no broker'}]`, fn)) as unknown as jest.Describe);

export const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');

export function uniqueName(prefix: string): string {
  return `${prefix}.${randomBytes(4).toString('hex')}`;
}

export function kafka(brokers = BROKERS!): Kafka {
  registerCodecs();
  return new Kafka({ clientId: 'tcpreuse-test', brokers: [brokers], logLevel: logLevel.NOTHING });
}

export interface ReadMessage {
  partition: number;
  offset: string;
  key: string | null;
  value: Buffer;
  timestamp: string;
  headers: Record<string, string>;
}

function headerText(h: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h ?? {})) if (v !== undefined) out[k] = Buffer.isBuffer(v) ? v.toString() : String(v);
  return out;
}

/** Every message now in `topic` (up to its high watermarks), in partition/offset order. */
export async function readTopic(topic: string): Promise<ReadMessage[]> {
  const k = kafka();
  const admin = k.admin();
  await admin.connect();
  let ends: { partition: number; high: string; low: string }[] = [];
  try {
    // A topic never written does not exist (asking for its offsets would retry for seconds).
    if ((await admin.listTopics()).includes(topic)) ends = await admin.fetchTopicOffsets(topic);
  } finally {
    await admin.disconnect();
  }
  const expected = ends.reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
  const out: ReadMessage[] = [];
  if (expected === 0) return out;
  const consumer = k.consumer({ groupId: uniqueName('reader'), maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`read ${out.length} of ${expected} messages of ${topic}`)), 60000);
    void consumer.run({
      eachMessage: async ({ partition, message }) => {
        out.push({
          partition,
          offset: message.offset,
          key: message.key ? message.key.toString() : null,
          value: message.value ?? Buffer.alloc(0),
          timestamp: message.timestamp,
          headers: headerText(message.headers),
        });
        if (out.length >= expected) {
          clearTimeout(timer);
          resolve();
        }
      },
    });
  });
  await consumer.disconnect();
  return out.sort((a, b) => a.partition - b.partition || Number(a.offset) - Number(b.offset));
}

/** Creates `topic` as the consumer does (src/kafka): waits until every partition has a leader. */
export async function createTopic(topic: string, partitions: number, configs?: Record<string, string>): Promise<void> {
  const { createKafkaClient } = await import('../../src/kafka/kafka-client');
  const { createLogger } = await import('../../src/util/logger');
  const admin = createKafkaClient({ brokers: [BROKERS!], clientId: 'tcpreuse-test' }, createLogger('warn')).admin();
  await admin.connect();
  try {
    await admin.ensureTopics([{ topic, partitions, configs }]);
  } finally {
    await admin.disconnect();
  }
}

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const children = new Set<ChildProcess>();
/** Kills every CLI child a test left running (a failed expectation must not leave a consumer behind). */
export function killChildren(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  children.clear();
}

/** Runs the built CLI against the test broker. */
export function runCli(args: string[], env: Record<string, string> = {}): { child: ChildProcess; done: Promise<CliRun>; stderr: () => string } {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, TCPREUSE_BROKERS: BROKERS ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<CliRun>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, done, stderr: () => stderr };
}

export async function cli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  const r = await runCli(args, env).done;
  if (r.code !== 0) throw new Error(`tcpreuse ${args.join(' ')} exited ${r.code ?? r.signal}:\n${r.stderr.slice(-3000)}`);
  return r;
}

/**
 * Every record of `topic` now, read partition by partition with the wire partition reader (no
 * consumer group: far faster than kafkajs for the hundreds of thousands of events a scale test
 * writes). `readCommitted`: only what committed transactions wrote (isolation.level=read_committed),
 * once every transaction has ended: a commit's markers reach the partitions after EndTxn has
 * answered, so a read right after the last instance exits could stop short of its last transaction.
 */
export async function readTopicDirect(topic: string, brokers = BROKERS!, readCommitted = false): Promise<{ partition: number; key: string | null; value: Buffer }[]> {
  const { PartitionReader } = await import('../../src/kafka/wire/partition-reader');
  const { createLogger } = await import('../../src/util/logger');
  const admin = kafka(brokers).admin();
  await admin.connect();
  const partitions = (await admin.listTopics()).includes(topic) ? (await admin.fetchTopicOffsets(topic)).map((p) => p.partition) : [];
  await admin.disconnect();
  const out: { partition: number; key: string | null; value: Buffer }[] = [];
  const reader = new PartitionReader({ brokers: [brokers], clientId: 'test-reader' }, createLogger('warn'));
  try {
    for (const partition of partitions) {
      await reader.read(topic, partition, (records) => {
        for (const r of records) out.push({ partition, key: r.key?.toString() ?? null, value: r.value ?? Buffer.alloc(0) });
      }, readCommitted ? { readCommitted, waitStableMs: 60_000 } : {});
    }
  } finally {
    reader.close();
  }
  return out;
}

/** The metrics port a `consume` child logged, once it has. */
export async function metricsPortOf(stderr: () => string, timeoutMs = 60_000): Promise<number> {
  const started = Date.now();
  for (;;) {
    const m = /"url":"http:\/\/0\.0\.0\.0:(\d+)\/metrics"/.exec(stderr());
    if (m) return Number(m[1]);
    if (Date.now() - started > timeoutMs) throw new Error(`no metrics endpoint logged:\n${stderr().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A consumer's /healthz answer (null when it cannot be reached: not started, or gone). */
export async function healthOf(port: number): Promise<{ httpStatus: number; ok: boolean; status: string; reason?: string } | null> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/healthz`);
    return { httpStatus: res.status, ...((await res.json()) as { ok: boolean; status: string; reason?: string }) };
  } catch {
    return null;
  }
}

/**
 * Polls each consumer's /healthz until `want` holds for it, or `gone(i)` says the process has exited
 * (its exit code is the caller's to check); the answers seen, per consumer, on timeout.
 */
export async function waitForHealth(
  ports: readonly number[],
  want: (h: { httpStatus: number; ok: boolean; status: string }) => boolean,
  timeoutMs: number,
  gone: (i: number) => boolean = () => false,
): Promise<void> {
  const started = Date.now();
  const seen = ports.map(() => new Set<string>());
  const pending = new Set(ports.keys());
  while (pending.size > 0) {
    for (const i of [...pending]) {
      const h = await healthOf(ports[i]);
      seen[i].add(h ? `${h.httpStatus} ${h.status}` : 'unreachable');
      if ((h && want(h)) || (!h && gone(i))) pending.delete(i);
    }
    if (pending.size === 0) return;
    if (Date.now() - started > timeoutMs) throw new Error(`health not as wanted within ${timeoutMs} ms; seen: ${seen.map((s) => [...s].join(' / ')).join('; ')}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A counter's total from a consumer's /metrics (0 when it cannot be reached: not started, or gone). */
export async function metricTotal(port: number, name: string): Promise<number> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    let total = 0;
    for (const line of text.split('\n')) if (line.startsWith(`tcpreuse_${name}`) && !line.startsWith('#')) total += Number(line.split(' ').pop());
    return total;
  } catch {
    return 0;
  }
}
