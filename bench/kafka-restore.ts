/**
 * `npm run bench:restore` (also the last part of `npm run bench:kafka`): what a restore after a
 * kill -9 costs through the real broker. A flow stage holding N open flows and N remembered
 * 4-tuples (BENCH_RESTORE_N, default 1 M; the scale-out issue's target: 1 M + 1 M in ≤ 10 s) is
 * checkpointed into a compacted changelog topic as the scaled consumer writes it (chunks and a
 * manifest, each --compression the consumer offers in turn), then read back and decoded into a
 * fresh stage as an instance taking the partition over does. Reports the restore seconds (read and
 * decode) and the changelog bytes per flow.
 */
import { randomBytes } from 'node:crypto';
import type { Compression } from '../src/kafka/codecs';
import { createKafkaClient } from '../src/kafka/kafka-client';
import { MessagePacker } from '../src/kafka/message-pack';
import { packCheckpoint, readCheckpoints } from '../src/kafka/scaled/changelog';
import { FlowStage } from '../src/stages/flow-stage';
import { createLogger } from '../src/util/logger';
import { busyFlowStage } from './checkpoint';
import { withBroker } from './kafka-setup';

async function main(): Promise<void> {
  const n = Number(process.env.BENCH_RESTORE_N ?? 1_000_000);
  const { stage, options } = busyFlowStage(n);
  const checkpoint = stage.checkpoint();
  console.log(`\nrestore through the broker: a checkpoint of ${n} open flows + ${n} remembered tuples, ${(checkpoint.length / 1e6).toFixed(0)} MB`);
  await withBroker(async (brokers) => {
    const connection = { brokers: [brokers], clientId: 'bench-restore' };
    const logger = createLogger('error');
    const client = createKafkaClient(connection, logger);
    const admin = client.admin();
    await admin.connect();
    for (const compression of ['none', 'lz4', 'zstd'] as Compression[]) {
      const topic = `bench.state.${randomBytes(4).toString('hex')}`;
      await admin.ensureTopics([{ topic, partitions: 1, configs: { 'cleanup.policy': 'compact' } }]);
      const sink = client.sink({ compression });
      await sink.connect();
      const packer = new MessagePacker(checkpoint.length + (1 << 20));
      packCheckpoint(packer, topic, 0, 'in/0', checkpoint, 12345);
      let t = performance.now();
      await sink.send(packer.finish());
      const writeS = (performance.now() - t) / 1000;
      await sink.disconnect();
      t = performance.now();
      const read = await readCheckpoints(connection, logger, topic, 0, new Set(['in/0']));
      const readS = (performance.now() - t) / 1000;
      const restored = new FlowStage(options, () => undefined);
      restored.restore(read.restored.get('in/0')!.checkpoint);
      const totalS = (performance.now() - t) / 1000;
      if (restored.tracker.openFlows !== n || restored.detector.remembered !== n) throw new Error('restore lost state');
      console.log(
        `  ${compression.padEnd(4)}  restore ${totalS.toFixed(1)} s (read ${readS.toFixed(1)} s, decode ${(totalS - readS).toFixed(1)} s), ` +
          `changelog ${(read.bytes / 1e6).toFixed(0)} MB = ${(read.bytes / n).toFixed(0)} B per open flow (with its share of remembered tuples), written in ${writeS.toFixed(1)} s`,
      );
    }
    await admin.disconnect();
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
