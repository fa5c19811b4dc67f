import { compressRecords } from '../src/kafka/codecs';
import { FlowStage } from '../src/stages/flow-stage';

export interface CheckpointRun {
  openFlows: number;
  remembered: number;
  bytes: number;
  lz4Bytes: number;
  writeS: number;
  restoreS: number;
}

/**
 * What moving a busy partition costs: a flow stage holding `n` open flows and `n` remembered
 * 4-tuples (connections that ended, kept for reuse detection), checkpointed and restored into a
 * fresh stage. The restore target of the scale-out issue is 1 M + 1 M in ≤ 10 s end to end
 * (this is the decode part; reading the changelog from the broker comes on top).
 */
/** A flow stage holding `n` open flows and `n` remembered 4-tuples, and the options it was made with. */
export function busyFlowStage(n: number): { stage: FlowStage; options: ConstructorParameters<typeof FlowStage>[0] } {
  const options = { flows: { halfOpenTimeoutS: 3600, closedTimeoutS: 1, maxFlows: 2 * n + 1, maxRemembered: 2 * n + 1 }, reuse: { maxEntries: n + 1 } };
  const stage = new FlowStage(options, () => undefined);
  const base = 1_700_000_000_000_000;
  const client = (i: number): string => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  const packet = (src: string, sport: number, flags: number, ts: number) => ({ src, dst: '192.0.2.1', sport, dport: 443, flags, seq: 1000 + sport, ack: 0, len: 0, ts });
  // n connections that open and are reset (remembered once their linger ends), then n that stay open.
  for (let i = 0; i < n; i++) {
    stage.push(packet(client(i), 1024 + (i % 60000), 0x02, base + i));
    stage.push(packet(client(i), 1024 + (i % 60000), 0x04, base + i + 1));
  }
  const later = base + n + 5_000_000;
  for (let i = 0; i < n; i++) stage.push(packet(client(i), 61000 + (i % 4000), 0x02, later + i));
  if (stage.tracker.openFlows !== n || stage.detector.remembered !== n) {
    throw new Error(`expected ${n} open and ${n} remembered, have ${stage.tracker.openFlows} and ${stage.detector.remembered}`);
  }
  return { stage, options };
}

export async function benchCheckpoint(n: number): Promise<CheckpointRun> {
  const { stage, options } = busyFlowStage(n);
  let t = performance.now();
  const bytes = stage.checkpoint();
  const writeS = (performance.now() - t) / 1000;
  t = performance.now();
  const restored = new FlowStage(options, () => undefined);
  restored.restore(bytes);
  const restoreS = (performance.now() - t) / 1000;
  if (restored.tracker.openFlows !== n || restored.detector.remembered !== n) throw new Error('restore lost state');
  const lz4Bytes = (await compressRecords('lz4', bytes)).length;
  return { openFlows: n, remembered: n, bytes: bytes.length, lz4Bytes, writeS, restoreS };
}
