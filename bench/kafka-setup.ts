/** What both Kafka benches need: a broker (the test one, or started here) and the workload published to it. */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeBatch } from '../src/avro/packet-schemas';
import type { OutgoingMessage } from '../src/kafka/client';
import { createKafkaClient } from '../src/kafka/kafka-client';
import { addressPairKey, partitionOf } from '../src/kafka/replay';
import type { PacketRecord } from '../src/model/packet-record';
import { createLogger } from '../src/util/logger';

const ROOT = join(__dirname, '..', '..');
const BATCH = 1000;
const seconds = (t: bigint): number => Number(process.hrtime.bigint() - t) / 1e9;

/**
 * Runs `fn` with TCPREUSE_KAFKA_BROKERS, or with a broker started by docker/kafka/broker.sh for the
 * run (its process id given, for its CPU time) and stopped after it.
 */
export async function withBroker(fn: (brokers: string, brokerPid: number | null) => Promise<void>): Promise<void> {
  const given = process.env.TCPREUSE_KAFKA_BROKERS;
  if (given) return fn(given, null);
  const out = execFileSync('bash', [join(ROOT, 'docker', 'kafka', 'broker.sh'), 'start'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const dir = /dir=(\S+)/.exec(out)![1];
  try {
    await fn(/bootstrap=(\S+)/.exec(out)![1], Number(readFileSync(join(dir, 'pid'), 'utf8')));
  } finally {
    execFileSync('bash', [join(ROOT, 'docker', 'kafka', 'broker.sh'), 'stop', dir], { stdio: 'inherit' });
  }
}

/** The packets as batched Avro (BATCH a message), each address pair in the partition its key hashes to (as replay does). */
export async function publish(brokers: string, topic: string, partitions: number, packets: Iterable<PacketRecord>): Promise<{ messages: number; s: number }> {
  const client = createKafkaClient({ brokers: [brokers], clientId: 'bench' }, createLogger('error'));
  const admin = client.admin();
  await admin.connect();
  await admin.ensureTopics([{ topic, partitions: partitions }]);
  await admin.disconnect();
  const sink = client.sink({ compression: 'none' });
  await sink.connect();
  const t = process.hrtime.bigint();
  const batches: PacketRecord[][] = Array.from({ length: partitions }, () => []);
  let out: OutgoingMessage[] = [];
  let messages = 0;
  const flush = async (partition: number): Promise<void> => {
    const b = batches[partition];
    batches[partition] = [];
    out.push({ topic, partition, key: null, value: encodeBatch(b), timestampMs: Math.floor(b[0].ts / 1000), headers: { 'tcpreuse-avro': 'batch' } });
    messages++;
    if (out.length >= 50) {
      await sink.send(out);
      out = [];
    }
  };
  for (const p of packets) {
    const part = partitionOf(addressPairKey(p), partitions);
    batches[part].push(p);
    if (batches[part].length >= BATCH) await flush(part);
  }
  for (let i = 0; i < partitions; i++) if (batches[i].length) await flush(i);
  await sink.send(out);
  const s = seconds(t);
  await sink.disconnect();
  return { messages, s };
}


const CLI = join(__dirname, '..', 'src', 'cli', 'main.js');

export interface InstanceRun {
  packets: number;
  cpuS: number;
}

/** One `tcpreuse consume --until-end` process: its packets and CPU seconds, from its stop line. */
export function runInstance(brokers: string, args: string[]): Promise<InstanceRun> {
  return new Promise((resolve, reject) => {
    // BENCH_CPU_PROF=dir: every instance writes a CPU profile of each of its threads there (node --cpu-prof).
    const prof = process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF] : [];
    const child = spawn(process.execPath, [...prof, CLI, 'consume', ...args, '--until-end', '--no-metrics', '--log-level', 'info'], { env: { ...process.env, TCPREUSE_BROKERS: brokers }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-20000)));
    child.on('close', (code) => {
      const stopped = err.split('\n').filter((l) => l.includes('"msg":"stopped"')).pop();
      if (code !== 0 || !stopped) return reject(new Error(`consume exited ${code}: ${err.slice(-2000)}`));
      const s = JSON.parse(stopped) as { packets: number; cpuS: number };
      resolve({ packets: s.packets, cpuS: s.cpuS });
    });
  });
}

