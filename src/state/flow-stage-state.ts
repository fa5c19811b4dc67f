/**
 * Checkpoints of the flow stage (FlowTracker + ReuseDetector of one input partition): the flow
 * table and the reuse memory as their columns lie in memory, the order of each list, the key
 * strings, and the few small maps and clocks beside them. Restoring one into a fresh stage and
 * feeding it the rest of the input gives exactly the events the original would have given
 * (test/state-checkpoint.test.ts holds that at every cut point of the fixtures and random traces).
 *
 * Columns go out whole, entries at the row numbers they have: no gather on write and no scatter on
 * restore, only the key strings and the list links are per entry.
 */
import { flowIdFromHash } from '../flow/flow-id';
import { FlowTable, LIST_COUNT } from '../flow/flow-table';
import type { FlowTracker, Replaced, TrackerCounters, TrackerState } from '../flow/flow-tracker';
import type { DetectorState, HeldReuse, ReuseCounters, ReuseDetector } from '../reuse/reuse-detector';
import { TupleMemory } from '../reuse/tuple-memory';
import { StateFormatError, StateReader, StateWriter } from './state-codec';

export const FLOW_STAGE_KIND = 'flow-stage';

// String slots (see StateWriter.ref).
const SENSOR = 0;
const IP_A = 1;
const IP_B = 2;

export interface FlowStageState {
  readonly tracker: TrackerState;
  readonly detector: DetectorState;
  /** Sequence number of the next event sent to the client stage. */
  readonly feedSeq: number;
}

/** The flow stage's state as bytes. Take it between two packets (not from inside an event handler). */
export function writeFlowStageState(tracker: FlowTracker, detector: ReuseDetector, feedSeq: number): Buffer {
  const w = new StateWriter(FLOW_STAGE_KIND);
  writeTracker(w, tracker.checkpointState());
  writeDetector(w, detector.checkpointState());
  w.varint(feedSeq);
  return w.finish();
}

/** Reads a flow-stage checkpoint; throws StateFormatError if it is not one this build wrote. */
export function readFlowStageState(buf: Buffer): FlowStageState {
  const r = new StateReader(buf, FLOW_STAGE_KIND);
  const tracker = readTracker(r);
  const detector = readDetector(r);
  const feedSeq = r.varint();
  r.end();
  return { tracker, detector, feedSeq };
}

function writeTracker(w: StateWriter, s: TrackerState): void {
  const t = s.table;
  const span = t.span;
  w.varint(span);
  w.columns(t.valueColumns(), span);
  const lists: Int32Array[] = [];
  for (let l = 0; l < LIST_COUNT; l++) lists.push(t.rowsOf(l));
  for (const rows of lists) {
    w.varint(rows.length);
    w.int32s(rows);
  }
  const k = t.keys;
  for (const rows of lists) {
    for (const r of rows) {
      w.ref(k.sensor[r]!, SENSOR);
      w.ref(k.ipA[r]!, IP_A);
      w.ref(k.ipB[r]!, IP_B);
    }
  }
  w.varint(s.replaced.size);
  for (const [row, old] of s.replaced) {
    w.varint(row);
    w.text(old.flowId);
    w.text(old.by);
    w.i32(old.seqEnd[0]);
    w.i32(old.seqEnd[1]);
    w.u8(old.known >>> 24); // S_SEQ_A | S_SEQ_B, bits 24-25
    w.u8(old.told ? 1 : 0);
  }
  w.varint(s.nextStream.size);
  for (const [sensor, n] of s.nextStream) {
    w.ref(sensor, SENSOR);
    w.varint(n);
  }
  w.f64(s.now);
  w.f64(s.lastWatermark);
  w.json(s.counters);
}

function readTracker(r: StateReader): TrackerState {
  const span = r.varint();
  const table = new FlowTable(Math.max(1024, nextPow2(span)));
  r.columns(table.valueColumns(), span);
  const lists: Int32Array[] = [];
  for (let l = 0; l < LIST_COUNT; l++) lists.push(r.int32s(r.varint()));
  const k = table.keys;
  lists.forEach((rows, list) => {
    for (const row of rows) {
      if (!(row >= 0 && row < span) || k.sensor[row] !== undefined) throw new StateFormatError(`flow table row ${row} outside the checkpoint's ${span} or listed twice`);
      table.place(row, k.hash[row], r.ref(SENSOR), r.ref(IP_A), k.ports[2 * row], r.ref(IP_B), k.ports[2 * row + 1], list);
    }
  });
  table.placed(span);

  const replaced = new Map<number, Replaced>();
  const replacedCount = r.varint();
  for (let i = 0; i < replacedCount; i++) {
    const row = r.varint();
    if (!(row < span && k.sensor[row] !== undefined)) throw new StateFormatError('a replaced connection refers to a row the checkpoint does not have');
    const flowId = r.text();
    const by = r.text();
    const seqEnd: [number, number] = [r.i32(), r.i32()];
    const known = (r.u8() << 24) >>> 0;
    replaced.set(row, { flowId, by, seqEnd, known, told: r.u8() === 1 });
  }
  const nextStream = new Map<string, number>();
  const sensors = r.varint();
  for (let i = 0; i < sensors; i++) nextStream.set(r.ref(SENSOR), r.varint());
  const now = r.f64();
  const lastWatermark = r.f64();
  const counters = r.json<TrackerCounters>();
  return { table, nextStream, replaced, now, lastWatermark, counters };
}

function writeDetector(w: StateWriter, s: DetectorState): void {
  const m = s.memory;
  const span = m.span;
  w.varint(span);
  w.columns(m.valueColumns(), span);
  const entries = m.entriesOldestFirst();
  w.varint(entries.length);
  w.int32s(entries);
  const k = m.keys;
  for (const e of entries) {
    w.ref(k.sensor[e]!, SENSOR);
    w.ref(k.ipA[e]!, IP_A);
    w.ref(k.ipB[e]!, IP_B);
    // A flowId is its tuple's hash and its start time: one byte when it is (always, from the tracker).
    const id = m.flowId[e]!;
    if (id === flowIdFromHash(k.hash[e], m.startTs[e])) w.u8(0);
    else {
      w.u8(1);
      w.text(id);
    }
  }
  w.json([...s.held]);
  w.f64(s.now);
  w.json(s.counters);
}

function readDetector(r: StateReader): DetectorState {
  const span = r.varint();
  const memory = new TupleMemory(Math.max(1024, nextPow2(span)));
  r.columns(memory.valueColumns(), span);
  const entries = r.int32s(r.varint());
  const k = memory.keys;
  for (const e of entries) {
    if (!(e >= 0 && e < span) || k.sensor[e] !== undefined) throw new StateFormatError(`reuse memory entry ${e} outside the checkpoint's ${span} or listed twice`);
    const sensor = r.ref(SENSOR);
    const ipA = r.ref(IP_A);
    const ipB = r.ref(IP_B);
    const id = r.u8() === 0 ? flowIdFromHash(k.hash[e], memory.startTs[e]) : r.text();
    memory.place(e, k.hash[e], sensor, ipA, k.ports[2 * e], ipB, k.ports[2 * e + 1], id);
  }
  memory.placed(span);
  const held = new Map<string, HeldReuse>(r.json<[string, HeldReuse][]>());
  const now = r.f64();
  const counters = r.json<ReuseCounters>();
  return { memory, held, now, counters };
}

function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}
