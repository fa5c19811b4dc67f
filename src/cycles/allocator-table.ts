import { EMPTY, OpenIndex } from '../util/open-index';
import { mix32 } from '../flow/tuple-hash';
import { grown, NIL, RecencyList, type Column, type NamedColumn } from '../util/columns';
import { FNV_SEPARATOR, fnvInt, fnvText } from '../util/fnv';

export const NO_ALLOCATOR = NIL;

/** Sentinel for "no pressure reported yet" in `lastPressure` (otherwise a severity rank 0..3). */
export const NO_PRESSURE = -1;

/**
 * PortCycleDetector's allocators as a column-store table: one entry per client (sensor, address)
 * or per client toward one server (sensor, address, server address, server port), found through
 * an open-addressing index and kept in least-recently-active order by a linked list, so that at
 * `maxEntries` the one dropped is exactly the idlest.
 *
 * Why not a Map of objects keyed by "sensor|ip|…" text: on a sensor that sees hundreds of
 * thousands of clients, building and hashing that key per connection, an object (and an array)
 * per client and the churn of a full table were a tenth of the Kafka consumer's time.
 */
export class AllocatorTable {
  firstTs: Float64Array = new Float64Array(0);
  lastTs: Float64Array = new Float64Array(0);
  lastPort: Int32Array = new Int32Array(0);
  connections: Float64Array = new Float64Array(0);
  sequentialSteps: Float64Array = new Float64Array(0);
  minPort: Int32Array = new Int32Array(0);
  maxPort: Int32Array = new Int32Array(0);
  /** Ports advanced since the first connection, counting across wraps. */
  advanced: Float64Array = new Float64Array(0);
  wraps: Float64Array = new Float64Array(0);
  /** Rank of the last pressure severity reported (NO_PRESSURE when none is current). */
  lastPressure: Int8Array = new Int8Array(0);
  lastPressureTs: Float64Array = new Float64Array(0);
  /**
   * Connection timestamps (oldest first) inside the rate window, those before `recentHead` have
   * left it. Made at an entry's second connection: most clients toward a server connect once.
   */
  recent: (number[] | undefined)[] = [];
  recentHead: Int32Array = new Int32Array(0);

  private sensor: string[] = [];
  private client: string[] = [];
  private serverIp: string[] = [];
  private serverPort: Int32Array = new Int32Array(0);
  private readonly recency: RecencyList;
  private used = 0;
  private capacity = 0;
  private readonly index: OpenIndex;

  constructor(
    private readonly maxEntries: number,
    private readonly onDrop: () => void,
  ) {
    const initial = Math.min(maxEntries, 1024);
    this.index = new OpenIndex(initial);
    this.recency = new RecencyList(0);
    this.grow(initial);
  }

  get size(): number {
    return this.used;
  }

  /** The entries, least recently active first (for checkpoints). */
  entriesOldestFirst(): Int32Array {
    const out = new Int32Array(this.used);
    let i = 0;
    for (let e = this.recency.oldest; e !== NIL; e = this.recency.newerThan(e)) out[i++] = e;
    return out;
  }

  /** An entry's key: sensor, client, server address ('' for a client-wide allocator) and port. */
  keyOf(e: number): [string, string, string, number] {
    return [this.sensor[e], this.client[e], this.serverIp[e], this.serverPort[e]];
  }

  /** Every typed column of an entry's values (for checkpoints; `recent` is not one). */
  valueColumns(): NamedColumn[] {
    const c = (name: string, values: Column): NamedColumn => ({ name, values, perRow: 1 });
    return [
      c('firstTs', this.firstTs),
      c('lastTs', this.lastTs),
      c('lastPort', this.lastPort),
      c('connections', this.connections),
      c('sequentialSteps', this.sequentialSteps),
      c('minPort', this.minPort),
      c('maxPort', this.maxPort),
      c('advanced', this.advanced),
      c('wraps', this.wraps),
      c('lastPressure', this.lastPressure),
      c('lastPressureTs', this.lastPressureTs),
      c('recentHead', this.recentHead),
    ];
  }

  /**
   * The entry for this allocator, marked most recently active, or NO_ALLOCATOR when there is
   * none yet (then `add` makes it). `serverIp` is '' for a client-wide allocator.
   */
  touch(hash: number, sensor: string, client: string, serverIp: string, serverPort: number): number {
    const slots = this.index.slots;
    const mask = this.index.mask;
    let e: number;
    for (let s = this.index.home(hash); (e = slots[s]) !== EMPTY; s = (s + 2) & mask) {
      if (slots[s + 1] === hash && this.serverPort[e] === serverPort && this.client[e] === client && this.serverIp[e] === serverIp && this.sensor[e] === sensor) {
        this.recency.touch(e);
        return e;
      }
    }
    return NO_ALLOCATOR;
  }

  /** A new entry for an allocator `touch` did not find, dropping the idlest when the table is full. Its value columns are the caller's to set. */
  add(hash: number, sensor: string, client: string, serverIp: string, serverPort: number): number {
    let e: number;
    if (this.used >= this.maxEntries) {
      e = this.recency.oldest;
      this.recency.remove(e);
      this.index.remove(e);
      this.onDrop();
    } else {
      if (this.used === this.capacity) this.grow(Math.min(this.maxEntries, this.capacity * 2));
      e = this.used++;
    }
    this.sensor[e] = sensor;
    this.client[e] = client;
    this.serverIp[e] = serverIp;
    this.serverPort[e] = serverPort;
    this.recent[e] = undefined;
    this.recentHead[e] = 0;
    this.lastPressure[e] = NO_PRESSURE;
    this.index.insert(e, hash);
    this.recency.append(e);
    return e;
  }

  private grow(capacity: number): void {
    this.firstTs = grown(this.firstTs, capacity);
    this.lastTs = grown(this.lastTs, capacity);
    this.lastPort = grown(this.lastPort, capacity);
    this.connections = grown(this.connections, capacity);
    this.sequentialSteps = grown(this.sequentialSteps, capacity);
    this.minPort = grown(this.minPort, capacity);
    this.maxPort = grown(this.maxPort, capacity);
    this.advanced = grown(this.advanced, capacity);
    this.wraps = grown(this.wraps, capacity);
    this.lastPressure = grown(this.lastPressure, capacity);
    this.lastPressureTs = grown(this.lastPressureTs, capacity);
    this.recentHead = grown(this.recentHead, capacity);
    this.serverPort = grown(this.serverPort, capacity);
    this.recency.grow(capacity);
    this.index.growEntries(capacity);
    this.capacity = capacity;
  }
}

/** Hash of an allocator's key from fnvClientKey's state and the server (no key text is built); serverIp '' for a client-wide one. */
export function allocatorHash(seed: number, serverIp: string, serverPort: number): number {
  return mix32(fnvInt(fnvText(fnvInt(seed, FNV_SEPARATOR), serverIp), serverPort));
}
