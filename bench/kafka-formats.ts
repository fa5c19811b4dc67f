/**
 * `npm run bench:kafka` (third part): what each output format costs. One topic of short flows (the
 * workload with the most events per packet), consumed end to end by `tcpreuse consume --until-end`
 * processes with each --output-format in turn, the order rotated each round (BENCH_RUNS, default
 * 3). Reports the median packets/s (whole process, start-up included) and CPU µs per packet, and
 * each format's CPU per packet against JSON's (the SIEM schemas' target: at most 1.3x).
 */
import { randomBytes } from 'node:crypto';
import { publish, runInstance, withBroker } from './kafka-setup';
import { SyntheticPackets } from './synthetic-packets';

const FORMATS = ['json', 'avro', 'ecs', 'ocsf', 'cef'] as const;
const PARTITIONS = 3;

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  await withBroker(async (brokers) => {
    const connections = Number(process.env.BENCH_CONNECTIONS ?? 200_000);
    const packets = new SyntheticPackets(connections, 1);
    const topic = `bench.formats.${randomBytes(4).toString('hex')}`;
    await publish(brokers, topic, PARTITIONS, packets);
    console.log(`\noutput formats: ${packets.count} packets of short flows (${connections} connections), consume --output-format each, ${PARTITIONS} partitions`);
    const runs = new Map<string, { s: number; us: number }[]>(FORMATS.map((f) => [f, []]));
    const rounds = Number(process.env.BENCH_RUNS ?? 3);
    for (let r = 0; r < rounds; r++) {
      const order = [...FORMATS.slice(r % FORMATS.length), ...FORMATS.slice(0, r % FORMATS.length)];
      for (const format of order) {
        const id = `bench.${randomBytes(4).toString('hex')}`;
        const t = process.hrtime.bigint();
        const run = await runInstance(brokers, ['--topic', topic, '--group', id, '--flows-topic', `${id}.flows`, '--alerts-topic', `${id}.alerts`, '--output-format', format]);
        const s = Number(process.hrtime.bigint() - t) / 1e9;
        if (run.packets !== packets.count) throw new Error(`${format}: consumed ${run.packets} of ${packets.count} packets`);
        runs.get(format)!.push({ s, us: (run.cpuS * 1e6) / run.packets });
      }
    }
    const jsonUs = median(runs.get('json')!.map((x) => x.us));
    for (const [format, xs] of runs) {
      const us = median(xs.map((x) => x.us));
      const rate = packets.count / median(xs.map((x) => x.s));
      console.log(`  ${format.padEnd(5)} ${(rate / 1e3).toFixed(0).padStart(5)} k packets/s, ${us.toFixed(2)} µs CPU/packet, ${(us / jsonUs).toFixed(2)}x json  [runs: ${xs.map((x) => x.us.toFixed(2)).join(', ')} µs]`);
    }
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
