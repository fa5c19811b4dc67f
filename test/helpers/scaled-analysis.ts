import type { TcpReuseEvent } from '../../src/model/events';
import type { PacketRecord } from '../../src/model/packet-record';
import { addressPairKey, partitionOf } from '../../src/kafka/replay';
import { ClientStage, type ClientFeedEvent, type ClientStageOptions } from '../../src/stages/client-stage';
import { FlowStage, type FlowStageOptions } from '../../src/stages/flow-stage';
import { ethernet, ipv4, pcapFile, tcpHeader } from './packets';
import { rng } from './rng';

export interface ScaledRun {
  /** Every event written, repeats included (at-least-once). */
  events: TcpReuseEvent[];
  /** What the client stage dropped as sent twice. */
  duplicatesDropped: number;
  /** Flow-stage and client-stage restarts from their last checkpoint. */
  restarts: number;
}

type ClientLogEntry = { kind: 'item'; from: string; seq: number; e: ClientFeedEvent } | { kind: 'mark'; from: string; ts: number; idle: boolean };

/**
 * The scaled consumer's dataflow without Kafka: packets split over `partitions` by address pair
 * (as `replay` keys them), a FlowStage per partition fed in random-sized chunks in a random
 * partition order (tasks on different instances run at their own pace), what they send the
 * client stage appended to one log (the clients topic's partition) that the client stage reads at
 * its own pace. With `faults`, tasks checkpoint now and then and die at random: a dead flow task
 * restarts from its checkpoint and processes its packets again from there (sending the client
 * stage again what it sent since), a dead client stage restarts from its checkpoint and reads
 * the log again from the position it covers.
 */
export function scaledAnalysis(
  packets: readonly PacketRecord[],
  partitions: number,
  seed: number,
  options: { flow?: FlowStageOptions; client?: ClientStageOptions; faults?: boolean } = {},
): ScaledRun {
  const r = rng(seed);
  const parts: PacketRecord[][] = Array.from({ length: partitions }, () => []);
  for (const p of packets) parts[partitionOf(addressPairKey(p), partitions)].push(p);
  const ids = parts.map((_, i) => `in/${i}`);
  const events: TcpReuseEvent[] = [];
  const keep = (e: { type: string }): void => {
    if (e.type !== 'watermark' && e.type !== 'flow.interleave') events.push(e as TcpReuseEvent);
  };
  const log: ClientLogEntry[] = [];
  const newFlowStage = (i: number): FlowStage => new FlowStage(options.flow ?? {}, keep, (seq, e) => log.push({ kind: 'item', from: ids[i], seq, e }));
  const stages = parts.map((_, i) => newFlowStage(i));
  const next = parts.map(() => 0);
  // Chunks small enough for a few dozen per partition: small captures get their share of faults too.
  const chunk = Math.max(4, Math.min(400, Math.floor(packets.length / partitions / 30)));
  const flowCheckpoints: ({ buf: Buffer; at: number } | null)[] = parts.map(() => null);
  let client = new ClientStage(options.client ?? {}, ids, keep);
  let read = 0;
  let clientCheckpoint: { buf: Buffer; at: number } | null = null;
  let restarts = 0;
  let dropped = 0;

  const readLog = (upTo: number): void => {
    for (; read < upTo; read++) {
      const x = log[read];
      if (x.kind === 'item') client.add(x.from, x.seq, x.e);
      else client.mark(x.from, x.ts, x.idle);
    }
    client.drain();
  };
  const restartClient = (): void => {
    dropped += client.merge.counters.duplicates;
    client = new ClientStage(options.client ?? {}, ids, keep);
    if (clientCheckpoint) client.restore(clientCheckpoint.buf);
    read = clientCheckpoint?.at ?? 0;
    restarts++;
  };

  for (;;) {
    const open = parts.map((p, i) => (next[i] < p.length ? i : -1)).filter((i) => i >= 0);
    if (open.length === 0) break;
    const i = open[r(open.length)];
    const end = Math.min(parts[i].length, next[i] + 1 + r(chunk));
    for (; next[i] < end; next[i]++) stages[i].push(parts[i][next[i]]);
    log.push({ kind: 'mark', from: ids[i], ts: stages[i].lowWatermark(), idle: next[i] === parts[i].length && stages[i].idleWhenCaughtUp() });
    if (options.faults) {
      if (r(4) === 0) flowCheckpoints[i] = { buf: stages[i].checkpoint(), at: next[i] };
      if (r(15) === 0) {
        // The task dies; its successor restores and reprocesses since the checkpoint.
        stages[i] = newFlowStage(i);
        const ck = flowCheckpoints[i];
        if (ck) stages[i].restore(ck.buf);
        next[i] = ck?.at ?? 0;
        restarts++;
      }
    }
    if (r(3) === 0) readLog(read + r(log.length - read + 1));
    if (options.faults) {
      if (r(5) === 0) clientCheckpoint = { buf: client.checkpoint(), at: read };
      if (r(20) === 0) restartClient();
    }
  }
  stages.forEach((s, i) => {
    s.flush();
    log.push({ kind: 'mark', from: ids[i], ts: s.lowWatermark(), idle: true });
  });
  if (options.faults) restartClient();
  readLog(log.length);
  client.flush();
  return { events, duplicatesDropped: dropped + client.merge.counters.duplicates, restarts };
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

/**
 * One legacy-Windows client (ports 1025..5000, +1 per connection) talking to many servers, so
 * its connections, and the port cycle they make, are spread over every partition; plus a client
 * hammering one server (port pressure) while the cycling client runs and a reuse inside TIME_WAIT.
 */
export function spreadClientScenario(connections: number): PacketRecord[] {
  const out: PacketRecord[] = [];
  let ts = 1_700_000_000_000_000;
  const conn = (client: string, sport: number, server: string, dport: number, isn: number, at: number): void => {
    const c = { src: client, dst: server, sport, dport, sensor: 'edge' };
    const s = { src: server, dst: client, sport: dport, dport: sport, sensor: 'edge' };
    const srvIsn = (isn * 7919) >>> 0;
    out.push({ ...c, ts: at, flags: 0x02, seq: isn, ack: 0, len: 0 });
    out.push({ ...s, ts: at + 300, flags: 0x12, seq: srvIsn, ack: isn + 1, len: 0 });
    out.push({ ...c, ts: at + 600, flags: 0x10, seq: isn + 1, ack: srvIsn + 1, len: 0 });
    out.push({ ...c, ts: at + 900, flags: 0x18, seq: isn + 1, ack: srvIsn + 1, len: 100 });
    out.push({ ...s, ts: at + 1500, flags: 0x18, seq: srvIsn + 1, ack: isn + 101, len: 500 });
    out.push({ ...c, ts: at + 1800, flags: 0x11, seq: isn + 101, ack: srvIsn + 501, len: 0 });
    out.push({ ...s, ts: at + 2100, flags: 0x11, seq: srvIsn + 501, ack: isn + 102, len: 0 });
    out.push({ ...c, ts: at + 2400, flags: 0x10, seq: isn + 102, ack: srvIsn + 502, len: 0 });
  };
  for (let i = 0; i < connections; i++) {
    ts += 40_000 + ((i * 7919) % 20_000);
    conn('10.9.0.7', 1025 + (i % 3976), `172.16.${(i * 13) % 40}.${1 + (i % 7)}`, 443, (i * 2654435761) >>> 0, ts);
  }
  // The pressure client: 500 connections a second to one server for 4 s.
  for (let i = 0; i < 2000; i++) conn('10.9.0.8', 33000 + i, '172.16.99.1', 8080, (i * 40503) >>> 0, 1_700_000_000_000_000 + 60_000_000 + i * 2000);
  // The same 4-tuple twice within TIME_WAIT.
  conn('10.9.0.9', 50000, '172.16.5.5', 22, 1111, ts + 1_000_000);
  conn('10.9.0.9', 50000, '172.16.5.5', 22, 999_999, ts + 4_000_000);
  return out.sort((a, b) => a.ts - b.ts);
}


/** Events written more than once (at-least-once after a restart) counted once. */
export function once(events: readonly TcpReuseEvent[]): TcpReuseEvent[] {
  const seen = new Set<string>();
  return events.filter((e) => {
    const k = JSON.stringify(e);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

export function expectEquivalent(scaled: readonly TcpReuseEvent[], one: readonly TcpReuseEvent[]): void {
  for (const types of [['port.reuse'], ['port.cycle'], ['port.pressure'], ['reuse.stats'], ['flow.open']]) {
    expect({ types, events: multiset(scaled, types) }).toEqual({ types, events: multiset(one, types) });
  }
  const closes = (events: readonly TcpReuseEvent[]): string[] => multiset(events, ['flow.close'], (e) => (e.type === 'flow.close' ? e.flowId : null));
  expect(closes(scaled)).toEqual(closes(one));
}


/** Packets as an Ethernet/IPv4 pcap file (for replaying a made-up scenario). */
export function pcapOfPackets(packets: readonly PacketRecord[]): Buffer {
  return pcapFile(packets.map((p) => ({ ts: p.ts, data: ethernet(0x0800, ipv4(6, tcpHeader({ sport: p.sport, dport: p.dport, flags: p.flags, seq: p.seq >>> 0, ack: p.ack >>> 0, payload: p.len }), p.src, p.dst)) })));
}
