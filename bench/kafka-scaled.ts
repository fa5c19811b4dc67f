/**
 * `npm run bench:kafka` (second part): the scaled consumer (`consume --app-id`) with 1, 2 and 3
 * instances (separate processes), beside the single-instance consumer (no --app-id), on the same
 * 12-partition topic of short flows, one after another in one run (single and one scaled instance
 * alternating, BENCH_ROUNDS times, medians). Reports aggregate and
 * per-instance packets/s (start to the last instance's exit) and CPU µs per packet (every
 * instance's process CPU, repartitioning through the clients topic and checkpointing included),
 * each N-instance line after its control (N single-instance consumers at once, each reading everything),
 * and the cores 1 M packets/s would take at that cost, then one instance at-least-once beside
 * one with --exactly-once (transactions), twice. The broker's own CPU is not in it.
 */
import { randomBytes } from 'node:crypto';
import { publish, runInstance, withBroker } from './kafka-setup';
import { SyntheticPackets } from './synthetic-packets';

const PARTITIONS = 12;

/** `instances` processes at once: scaled ones sharing an app id, or single-instance ones each in a group of its own (each reads the whole topic). */
async function measure(brokers: string, topic: string, instances: number, scaled: boolean, exactlyOnce = false): Promise<{ wallS: number; packets: number; cpuS: number; perInstance: number[] }> {
  const id = `bench.${randomBytes(4).toString('hex')}`;
  const args = (i: number): string[] => ['--topic', topic, '--flows-topic', `${id}.flows`, '--alerts-topic', `${id}.alerts`, ...(scaled ? ['--app-id', id] : ['--group', `${id}.${i}`])];
  const eos = (i: number): string[] => (exactlyOnce ? ['--exactly-once', '--transactional-id', `${id}.tx${i}`] : []);
  const t = process.hrtime.bigint();
  const runs = await Promise.all(Array.from({ length: instances }, (_, i) => runInstance(brokers, [...args(i), ...eos(i)])));
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
    type Run = Awaited<ReturnType<typeof measure>>;
    const usPerPacket = (r: Run): number => (r.cpuS * 1e6) / r.packets;
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    // The machine is shared and noisy: single and scaled alternate, and the ratio is the median's.
    const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
    const singles: Run[] = [];
    const scaledOnes: Run[] = [];
    for (let round = 0; round < rounds; round++) {
      singles.push(await measure(brokers, topic, 1, false));
      scaledOnes.push(await measure(brokers, topic, 1, true));
    }
    const singleUs = median(singles.map(usPerPacket));
    const line = (label: string, r: Run, instances: number, control?: Run): void => {
      const rate = r.packets / r.wallS;
      const us = usPerPacket(r);
      const against = control ? `, ${(us / usPerPacket(control)).toFixed(2)}x its control` : '';
      console.log(
        `  ${label.padEnd(28)} ${(rate / 1e3).toFixed(0).padStart(5)} k packets/s aggregate, ${(rate / instances / 1e3).toFixed(0).padStart(5)} k per instance, ` +
          `${us.toFixed(2)} µs CPU/packet (${(us / singleUs).toFixed(2)}x single${against}), ${us.toFixed(1)} cores for 1 M packets/s; packets per instance ${r.perInstance.join(' / ')}`,
      );
    };
    for (let round = 0; round < rounds; round++) {
      line('single instance (no app id)', singles[round], 1);
      line('scaled, 1 instance', scaledOnes[round], 1);
    }
    console.log(`  scaled CPU per packet against single-instance, medians of ${rounds} alternating rounds: ${(median(scaledOnes.map(usPerPacket)) / singleUs).toFixed(2)}x (target 1.3x)`);
    // Several processes on this machine's two cores (which also run the broker) cost more CPU per
    // packet whatever they run: as many single-instance consumers at once, each reading the whole
    // topic in a group of its own, are the control (in one group, a consumer that joins first
    // reads partitions the later ones read again after the rebalance: not the same work).
    for (const n of [2, 3]) {
      const control = await measure(brokers, topic, n, false);
      line(`single, ${n} instances (control)`, control, n);
      line(`scaled, ${n} instances`, await measure(brokers, topic, n, true), n, control);
    }
    // The cost of transactions: the same run at-least-once and exactly-once, side by side (twice, alternating).
    const pair: [string, Run][] = [];
    for (let round = 0; round < 2; round++) {
      pair.push(['scaled, 1, at-least-once', await measure(brokers, topic, 1, true)]);
      pair.push(['scaled, 1, --exactly-once', await measure(brokers, topic, 1, true, true)]);
    }
    for (const [label, r] of pair) line(label, r, 1);
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
