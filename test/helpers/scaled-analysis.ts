import type { TcpReuseEvent } from '../../src/model/events';
import type { PacketRecord } from '../../src/model/packet-record';
import { addressPairKey, partitionOf } from '../../src/kafka/replay';
import { ClientStage, type ClientFeedEvent, type ClientStageOptions } from '../../src/stages/client-stage';
import { FlowStage, type FlowStageOptions } from '../../src/stages/flow-stage';
import { rng } from './rng';

export interface ScaledRun {
  events: TcpReuseEvent[];
  duplicatesDropped: number;
}

/**
 * The scaled consumer's dataflow without Kafka: packets split over `partitions` by address pair
 * (as `replay` keys them), a FlowStage per partition fed in random-sized chunks in a random
 * partition order (tasks on different instances run at their own pace), everything they send
 * the client stage delivered with their marks, some of it twice (what a restored upstream sends
 * again), and the client stage drained now and then.
 */
export function scaledAnalysis(packets: readonly PacketRecord[], partitions: number, seed: number, options: { flow?: FlowStageOptions; client?: ClientStageOptions } = {}): ScaledRun {
  const r = rng(seed);
  const parts: PacketRecord[][] = Array.from({ length: partitions }, () => []);
  for (const p of packets) parts[partitionOf(addressPairKey(p), partitions)].push(p);
  const ids = parts.map((_, i) => `in/${i}`);
  const events: TcpReuseEvent[] = [];
  const keep = (e: { type: string }): void => {
    if (e.type !== 'watermark' && e.type !== 'flow.interleave') events.push(e as TcpReuseEvent);
  };
  const client = new ClientStage(options.client ?? {}, ids, keep);
  const sent: { seq: number; e: ClientFeedEvent }[][] = parts.map(() => []);
  const delivered = parts.map(() => 0);
  const stages = parts.map((_, i) => new FlowStage(options.flow ?? {}, keep, (seq, e) => sent[i].push({ seq, e })));
  const next = parts.map(() => 0);

  const deliver = (i: number, idle: boolean): void => {
    // Now and then a few already delivered items come again first.
    if (delivered[i] > 0 && r(5) === 0) {
      for (let k = Math.max(0, delivered[i] - 1 - r(5)); k < delivered[i]; k++) client.add(ids[i], sent[i][k].seq, sent[i][k].e);
    }
    for (; delivered[i] < sent[i].length; delivered[i]++) client.add(ids[i], sent[i][delivered[i]].seq, sent[i][delivered[i]].e);
    client.mark(ids[i], stages[i].lowWatermark(), idle);
  };

  for (;;) {
    const open = parts.map((p, i) => (next[i] < p.length ? i : -1)).filter((i) => i >= 0);
    if (open.length === 0) break;
    const i = open[r(open.length)];
    const end = Math.min(parts[i].length, next[i] + 1 + r(400));
    for (; next[i] < end; next[i]++) stages[i].push(parts[i][next[i]]);
    deliver(i, next[i] === parts[i].length);
    if (r(3) === 0) client.drain();
  }
  stages.forEach((s, i) => {
    s.flush();
    deliver(i, true);
  });
  client.flush();
  return { events, duplicatesDropped: client.merge.counters.duplicates };
}

/**
 * An event without what is numbered per partition in scaled mode (Wireshark stream numbers), as
 * the equivalence with one process is stated.
 */
export function withoutStreams(e: TcpReuseEvent): Record<string, unknown> {
  const { stream: _s, previousStream: _p, ...rest } = e as unknown as Record<string, unknown>;
  return rest;
}

/** Events of the given types as sorted JSON lines (a multiset). */
export function multiset(events: readonly TcpReuseEvent[], types: readonly string[], view: (e: TcpReuseEvent) => unknown = withoutStreams): string[] {
  return events
    .filter((e) => types.includes(e.type))
    .map((e) => JSON.stringify(view(e)))
    .sort();
}
