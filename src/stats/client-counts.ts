import type { Severity } from '../model/events';
import { mix32 } from '../flow/tuple-hash';
import { grown } from '../util/columns';
import { fnvClientKey } from '../util/fnv';
import { EMPTY, OpenIndex } from '../util/open-index';

/** Where each count sits in an entry's row of `ClientCountTable.counts`. */
export const SEVERITY_SLOT: Readonly<Record<Severity, number>> = { info: 0, low: 1, medium: 2, high: 3 };
export const CONNECTIONS_SLOT = 4;
/** Numbers per entry in `counts`. */
export const COUNT_SLOTS = 5;
const SLOTS = COUNT_SLOTS;

/**
 * One stats window's counts per (sensor, client): reuses by severity and connections opened, a
 * row of numbers per client in first-seen order, found through an open-addressing index.
 *
 * Why not a Map of objects keyed by "sensor|client": with hundreds of thousands of clients a
 * window, the key text and two objects per client were most of what the stats cost.
 */
export class ClientCountTable {
  sensor: string[] = [];
  client: string[] = [];
  /** SLOTS numbers per entry (see SEVERITY_SLOT, CONNECTIONS_SLOT). */
  counts: Float64Array;
  size = 0;
  private readonly index: OpenIndex;

  constructor(capacity = 16) {
    this.counts = new Float64Array(capacity * SLOTS);
    this.index = new OpenIndex(capacity);
  }

  /**
   * The row of (sensor, client), added (zeroed) on first sight: its counts start at `row * SLOTS`.
   * -1 when the client is not in the table and it holds `max` already.
   */
  row(sensor: string, client: string, max = Infinity): number {
    const h = mix32(fnvClientKey(sensor, client));
    const slots = this.index.slots;
    let e: number;
    for (let s = this.index.home(h); (e = slots[s]) !== EMPTY; s = (s + 2) & this.index.mask) {
      if (slots[s + 1] === h && this.client[e] === client && this.sensor[e] === sensor) return e;
    }
    if (this.size >= max) return -1;
    e = this.size++;
    if (e === this.counts.length / SLOTS) this.grow(Math.min(2 * e, Math.max(e + 1, max)));
    this.sensor[e] = sensor;
    this.client[e] = client;
    this.index.insert(e, h);
    return e;
  }

  /** The severity counts of a row as the event carries them. */
  severities(row: number): Record<Severity, number> {
    const c = this.counts;
    const at = row * SLOTS;
    return { info: c[at], low: c[at + 1], medium: c[at + 2], high: c[at + 3] };
  }

  /** Reuses of every severity in a row. */
  reuses(row: number): number {
    const c = this.counts;
    const at = row * SLOTS;
    return c[at] + c[at + 1] + c[at + 2] + c[at + 3];
  }

  connections(row: number): number {
    return this.counts[row * SLOTS + CONNECTIONS_SLOT];
  }

  /** Adds one to a row's count in `slot`. */
  count(row: number, slot: number): void {
    this.counts[row * SLOTS + slot]++;
  }

  private grow(capacity: number): void {
    this.counts = grown(this.counts, capacity * SLOTS);
    this.index.growEntries(capacity);
  }
}
