import { grown } from '../util/columns';
import { EMPTY, OpenIndex } from '../util/open-index';
import { mix32 } from './tuple-hash';

export const NO_ENTRY = -1;

/**
 * The key half of a column-store table of 4-tuples (the flow table's rows, the reuse detector's
 * remembered connections): per entry the canonical tuple (endpoint A is the lower address, then
 * port) and its `tupleHash`, found through an open-addressing index. The owner allocates entry
 * numbers and keeps its own value columns beside these.
 *
 * A Map keyed by a composed "sensor|ip|port|ip|port" string would build, flatten and hash that
 * string on every lookup and keep it alive per entry; here the hash comes from the fields and an
 * entry holds references to address strings its events already carry.
 */
export class TupleKeys {
  sensor: (string | undefined)[] = [];
  ipA: (string | undefined)[] = [];
  ipB: (string | undefined)[] = [];
  ports = new Uint16Array(0); // 2 per entry: A's, B's
  /** tupleHash of the entry's tuple (the first half of a flowId). */
  hash = new Uint32Array(0);
  private readonly index: OpenIndex;

  constructor(capacity: number) {
    this.index = new OpenIndex(capacity);
    this.grow(capacity);
  }

  /** The entry holding this canonical tuple (`hash` its tupleHash), or NO_ENTRY. */
  find(hash: number, sensor: string, ipA: string, portA: number, ipB: string, portB: number): number {
    const index = this.index;
    const slots = index.slots;
    const h = mix32(hash); // a bijection: equal slot hashes mean equal tuple hashes
    let e: number;
    for (let s = index.home(h); (e = slots[s]) !== EMPTY; s = (s + 2) & index.mask) {
      if (
        slots[s + 1] === h &&
        this.ports[2 * e] === portA &&
        this.ports[2 * e + 1] === portB &&
        this.ipA[e] === ipA &&
        this.ipB[e] === ipB &&
        this.sensor[e] === sensor
      ) {
        return e;
      }
    }
    return NO_ENTRY;
  }

  /** Gives the free entry `e` this canonical tuple and indexes it. */
  set(e: number, hash: number, sensor: string, ipA: string, portA: number, ipB: string, portB: number): void {
    this.sensor[e] = sensor;
    this.ipA[e] = ipA;
    this.ipB[e] = ipB;
    this.ports[2 * e] = portA;
    this.ports[2 * e + 1] = portB;
    this.hash[e] = hash;
    this.index.insert(e, mix32(hash));
  }

  /** Takes entry `e` out of the index and lets go of its strings. */
  clear(e: number): void {
    this.index.remove(e);
    this.sensor[e] = this.ipA[e] = this.ipB[e] = undefined;
  }

  /** Makes room for entry numbers below `capacity`. */
  grow(capacity: number): void {
    if (capacity * 2 <= this.ports.length) return;
    this.ports = grown(this.ports, capacity * 2);
    this.hash = grown(this.hash, capacity);
    this.index.growEntries(capacity);
  }
}
