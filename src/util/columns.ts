/**
 * Helpers of the column-store tables (flow table, tuple keys and memory, port-cycle allocators,
 * stats counts): per-entry values live in typed arrays indexed by entry number.
 */

export type Column = Float64Array | Uint32Array | Int32Array | Uint16Array | Int8Array | Uint8Array;

/** A copy of `a` with room for `length` values (the table grew); the new tail is zero. */
export function grown<T extends Column>(a: T, length: number): T {
  const b = new (a.constructor as new (n: number) => T)(length);
  b.set(a);
  return b;
}

/** A named column of a table and how many values each entry has in it (for checkpoints, src/state). */
export interface NamedColumn {
  readonly name: string;
  readonly values: Column;
  readonly perRow: number;
}

export const NIL = -1;

/**
 * Entry numbers in the order they were last touched, oldest first: a doubly linked list over
 * two Int32Arrays, so moving an entry to the newest end and finding the oldest are O(1).
 */
export class RecencyList {
  oldest = NIL;
  newest = NIL;
  private prev: Int32Array;
  private next: Int32Array;

  constructor(capacity: number) {
    this.prev = new Int32Array(capacity);
    this.next = new Int32Array(capacity);
  }

  /** Makes room for entry numbers below `capacity`. */
  grow(capacity: number): void {
    this.prev = grown(this.prev, capacity);
    this.next = grown(this.next, capacity);
  }

  /** Puts `e` (not on the list) at the newest end. */
  append(e: number): void {
    this.prev[e] = this.newest;
    this.next[e] = NIL;
    if (this.newest === NIL) this.oldest = e;
    else this.next[this.newest] = e;
    this.newest = e;
  }

  /** Takes `e` off the list. */
  remove(e: number): void {
    const p = this.prev[e];
    const n = this.next[e];
    if (p === NIL) this.oldest = n;
    else this.next[p] = n;
    if (n === NIL) this.newest = p;
    else this.prev[n] = p;
  }

  /** The entry after `e` toward the newest end, NIL after the newest. */
  newerThan(e: number): number {
    return this.next[e];
  }

  /** Moves `e` (on the list) to the newest end. */
  touch(e: number): void {
    if (e === this.newest) return;
    this.remove(e);
    this.append(e);
  }
}
