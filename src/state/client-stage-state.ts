/**
 * Checkpoints of the client stage (one partition of the clients topic): the event-time merge of
 * what the flow stages sent (items not yet released, sequence numbers, marks), the port-cycle
 * allocators (per client and per client/server pair, in least-recently-active order) and the open
 * statistics windows.
 */
import { AllocatorTable, allocatorHash } from '../cycles/allocator-table';
import type { PortCycleDetector } from '../cycles/port-cycle-detector';
import type { ClientFeedEvent } from '../stages/client-stage';
import type { MergeCounters, MergeState, UpstreamMerge, UpstreamState } from '../stages/upstream-merge';
import { ClientCountTable, COUNT_SLOTS } from '../stats/client-counts';
import type { ReuseStatsState, ReuseStatsWindows } from '../stats/reuse-stats-window';
import { fnvClientKey } from '../util/fnv';
import { StateFormatError, StateReader, StateWriter } from './state-codec';

export const CLIENT_STAGE_KIND = 'client-stage';

// String slots (see StateWriter.ref).
const SENSOR = 0;
const CLIENT = 1;
const SERVER = 2;
const UPSTREAM = 3;

export interface ClientStageState {
  readonly merge: MergeState<ClientFeedEvent>;
  readonly cycles: ReturnType<PortCycleDetector['checkpointState']>;
  readonly stats: ReuseStatsState;
}

export function writeClientStageState(merge: UpstreamMerge<ClientFeedEvent>, cycles: PortCycleDetector, stats: ReuseStatsWindows): Buffer {
  const w = new StateWriter(CLIENT_STAGE_KIND);
  const m = merge.checkpointState();
  w.varint(m.upstreams.length);
  for (const u of m.upstreams) {
    w.ref(u.id, UPSTREAM);
    w.varint(u.lastSeq + 1);
    w.f64(u.mark);
    w.u8((u.idle ? 1 : 0) | (u.final ? 2 : 0));
    w.json(u.pending);
  }
  w.f64(m.released);
  w.json(m.counters);

  const c = cycles.checkpointState();
  writeAllocators(w, c.perClient);
  writeAllocators(w, c.perPair);
  w.json(c.counters);

  const s = stats.checkpointState();
  w.varint(s.windows.size);
  for (const [start, table] of s.windows) {
    w.f64(start);
    w.varint(table.size);
    for (let row = 0; row < table.size; row++) {
      w.ref(table.sensor[row], SENSOR);
      w.ref(table.client[row], CLIENT);
    }
    w.columns([{ name: 'counts', values: table.counts, perRow: COUNT_SLOTS }], table.size);
  }
  w.varint(s.sizeHint);
  w.f64(s.now);
  return w.finish();
}

/** Reads a client-stage checkpoint into tables made by `cycles` (its size limits); StateFormatError if it is not one. */
export function readClientStageState(buf: Buffer, cycles: PortCycleDetector): ClientStageState {
  const r = new StateReader(buf, CLIENT_STAGE_KIND);
  const upstreams: UpstreamState<ClientFeedEvent>[] = [];
  const n = r.varint();
  for (let i = 0; i < n; i++) {
    const id = r.ref(UPSTREAM);
    const lastSeq = r.varint() - 1;
    const mark = r.f64();
    const flags = r.u8();
    upstreams.push({ id, lastSeq, mark, idle: (flags & 1) !== 0, final: (flags & 2) !== 0, pending: r.json<ClientFeedEvent[]>() });
  }
  const released = r.f64();
  const merge = { upstreams, released, counters: r.json<MergeCounters>() };

  const perClient = readAllocators(r, cycles.newTable());
  const perPair = readAllocators(r, cycles.newTable());
  const cycleState = { perClient, perPair, counters: r.json<ReturnType<PortCycleDetector['checkpointState']>['counters']>() };

  const windows = new Map<number, ClientCountTable>();
  const count = r.varint();
  for (let i = 0; i < count; i++) {
    const start = r.f64();
    const size = r.varint();
    const table = new ClientCountTable(Math.max(16, size));
    for (let row = 0; row < size; row++) {
      if (table.row(r.ref(SENSOR), r.ref(CLIENT)) !== row) throw new StateFormatError('a statistics window lists a client twice');
    }
    r.columns([{ name: 'counts', values: table.counts, perRow: COUNT_SLOTS }], size);
    windows.set(start, table);
  }
  const sizeHint = r.varint();
  const now = r.f64();
  r.end();
  return { merge, cycles: cycleState, stats: { windows, sizeHint, now } };
}

function writeAllocators(w: StateWriter, t: AllocatorTable): void {
  const order = t.entriesOldestFirst();
  w.varint(order.length);
  for (const e of order) {
    const [sensor, client, serverIp, serverPort] = t.keyOf(e);
    w.ref(sensor, SENSOR);
    w.ref(client, CLIENT);
    w.ref(serverIp, SERVER);
    w.varint(serverPort);
    const recent = t.recent[e];
    w.varint(recent ? recent.length + 1 : 0);
    if (recent) for (const ts of recent) w.f64(ts);
  }
  w.gatheredColumns(t.valueColumns(), order);
}

function readAllocators(r: StateReader, t: AllocatorTable): AllocatorTable {
  const n = r.varint();
  const recent: (number[] | undefined)[] = [];
  for (let i = 0; i < n; i++) {
    const sensor = r.ref(SENSOR);
    const client = r.ref(CLIENT);
    const serverIp = r.ref(SERVER);
    const serverPort = r.varint();
    const e = t.add(allocatorHash(fnvClientKey(sensor, client), serverIp, serverPort), sensor, client, serverIp, serverPort);
    if (e !== i) throw new StateFormatError('more allocators in the checkpoint than the table holds');
    const len = r.varint();
    if (len === 0) recent.push(undefined);
    else {
      const ts: number[] = [];
      for (let k = 1; k < len; k++) ts.push(r.f64());
      recent.push(ts);
    }
  }
  r.columns(t.valueColumns(), n);
  recent.forEach((ts, e) => (t.recent[e] = ts));
  return t;
}
