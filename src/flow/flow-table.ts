/**
 * Column-oriented flow table: one row ("slot") per 4-tuple, fields in typed arrays, so a million
 * concurrent flows cost a few hundred bytes each and no per-flow objects churn the GC. Rows are
 * found through an open-addressing index on the tuple's hash; a row keeps references to the
 * address strings of its first packet, not a composed key string.
 *
 * Rows sit on one of several intrusive doubly-linked lists, each ordered by last packet time.
 * Every list has one timeout, so its head is always the next row to expire: expiry is O(expired),
 * with no timer per flow (the Suricata/Zeek approach), and the least recently seen row overall is
 * the oldest of the list heads.
 */
import { tupleHash } from './tuple-hash';
import { grown, type Column, type NamedColumn } from '../util/columns';
import { NO_ENTRY, TupleKeys } from './tuple-keys';

export const NIL = NO_ENTRY;

/** The lists a row can be on. */
export const List = {
  HALF_OPEN: 0,
  ESTABLISHED: 1,
  CLOSED: 2,
  /** No live flow: the row only remembers Wireshark's stream state for the 4-tuple. */
  MEMORY: 3,
} as const;
export const LIST_COUNT = 4;

export class FlowTable {
  capacity = 0;
  private rows = 0;

  /** Each row's canonical 4-tuple and its hash (the first half of every flowId on the row). */
  readonly keys: TupleKeys;
  // Row columns (see FlowTracker for what each field means).
  /** Bumped whenever a row is given to a new tuple, so a cached row number can be checked. */
  generation = new Uint32Array(0);
  stream = new Int32Array(0);
  wsFlags = new Uint8Array(0);
  // Sequence numbers are kept as int32 (the same 32 bits; compare with `seq | 0`): a uint32 load of
  // 2^31 or more does not fit the int32 the optimising compiler first assumes, and deoptimised the
  // tracker once per column early in every run.
  wsBase = new Int32Array(0); // 2 per row
  state = new Uint32Array(0);
  isn = new Int32Array(0); // 2 per row: client, server
  seqEnd = new Int32Array(0); // 2 per row, per canonical direction: seq after the latest segment
  firstTs = new Float64Array(0);
  lastTs = new Float64Array(0);
  openFrame = new Float64Array(0);
  packets = new Uint32Array(0); // 2 per row: c2s, s2c
  bytes = new Float64Array(0); // 2 per row: c2s, s2c
  // Zeek's history letters: two words of packed letters, their count, the once-per-direction
  // letters already written, and per side (client, server) what Zeek's letter rules look back on.
  history = new Float64Array(0);
  history2 = new Float64Array(0);
  historyLen = new Uint8Array(0);
  historySeen = new Uint32Array(0);
  highSeq = new Int32Array(0); // 2 per row, per side: Zeek's LastSeq, the highest sequence sent
  lastRstSeq = new Int32Array(0); // 2 per row, per side: the last RST's sequence number
  scaledCounts = new Uint16Array(0); // 4 per row: retransmissions and zero windows, per side
  zeek = new Uint16Array(0); // Zeek's endpoint states (zeek-state.ts)
  vlan = new Uint16Array(0);

  private prev = new Int32Array(0);
  private next = new Int32Array(0);
  list = new Uint8Array(0);
  private readonly heads = new Int32Array(LIST_COUNT).fill(NIL);
  private readonly tails = new Int32Array(LIST_COUNT).fill(NIL);
  readonly listSize = new Int32Array(LIST_COUNT);

  private freeRows: number[] = [];
  private used = 0;

  constructor(initialCapacity = 1024) {
    this.keys = new TupleKeys(initialCapacity);
    this.grow(initialCapacity);
  }

  get size(): number {
    return this.rows;
  }

  head(list: number): number {
    return this.heads[list];
  }

  /**
   * Every typed column a row's key and state live in (for checkpoints: these, the key strings
   * and the lists' order give back the same table).
   */
  valueColumns(): NamedColumn[] {
    const c = (name: string, values: Column, perRow = 1): NamedColumn => ({ name, values, perRow });
    return [
      c('ports', this.keys.ports, 2),
      c('hash', this.keys.hash),
      c('stream', this.stream),
      c('wsFlags', this.wsFlags),
      c('wsBase', this.wsBase, 2),
      c('state', this.state),
      c('isn', this.isn, 2),
      c('seqEnd', this.seqEnd, 2),
      c('firstTs', this.firstTs),
      c('lastTs', this.lastTs),
      c('openFrame', this.openFrame),
      c('packets', this.packets, 2),
      c('bytes', this.bytes, 2),
      c('history', this.history),
      c('history2', this.history2),
      c('historyLen', this.historyLen),
      c('historySeen', this.historySeen),
      c('highSeq', this.highSeq, 2),
      c('lastRstSeq', this.lastRstSeq, 2),
      c('scaledCounts', this.scaledCounts, 4),
      c('zeek', this.zeek),
      c('vlan', this.vlan),
    ];
  }

  /** Row numbers below it have been handed out (some may be free again). */
  get span(): number {
    return this.used;
  }

  /**
   * Restoring a checkpoint into this new, empty table: gives row `row` its tuple and puts it at
   * the tail of `list` (rows of a list in their order). `placed` ends it.
   */
  place(row: number, hash: number, sensor: string, ipA: string, portA: number, ipB: string, portB: number, list: number): void {
    if (row >= this.capacity || this.keys.sensor[row] !== undefined) throw new RangeError(`row ${row} cannot be placed`);
    this.keys.set(row, hash, sensor, ipA, portA, ipB, portB);
    this.generation[row]++;
    this.rows++;
    this.link(row, list);
  }

  /** Every row below `span` that was not placed is free. */
  placed(span: number): void {
    this.used = span;
    this.freeRows = [];
    for (let r = span - 1; r >= 0; r--) if (this.keys.sensor[r] === undefined) this.freeRows.push(r);
  }

  /** The rows of `list`, oldest first. */
  rowsOf(list: number): Int32Array {
    const out = new Int32Array(this.listSize[list]);
    let i = 0;
    for (let r = this.heads[list]; r !== NIL; r = this.next[r]) out[i++] = r;
    return out;
  }

  /** Allocates a row for a canonical tuple (`hash` from tupleHash, or computed), at the tail of `list`. */
  add(sensor: string, ipA: string, portA: number, ipB: string, portB: number, list: number, hash = tupleHash(sensor, ipA, portA, ipB, portB)): number {
    let row: number;
    if (this.freeRows.length > 0) row = this.freeRows.pop()!;
    else {
      if (this.used === this.capacity) this.grow(this.capacity * 2);
      row = this.used++;
    }
    this.keys.set(row, hash, sensor, ipA, portA, ipB, portB);
    this.generation[row]++;
    this.firstTs[row] = NaN; // no connection opened on this row yet: no flowId
    this.wsFlags[row] = 0;
    this.state[row] = 0;
    this.rows++;
    this.link(row, list);
    return row;
  }

  /** Removes the row entirely. */
  remove(row: number): void {
    this.unlink(row);
    this.keys.clear(row);
    this.rows--;
    this.generation[row]++;
    this.freeRows.push(row);
  }

  /** Marks the row as just seen: moves it to the tail of `list`. */
  touch(row: number, list: number): void {
    if (this.next[row] === NIL && this.list[row] === list) return; // already the newest there
    this.unlink(row);
    this.link(row, list);
  }

  private link(row: number, list: number): void {
    const tail = this.tails[list];
    this.prev[row] = tail;
    this.next[row] = NIL;
    if (tail === NIL) this.heads[list] = row;
    else this.next[tail] = row;
    this.tails[list] = row;
    this.list[row] = list;
    this.listSize[list]++;
  }

  private unlink(row: number): void {
    const list = this.list[row];
    const p = this.prev[row];
    const n = this.next[row];
    if (p === NIL) this.heads[list] = n;
    else this.next[p] = n;
    if (n === NIL) this.tails[list] = p;
    else this.prev[n] = p;
    this.listSize[list]--;
  }

  private grow(cap: number): void {
    const g = <T extends Column>(a: T, per = 1): T => grown(a, cap * per);
    this.keys.grow(cap);
    this.generation = g(this.generation);
    this.stream = g(this.stream);
    this.wsFlags = g(this.wsFlags);
    this.wsBase = g(this.wsBase, 2);
    this.state = g(this.state);
    this.isn = g(this.isn, 2);
    this.seqEnd = g(this.seqEnd, 2);
    this.firstTs = g(this.firstTs);
    this.lastTs = g(this.lastTs);
    this.openFrame = g(this.openFrame);
    this.packets = g(this.packets, 2);
    this.bytes = g(this.bytes, 2);
    this.history = g(this.history);
    this.history2 = g(this.history2);
    this.historyLen = g(this.historyLen);
    this.historySeen = g(this.historySeen);
    this.highSeq = g(this.highSeq, 2);
    this.lastRstSeq = g(this.lastRstSeq, 2);
    this.scaledCounts = g(this.scaledCounts, 4);
    this.zeek = g(this.zeek);
    this.vlan = g(this.vlan);
    this.prev = g(this.prev);
    this.next = g(this.next);
    this.list = g(this.list);
    this.capacity = cap;
  }
}
