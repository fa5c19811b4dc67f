/**
 * `npm run bench:kafka`: packets per second through a real broker, side by side in one run.
 *
 *   replay   synthetic packets published as batched Avro (1000 per message, 3 partitions)
 *   limit    a bare kafkajs consumer that only decodes those Avro messages
 *   consume  tcpreuse consume end to end: decode, merge, analyze, write events (acks=all), commit
 *
 * After an untimed warm-up round (BENCH_WARMUP=0 skips it), the two consumers alternate
 * (BENCH_RUNS, default 3, each) over the same topic with fresh groups; medians are reported with
 * their ratio, both over the consuming window and with start-up and shutdown included. Uses
 * TCPREUSE_KAFKA_BROKERS, or starts docker/kafka/broker.sh.
 *
 * BENCH_COMPARE=<another build's dist folder> also runs that build's consumer, alternating with
 * this one, for an A/B of a change on this noisy machine (e.g. a copy of dist built from main).
 * BENCH_OUTPUT_FORMAT=avro writes the events as Avro instead of JSON.
 *
 * CPU per packet (this process over all its threads, and the broker's JVM when this script
 * started it) says what the 80%-of-the-limit target asks of the machine: the cores consume
 * would need at that rate with its present cost.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { decodeBatch } from '../src/avro/packet-schemas';
import { registerCodecs } from '../src/kafka/codecs';
import { ConsumeService } from '../src/kafka/consume-service';
import { createKafkaClient } from '../src/kafka/kafka-client';
import { Metrics } from '../src/kafka/metrics';
import { createLogger } from '../src/util/logger';
import { publish, withBroker } from './kafka-setup';
import { SyntheticPackets } from './synthetic-packets';

const PARTITIONS = 3;
/** Two workloads: many short connections (many output events per packet) and fewer long ones. */
const WORKLOADS = [
  { name: 'short flows (9 packets a connection)', connections: Number(process.env.BENCH_CONNECTIONS ?? 200_000), exchanges: 1 },
  { name: 'long flows (96 packets a connection)', connections: Number(process.env.BENCH_CONNECTIONS ?? 200_000) / 10, exchanges: 30 },
];

/**
 * A consumer's run: `wallS` from start (connect, group join, topic checks, worker start) to the
 * end of input; `consumingS` from the first batch fetched to the last packet decoded (bare) or
 * the last event acknowledged (tcpreuse), the rate a long-running consumer sustains.
 */
interface Timing {
  wallS: number;
  consumingS: number;
  /** CPU seconds over the whole run: this process (every thread), and the broker's JVM. */
  cpuS: number;
  brokerCpuS: number;
}

/** The broker's process id, when this script started the broker (for its CPU time). */
let brokerPid: number | null = null;

/** CPU seconds a process has used so far (utime + stime from /proc; NaN when unknown). */
function processCpuS(pid: number | null): number {
  if (pid === null) return NaN;
  try {
    // The command name (field 2) may hold spaces: count the fields after its closing parenthesis.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100 on Linux)
  } catch {
    return NaN;
  }
}

/** Starts the CPU clocks of a run; the returned function gives their readings since then. */
function cpuClocks(): () => { cpuS: number; brokerCpuS: number } {
  const own = process.cpuUsage();
  const broker = processCpuS(brokerPid);
  return () => {
    const d = process.cpuUsage(own);
    return { cpuS: (d.user + d.system) / 1e6, brokerCpuS: processCpuS(brokerPid) - broker };
  };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const seconds = (t: bigint): number => Number(process.hrtime.bigint() - t) / 1e9;

/** The limit: fetch and decode every Avro message, nothing else. */
async function bareConsumer(brokers: string, topic: string, total: number): Promise<Timing> {
  registerCodecs();
  const consumer = new Kafka({ clientId: 'bench-bare', brokers: [brokers], logLevel: logLevel.NOTHING }).consumer({
    groupId: `bare.${randomBytes(4).toString('hex')}`,
    maxBytesPerPartition: 4 * 1024 * 1024,
    maxBytes: 64 * 1024 * 1024,
    maxWaitTimeInMs: 200,
  });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const cpu = cpuClocks();
  const t = process.hrtime.bigint();
  let first = 0n;
  let n = 0;
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachBatch: async ({ batch }) => {
        first ||= process.hrtime.bigint();
        for (const m of batch.messages) n += decodeBatch(m.value!).length;
        if (n >= total) resolve();
      },
    });
  });
  const timing = { wallS: seconds(t), consumingS: seconds(first), ...cpu() };
  await consumer.disconnect();
  return timing;
}

interface ConsumerBuild {
  ConsumeService: typeof ConsumeService;
  createKafkaClient: typeof createKafkaClient;
}

const THIS_BUILD: ConsumerBuild = { ConsumeService, createKafkaClient };

/** The consumer of another build (BENCH_COMPARE), loaded from its dist folder. */
function otherBuild(dist: string): ConsumerBuild {
  const load = (m: string): unknown => require(join(dist, 'src', 'kafka', m));
  return { ...(load('consume-service') as Pick<ConsumerBuild, 'ConsumeService'>), ...(load('kafka-client') as Pick<ConsumerBuild, 'createKafkaClient'>) };
}

async function tcpreuseConsume(brokers: string, topic: string, total: number, build: ConsumerBuild = THIS_BUILD): Promise<Timing> {
  const { ConsumeService, createKafkaClient } = build;
  const id = randomBytes(4).toString('hex');
  const log = createLogger('error');
  const metrics = new Metrics();
  const service = new ConsumeService(
    {
      groupId: `bench.${id}`,
      topics: [topic],
      fromBeginning: true,
      inputFormat: 'avro',
      outputTopics: { flows: `bench.flows.${id}`, alerts: `bench.alerts.${id}`, packets: null },
      // BENCH_OUTPUT_FORMAT=avro: the events as Avro (smaller records: less for the broker to take).
      outputFormat: process.env.BENCH_OUTPUT_FORMAT === 'avro' ? 'avro' : 'json',
      compression: 'none',
      dlqTopic: `bench.dlq.${id}`,
      analyze: { sensor: 'bench' },
      untilEnd: true,
    },
    createKafkaClient({ brokers: [brokers], clientId: 'bench-tcpreuse' }, log),
    log,
    metrics,
  );
  // BENCH_PROFILE=file.cpuprofile: a CPU profile of the pipeline thread during this run alone.
  const profile = process.env.BENCH_PROFILE ? new Session() : null;
  if (profile) {
    profile.connect();
    await profile.post('Profiler.enable');
    await profile.post('Profiler.start');
  }
  const cpu = cpuClocks();
  const t = process.hrtime.bigint();
  const summary = await service.run();
  const s = seconds(t);
  const used = cpu();
  if (profile) {
    const { profile: result } = await profile.post('Profiler.stop');
    writeFileSync(process.env.BENCH_PROFILE!, JSON.stringify(result));
    profile.disconnect();
  }
  if (summary.packets !== total) throw new Error(`tcpreuse consume saw ${summary.packets} of ${total} packets`);
  return { wallS: s, consumingS: summary.consumingS ?? NaN, ...used };
}

async function benchWorkload(brokers: string, w: (typeof WORKLOADS)[number]): Promise<void> {
  // The packets are generated into columns and become objects only as they are published, then
  // let go: 1.8 M packet objects held for the whole workload were re-marked by every full GC of
  // this process, a cost of the harness that landed on the consumer measured beside it.
  const topic = `bench.in.${randomBytes(4).toString('hex')}`;
  const { total, pub } = await (async () => {
    const source = new SyntheticPackets(w.connections, w.exchanges);
    console.log(`\n${w.name}: ${source.count.toLocaleString('en')} packets, ${w.connections.toLocaleString('en')} connections`);
    return { total: source.count, pub: await publish(brokers, topic, PARTITIONS, source) };
  })();
  const rate = (s: number): string => Math.round(total / s).toLocaleString('en');
  console.log(`  replay (publish as ${pub.messages} Avro batches):       ${rate(pub.s)} packets/s`);
  const bare: Timing[] = [];
  const ours: Timing[] = [];
  const other: Timing[] = [];
  const compare = process.env.BENCH_COMPARE ? otherBuild(process.env.BENCH_COMPARE) : null;
  const runs = Number(process.env.BENCH_RUNS ?? 3);
  // One untimed round first, as JMH warms up: a consumer runs for hours, and V8 compiling the
  // pipeline during the first run is start-up, not throughput.
  if (process.env.BENCH_WARMUP !== '0') {
    if (process.env.BENCH_ONLY !== 'consume') await bareConsumer(brokers, topic, total);
    await tcpreuseConsume(brokers, topic, total);
    if (compare) await tcpreuseConsume(brokers, topic, total, compare);
  }
  for (let i = 0; i < runs; i++) {
    // Each side goes first in every other round: a run right after another one measured slower
    // (the broker and the collector still busy with the last), which a fixed order would pin on one side.
    const round: (() => Promise<void>)[] = [];
    // BENCH_ONLY=consume profiles our side alone (e.g. under --cpu-prof).
    if (process.env.BENCH_ONLY !== 'consume') round.push(async () => void bare.push(await bareConsumer(brokers, topic, total)));
    round.push(async () => void ours.push(await tcpreuseConsume(brokers, topic, total)));
    if (compare) round.push(async () => void other.push(await tcpreuseConsume(brokers, topic, total, compare)));
    if (i % 2 === 1) round.reverse();
    for (const run of round) await run();
  }
  const line = (label: string, ts: Timing[]): void => {
    const wall = median(ts.map((x) => x.wallS));
    const consuming = median(ts.map((x) => x.consumingS));
    console.log(`  ${label.padEnd(48)} ${rate(consuming).padStart(9)} packets/s consuming, ${rate(wall).padStart(9)} with start-up  [runs: ${ts.map((x) => `${x.consumingS.toFixed(2)}/${x.wallS.toFixed(2)}`).join(', ')} s]`);
  };
  const us = (ts: Timing[], f: (x: Timing) => number): number => (1e6 * median(ts.map(f))) / total;
  if (bare.length > 0) line('limit (bare kafkajs consumer, Avro decode only):', bare);
  line('tcpreuse consume end to end:', ours);
  if (bare.length > 0) limitLines(bare, ours, us, total);
  // BENCH_ONLY=consume: no limit to compare with, so no ratio and no budget.
  else console.log(`  limit: not run (BENCH_ONLY=consume); CPU per packet (whole run): consume ${us(ours, (x) => x.cpuS).toFixed(2)} µs + broker ${us(ours, (x) => x.brokerCpuS).toFixed(2)} µs`);
  if (compare) {
    line(`${process.env.BENCH_COMPARE}:`, other);
    console.log(`  this build / that build (consuming): ${(median(other.map((x) => x.consumingS)) / median(ours.map((x) => x.consumingS))).toFixed(2)}x`);
  }
}

/** The ratio to the limit and what the 80% target would ask of the machine. */
function limitLines(bare: Timing[], ours: Timing[], us: (ts: Timing[], f: (x: Timing) => number) => number, packets: number): void {
  const ratio = (f: (x: Timing) => number): string => `${Math.round((100 * median(bare.map(f))) / median(ours.map(f)))}%`;
  console.log(`  consume / limit: ${ratio((x) => x.consumingS)} consuming, ${ratio((x) => x.wallS)} with start-up`);
  // What the 80% target asks of the machine: the consumer's CPU per packet (all its threads, plus
  // the broker serving it) at 80% of the rate the limit reaches on one core.
  const [bareCpu, bareBroker, ourCpu, ourBroker] = [us(bare, (x) => x.cpuS), us(bare, (x) => x.brokerCpuS), us(ours, (x) => x.cpuS), us(ours, (x) => x.brokerCpuS)];
  const limitRate = packets / median(bare.map((x) => x.consumingS));
  console.log(`  CPU per packet (whole run): limit ${bareCpu.toFixed(2)} µs + broker ${bareBroker.toFixed(2)} µs; consume ${ourCpu.toFixed(2)} µs + broker ${ourBroker.toFixed(2)} µs`);
  console.log(`  cores consume would need at 80% of the limit: ${((0.8 * limitRate * (ourCpu + ourBroker)) / 1e6).toFixed(2)} (this machine: ${cpus().length})`);
}

async function main(): Promise<void> {
  await withBroker(async (brokers, pid) => {
    brokerPid = pid;
    // BENCH_WORKLOAD=short|long runs one of the two.
    for (const w of WORKLOADS) if (!process.env.BENCH_WORKLOAD || w.name.startsWith(process.env.BENCH_WORKLOAD)) await benchWorkload(brokers, w);
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
