/**
 * The index half of a column-store hash table: open addressing with linear probing, kept at most
 * half full, with backward-shift deletion (no tombstones, so probe runs stay short under constant
 * churn). Callers own the entries and probe themselves, which keeps the comparison inline in their
 * hot loop:
 *
 *   for (let s = index.home(h); (e = index.slots[s]) !== EMPTY; s = (s + 2) & index.mask)
 *     if (index.slots[s + 1] === h && ...entry e's own fields match...) return e;
 *
 * Each slot is a pair of int32s, the entry number and its hash, side by side: a probe that meets
 * another key's entry is turned away by the hash in the slot's own cache line, without touching
 * that entry's columns (in a table of a few hundred thousand flows each such touch is a cache miss).
 *
 * Why not a Map keyed by a composed string: building, flattening and hashing that string for
 * every lookup, and keeping it alive per entry, costs more than the work the tables do.
 */
import { grown } from './columns';

export const EMPTY = -1;

export class OpenIndex {
  /** Slot pairs: [2s] the entry (EMPTY when free), [2s + 1] its hash. */
  slots: Int32Array;
  /** Wraps a pair offset: `(s + 2) & mask` is the next slot. */
  mask: number;
  private slotOf = new Int32Array(0); // per entry: the offset of its pair
  private count = 0;

  constructor(entryCapacity: number) {
    this.slots = emptySlots(nextPow2(entryCapacity * 2));
    this.mask = this.slots.length - 1;
    this.growEntries(entryCapacity);
  }

  /** The pair offset of the first slot to probe for a (well-mixed) hash. */
  home(hash: number): number {
    return (hash << 1) & this.mask;
  }

  /** Makes room for entry numbers below `capacity`. */
  growEntries(capacity: number): void {
    if (capacity <= this.slotOf.length) return;
    this.slotOf = grown(this.slotOf, capacity);
  }

  insert(entry: number, hash: number): void {
    // At most half the slots in use; the array holds two int32s per slot.
    if (4 * (this.count + 1) > this.slots.length) this.rehash(this.slots.length);
    this.place(entry, hash | 0);
    this.count++;
  }

  remove(entry: number): void {
    const slots = this.slots;
    const mask = this.mask;
    let hole = this.slotOf[entry];
    slots[hole] = EMPTY;
    // Pull later members of the probe run back into the hole when it lies on their probe path.
    for (let s = (hole + 2) & mask; slots[s] !== EMPTY; s = (s + 2) & mask) {
      const home = this.home(slots[s + 1]);
      if (((s - home) & mask) >= ((s - hole) & mask)) {
        const m = slots[s];
        slots[hole] = m;
        slots[hole + 1] = slots[s + 1];
        this.slotOf[m] = hole;
        slots[s] = EMPTY;
        hole = s;
      }
    }
    this.count--;
  }

  private place(entry: number, hash: number): void {
    let s = this.home(hash);
    while (this.slots[s] !== EMPTY) s = (s + 2) & this.mask;
    this.slots[s] = entry;
    this.slots[s + 1] = hash;
    this.slotOf[entry] = s;
  }

  /** Re-places every entry in `pairs` slots. */
  private rehash(pairs: number): void {
    const old = this.slots;
    this.slots = emptySlots(pairs);
    this.mask = this.slots.length - 1;
    for (let s = 0; s < old.length; s += 2) if (old[s] !== EMPTY) this.place(old[s], old[s + 1]);
  }
}

/** Slot pairs for `pairs` slots, all free. */
function emptySlots(pairs: number): Int32Array {
  return new Int32Array(2 * pairs).fill(EMPTY);
}

function nextPow2(n: number): number {
  let p = 16;
  while (p < n) p *= 2;
  return p;
}
