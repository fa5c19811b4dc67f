import { endpointFirst, tupleHash } from '../flow/tuple-hash';
import { NO_ENTRY, TupleKeys } from '../flow/tuple-keys';
import type { ClosedBy, Endpoint, Side } from '../model/events';
import { grown, RecencyList, type Column, type NamedColumn } from '../util/columns';

/**
 * What `detectPortReuse` remembers of the last connection per 4-tuple: a column store keyed by
 * TupleKeys (no per-entry object, no key string).
 *
 * Entries sit on one list ordered by the time they were last written (≈ end time), so expiry and
 * eviction of the oldest are O(1) each.
 */
export const CLOSED_BY: readonly ClosedBy[] = ['fin', 'rst', 'idle', 'reused', 'evicted', 'eof'];
const SIDES: readonly (Side | null)[] = [null, 'client', 'server'];
export const NIL = NO_ENTRY;

export class TupleMemory {
  readonly keys: TupleKeys;
  // Entry columns.
  flowId: (string | undefined)[] = [];
  stream = new Float64Array(0);
  startTs = new Float64Array(0);
  endTs = new Float64Array(0);
  vlan = new Int32Array(0); // -1: none
  /** CLOSED_BY index | activeCloser (SIDES index) << 3 | startSeen << 5 */
  how = new Uint8Array(0);

  private readonly recency = new RecencyList(0);
  // The canonical tuple `find` looked up last: `write` after a miss inserts it without hashing again.
  private lastSensor = '';
  private lastA: Endpoint = { ip: '', port: 0 };
  private lastB: Endpoint = { ip: '', port: 0 };
  private lastHash = 0;
  private free: number[] = [];
  private used = 0;
  private capacity = 0;
  private count = 0;

  constructor(initialCapacity = 1024) {
    this.keys = new TupleKeys(initialCapacity);
    this.growEntries(initialCapacity);
  }

  get size(): number {
    return this.count;
  }

  /** Every typed column an entry's values live in besides its key strings and flowId (for checkpoints). */
  valueColumns(): NamedColumn[] {
    const c = (name: string, values: Column, perRow = 1): NamedColumn => ({ name, values, perRow });
    return [
      c('ports', this.keys.ports, 2),
      c('hash', this.keys.hash),
      c('stream', this.stream),
      c('startTs', this.startTs),
      c('endTs', this.endTs),
      c('vlan', this.vlan),
      c('how', this.how),
    ];
  }

  /** The entries, least recently written first. */
  entriesOldestFirst(): Int32Array {
    const out = new Int32Array(this.count);
    let i = 0;
    for (let e = this.recency.oldest; e !== NIL; e = this.recency.newerThan(e)) out[i++] = e;
    return out;
  }

  /** Entry numbers below it have been handed out (some may be free again). */
  get span(): number {
    return this.used;
  }

  /**
   * Restoring a checkpoint into this new, empty memory: gives entry `e` its canonical tuple and
   * flowId, as the newest entry. `placed` ends it.
   */
  place(e: number, hash: number, sensor: string, ipA: string, portA: number, ipB: string, portB: number, flowId: string): void {
    if (e >= this.capacity || this.keys.sensor[e] !== undefined) throw new RangeError(`entry ${e} cannot be placed`);
    this.keys.set(e, hash, sensor, ipA, portA, ipB, portB);
    this.recency.append(e);
    this.flowId[e] = flowId;
    this.count++;
  }

  /** Every entry below `span` that was not placed is free. */
  placed(span: number): void {
    this.used = span;
    this.free = [];
    for (let e = span - 1; e >= 0; e--) if (this.keys.sensor[e] === undefined) this.free.push(e);
  }

  /** The least recently written entry, NIL if empty. */
  oldest(): number {
    return this.recency.oldest;
  }

  closedBy(e: number): ClosedBy {
    return CLOSED_BY[this.how[e] & 7];
  }

  activeCloser(e: number): Side | null {
    return SIDES[(this.how[e] >> 3) & 3];
  }

  startSeen(e: number): boolean {
    return (this.how[e] & 32) !== 0;
  }

  /** The entry remembering this tuple, or NIL. */
  find(sensor: string, client: Endpoint, server: Endpoint): number {
    const aIsClient = endpointFirst(client.ip, client.port, server.ip, server.port);
    const a = aIsClient ? client : server;
    const b = aIsClient ? server : client;
    this.lastSensor = sensor;
    this.lastA = a;
    this.lastB = b;
    this.lastHash = tupleHash(sensor, a.ip, a.port, b.ip, b.port);
    return this.keys.find(this.lastHash, sensor, a.ip, a.port, b.ip, b.port);
  }

  /**
   * Remembers a connection as the newest entry: in entry `e`, what `find` just returned for its
   * tuple, or, when that was NIL, in a new entry for the tuple `find` looked up.
   */
  write(
    e: number,
    flowId: string,
    stream: number,
    startTs: number,
    endTs: number,
    closedBy: ClosedBy,
    activeCloser: Side | null,
    startSeen: boolean,
    vlan: number | null,
  ): void {
    if (e === NIL) {
      e = this.insertLastFound();
      this.recency.append(e);
    } else this.recency.touch(e);
    this.flowId[e] = flowId;
    this.stream[e] = stream;
    this.startTs[e] = startTs;
    this.endTs[e] = endTs;
    this.vlan[e] = vlan ?? -1;
    this.how[e] = CLOSED_BY.indexOf(closedBy) | (SIDES.indexOf(activeCloser) << 3) | (startSeen ? 32 : 0);
  }

  remove(e: number): void {
    this.recency.remove(e);
    this.keys.clear(e);
    this.flowId[e] = undefined;
    this.free.push(e);
    this.count--;
  }

  private insertLastFound(): number {
    let e: number;
    if (this.free.length > 0) e = this.free.pop()!;
    else {
      if (this.used === this.capacity) this.growEntries(this.capacity * 2);
      e = this.used++;
    }
    const a = this.lastA;
    const b = this.lastB;
    this.keys.set(e, this.lastHash, this.lastSensor, a.ip, a.port, b.ip, b.port);
    this.count++;
    return e;
  }

  private growEntries(cap: number): void {
    this.stream = grown(this.stream, cap);
    this.startTs = grown(this.startTs, cap);
    this.endTs = grown(this.endTs, cap);
    this.vlan = grown(this.vlan, cap);
    this.how = grown(this.how, cap);
    this.recency.grow(cap);
    this.keys.grow(cap);
    this.capacity = cap;
  }
}
