import { endpointFirst, mix32, tupleHash } from '../flow/tuple-hash';
import type { ClosedBy, Endpoint, Side } from '../model/events';
import { EMPTY, OpenIndex } from '../util/open-index';

/**
 * What `detectPortReuse` remembers of the last connection per 4-tuple, as a column store with an
 * open-addressing hash index. A Map keyed by a "sensor|ip|port|ip|port" string, with an object
 * per entry, cost as much as tracking the connection itself; here the hash comes straight from
 * the event's fields and an entry is a row of typed arrays plus string references the events
 * already hold.
 *
 * Entries sit on one list ordered by the time they were last written (≈ end time), so expiry and
 * eviction of the oldest are O(1) each.
 */
export const CLOSED_BY: readonly ClosedBy[] = ['fin', 'rst', 'idle', 'reused', 'evicted', 'eof'];
const SIDES: readonly (Side | null)[] = [null, 'client', 'server'];
export const NIL = -1;

export class TupleMemory {
  // Entry columns. The tuple is stored canonically: endpoint A is the lower (ip, then port).
  sensor: (string | undefined)[] = [];
  ipA: (string | undefined)[] = [];
  ipB: (string | undefined)[] = [];
  portA = new Uint16Array(0);
  portB = new Uint16Array(0);
  hash = new Int32Array(0);
  flowId: (string | undefined)[] = [];
  stream = new Float64Array(0);
  startTs = new Float64Array(0);
  endTs = new Float64Array(0);
  vlan = new Int32Array(0); // -1: none
  /** CLOSED_BY index | activeCloser (SIDES index) << 3 | startSeen << 5 */
  how = new Uint8Array(0);

  private prev = new Int32Array(0);
  private next = new Int32Array(0);
  private readonly index: OpenIndex;
  private head = NIL;
  // The hash `find` computed last, and for which arguments: `write` right after a missed `find`
  // (the usual order) inserts without hashing the tuple again.
  private lastSensor = '';
  private lastClient: Endpoint | null = null;
  private lastServer: Endpoint | null = null;
  private lastHash = 0;
  private tail = NIL;
  private free: number[] = [];
  private used = 0;
  private capacity = 0;
  private count = 0;

  constructor(initialCapacity = 1024) {
    this.index = new OpenIndex(initialCapacity);
    this.growEntries(initialCapacity);
  }

  get size(): number {
    return this.count;
  }

  /** The least recently written entry, NIL if empty. */
  oldest(): number {
    return this.head;
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
    const h = tupleHash(sensor, a.ip, a.port, b.ip, b.port) | 0;
    this.lastSensor = sensor;
    this.lastClient = client;
    this.lastServer = server;
    this.lastHash = h;
    const index = this.index;
    const slots = index.slots;
    let e: number;
    for (let s = index.home(mix32(h)); (e = slots[s]) !== EMPTY; s = (s + 1) & index.mask) {
      if (
        this.hash[e] === h &&
        this.portA[e] === a.port &&
        this.portB[e] === b.port &&
        this.ipA[e] === a.ip &&
        this.ipB[e] === b.ip &&
        this.sensor[e] === sensor
      ) {
        return e;
      }
    }
    return NIL;
  }

  /**
   * Remembers a connection on this tuple as the newest entry: in entry `e` (what `find` gave for
   * the tuple), or in a new entry when `e` is NIL.
   */
  write(
    e: number,
    sensor: string,
    client: Endpoint,
    server: Endpoint,
    flowId: string,
    stream: number,
    startTs: number,
    endTs: number,
    closedBy: ClosedBy,
    activeCloser: Side | null,
    startSeen: boolean,
    vlan: number | null,
  ): void {
    if (e === NIL) e = this.insert(sensor, client, server);
    else this.unlink(e);
    this.link(e);
    this.flowId[e] = flowId;
    this.stream[e] = stream;
    this.startTs[e] = startTs;
    this.endTs[e] = endTs;
    this.vlan[e] = vlan ?? -1;
    this.how[e] = CLOSED_BY.indexOf(closedBy) | (SIDES.indexOf(activeCloser) << 3) | (startSeen ? 32 : 0);
  }

  remove(e: number): void {
    this.unlink(e);
    this.index.remove(e);
    this.sensor[e] = this.ipA[e] = this.ipB[e] = this.flowId[e] = undefined;
    this.free.push(e);
    this.count--;
  }

  private insert(sensor: string, client: Endpoint, server: Endpoint): number {
    let e: number;
    if (this.free.length > 0) e = this.free.pop()!;
    else {
      if (this.used === this.capacity) this.growEntries(this.capacity * 2);
      e = this.used++;
    }
    const aIsClient = endpointFirst(client.ip, client.port, server.ip, server.port);
    const a = aIsClient ? client : server;
    const b = aIsClient ? server : client;
    this.sensor[e] = sensor;
    this.ipA[e] = a.ip;
    this.ipB[e] = b.ip;
    this.portA[e] = a.port;
    this.portB[e] = b.port;
    const known = client === this.lastClient && server === this.lastServer && sensor === this.lastSensor;
    this.hash[e] = known ? this.lastHash : tupleHash(sensor, a.ip, a.port, b.ip, b.port) | 0;
    this.index.insert(e, mix32(this.hash[e]));
    this.count++;
    return e;
  }

  private link(e: number): void {
    this.prev[e] = this.tail;
    this.next[e] = NIL;
    if (this.tail === NIL) this.head = e;
    else this.next[this.tail] = e;
    this.tail = e;
  }

  private unlink(e: number): void {
    const p = this.prev[e];
    const n = this.next[e];
    if (p === NIL) this.head = n;
    else this.next[p] = n;
    if (n === NIL) this.tail = p;
    else this.prev[n] = p;
  }

  private growEntries(cap: number): void {
    const g = <T extends Float64Array | Int32Array | Uint16Array | Uint8Array>(a: T): T => {
      const b = new (a.constructor as new (n: number) => T)(cap);
      b.set(a);
      return b;
    };
    this.portA = g(this.portA);
    this.portB = g(this.portB);
    this.hash = g(this.hash);
    this.stream = g(this.stream);
    this.startTs = g(this.startTs);
    this.endTs = g(this.endTs);
    this.vlan = g(this.vlan);
    this.how = g(this.how);
    this.prev = g(this.prev);
    this.next = g(this.next);
    this.index.growEntries(cap);
    this.capacity = cap;
  }
}
