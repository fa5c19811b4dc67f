/**
 * `npm run bench:kafka` (second part): the scaled consumer (`consume --app-id`) with 1, 2 and 3
 * instances (separate processes), beside the single-instance consumer (no --app-id), on the same
 * 12-partition topic of short flows, one after another in one run. Reports aggregate and
 * per-instance packets/s (start to the last instance's exit) and CPU µs per packet (every
 * instance's process CPU, repartitioning through the clients topic and checkpointing included),
 * and the cores 1 M packets/s would take at that cost. The broker's own CPU is not in it.
 */
import { randomBytes } from 'node:crypto';
import { publish, runInstance, withBroker } from './kafka-setup';
import { SyntheticPackets } from './synthetic-packets';

const PARTITIONS = 12;

async function measure(brokers: string, topic: string, instances: number, scaled: boolean): Promise<{ wallS: number; packets: number; cpuS: number; perInstance: number[] }> {
  const id = `bench.${randomBytes(4).toString('hex')}`;
  const args = ['--topic', topic, '--flows-topic', `${id}.flows`, '--alerts-topic', `${id}.alerts`, ...(scaled ? ['--app-id', id] : ['--group', id])];
  const t = process.hrtime.bigint();
  const runs = await Promise.all(Array.from({ length: instances }, () => runInstance(brokers, args)));
  const wallS = Number(process.hrtime.bigint() - t) / 1e9;
  return { wallS, packets: runs.reduce((n, r) => n + r.packets, 0), cpuS: runs.reduce((n, r) => n + r.cpuS, 0), perInstance: runs.map((r) => r.packets) };
}

async function main(): Promise<void> {
  await withBroker(async (brokers) => {
    const connections = Number(process.env.BENCH_CONNECTIONS ?? 200_000);
    const packets = new SyntheticPackets(connections, 1);
    const topic = `bench.scaled.${randomBytes(4).toString('hex')}`;
    await publish(brokers, topic, PARTITIONS, packets);
    console.log(`scaled consumer: ${packets.count} packets of short flows (${connections} connections) in ${PARTITIONS} partitions; each line one run (whole processes, start-up included)`);
    const single = await measure(brokers, topic, 1, false);
    const line = (label: string, r: Awaited<ReturnType<typeof measure>>, instances: number): void => {
      const rate = r.packets / r.wallS;
      const us = (r.cpuS * 1e6) / r.packets;
      console.log(
        `  ${label.padEnd(28)} ${(rate / 1e3).toFixed(0).padStart(5)} k packets/s aggregate, ${(rate / instances / 1e3).toFixed(0).padStart(5)} k per instance, ` +
          `${us.toFixed(2)} µs CPU/packet (${(us / ((single.cpuS * 1e6) / single.packets)).toFixed(2)}x single), ${us.toFixed(1)} cores for 1 M packets/s; packets per instance ${r.perInstance.join(' / ')}`,
      );
    };
    line('single instance (no app id)', single, 1);
    for (const n of [1, 2, 3]) line(`scaled, ${n} instance${n > 1 ? 's' : ''}`, await measure(brokers, topic, n, true), n);
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
