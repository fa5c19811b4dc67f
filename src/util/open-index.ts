/**
 * The index half of a column-store hash table: open addressing with linear probing over an
 * Int32Array of entry numbers, kept at most half full, with backward-shift deletion (no
 * tombstones, so probe runs stay short under constant churn). Callers own the entries and probe
 * themselves, which keeps the comparison inline in their hot loop:
 *
 *   for (let s = index.home(h); (e = index.slots[s]) !== EMPTY; s = (s + 1) & index.mask) ...
 *
 * Why not a Map keyed by a composed string: building, flattening and hashing that string for
 * every lookup, and keeping it alive per entry, costs more than the work the tables do.
 */
import { grown } from './columns';

export const EMPTY = -1;

export class OpenIndex {
  slots: Int32Array;
  mask: number;
  private hashes = new Int32Array(0); // per entry
  private slotOf = new Int32Array(0); // per entry
  private count = 0;

  constructor(entryCapacity: number) {
    this.slots = new Int32Array(nextPow2(entryCapacity * 2)).fill(EMPTY);
    this.mask = this.slots.length - 1;
    this.growEntries(entryCapacity);
  }

  /** The first slot to probe for a (well-mixed) hash. */
  home(hash: number): number {
    return hash & this.mask;
  }

  /** Makes room for entry numbers below `capacity`. */
  growEntries(capacity: number): void {
    if (capacity <= this.hashes.length) return;
    this.hashes = grown(this.hashes, capacity);
    this.slotOf = grown(this.slotOf, capacity);
  }

  insert(entry: number, hash: number): void {
    if (2 * (this.count + 1) > this.slots.length) this.rehash(this.slots.length * 2);
    this.hashes[entry] = hash;
    this.place(entry);
    this.count++;
  }

  remove(entry: number): void {
    let hole = this.slotOf[entry];
    this.slots[hole] = EMPTY;
    // Pull later members of the probe run back into the hole when it lies on their probe path.
    for (let s = (hole + 1) & this.mask; this.slots[s] !== EMPTY; s = (s + 1) & this.mask) {
      const m = this.slots[s];
      const home = this.hashes[m] & this.mask;
      if (((s - home) & this.mask) >= ((s - hole) & this.mask)) {
        this.slots[hole] = m;
        this.slotOf[m] = hole;
        this.slots[s] = EMPTY;
        hole = s;
      }
    }
    this.count--;
  }

  private place(entry: number): void {
    let s = this.hashes[entry] & this.mask;
    while (this.slots[s] !== EMPTY) s = (s + 1) & this.mask;
    this.slots[s] = entry;
    this.slotOf[entry] = s;
  }

  private rehash(size: number): void {
    const old = this.slots;
    this.slots = new Int32Array(size).fill(EMPTY);
    this.mask = size - 1;
    for (let i = 0; i < old.length; i++) if (old[i] !== EMPTY) this.place(old[i]);
  }
}

function nextPow2(n: number): number {
  let p = 16;
  while (p < n) p *= 2;
  return p;
}
