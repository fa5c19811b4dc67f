/**
 * Merges what several upstream tasks (the flow stages of the input partitions) send one client
 * stage task into one stream in event-time order, dropping what an upstream sends twice.
 *
 * Each upstream's items arrive in its own order, each with a sequence number that goes up by one
 * per item the upstream sends anywhere (so a task sees gaps, never a step back), and from time to
 * time a mark: the upstream's low watermark (no item it sends later should be older, except late
 * packets) or that it is idle (its input is at its end: it holds nobody back). A k-way merge on
 * the queues' heads releases an item once no upstream can still send an older one. An upstream
 * restored from a checkpoint sends again what it sent after that checkpoint, with the same
 * numbers: those are dropped here, so the stage downstream counts every connection once.
 */
export interface MergeCounters {
  /** Items an upstream sent again (after its restore), dropped. */
  duplicates: number;
  /** Items older than what had already been released (a late packet, an upstream back from idle). */
  late: number;
}

/** An upstream as a checkpoint holds it. */
export interface UpstreamState<T> {
  readonly id: string;
  /** Items taken and not yet released, in order. */
  readonly pending: readonly T[];
  readonly lastSeq: number;
  readonly mark: number;
  readonly idle: boolean;
  readonly final: boolean;
}

export interface MergeState<T> {
  readonly upstreams: readonly UpstreamState<T>[];
  readonly released: number;
  readonly counters: MergeCounters;
}

interface Upstream<T> {
  readonly id: string;
  queue: T[];
  head: number;
  /** Highest sequence number taken. */
  lastSeq: number;
  /** Low watermark announced (-Infinity before the first mark). */
  mark: number;
  idle: boolean;
  /** It has said it will send nothing more (its input ended for good). */
  final: boolean;
}

export class UpstreamMerge<T extends { readonly ts: number }> {
  readonly counters: MergeCounters = { duplicates: 0, late: 0 };
  private readonly upstreams = new Map<string, Upstream<T>>();
  /** Event time released so far. */
  private released = -Infinity;
  private bufferedItems = 0;

  /** `upstreams`: every task that may send to this one (e.g. every input partition), so none is forgotten before it speaks. */
  constructor(upstreams: Iterable<string>) {
    for (const id of upstreams) this.upstream(id);
  }

  get buffered(): number {
    return this.bufferedItems;
  }

  /**
   * The merged stream's event time: no upstream should send anything older (an upstream's next
   * item is its queue's head, or not older than its mark). With every upstream idle and nothing
   * queued, the latest mark: the input as a whole has got that far.
   */
  get watermark(): number {
    let w = Infinity;
    let latest = this.released;
    for (const u of this.upstreams.values()) {
      if (u.head < u.queue.length) w = Math.min(w, u.queue[u.head].ts);
      else if (!u.idle) w = Math.min(w, u.mark);
      latest = Math.max(latest, u.mark);
    }
    return w === Infinity ? latest : w;
  }

  /** An item from `from` with its sequence number; false if it was a repeat (dropped). */
  add(from: string, seq: number, item: T): boolean {
    const u = this.upstream(from);
    if (seq <= u.lastSeq) {
      this.counters.duplicates++;
      return false;
    }
    u.lastSeq = seq;
    u.queue.push(item);
    this.bufferedItems++;
    return true;
  }

  /** `from`'s low watermark, or that it is idle (`ts` still moves its mark), or that it has ended (`final`). */
  mark(from: string, ts: number, idle: boolean, final = false): void {
    const u = this.upstream(from);
    if (ts > u.mark) u.mark = ts;
    u.idle = idle || final;
    u.final ||= final;
  }

  /** Every upstream has ended and everything has been released. */
  get ended(): boolean {
    for (const u of this.upstreams.values()) if (!u.final || u.head < u.queue.length) return false;
    return true;
  }

  /** Releases, oldest first, every item no upstream can still send an older one than. */
  drain(emit: (item: T) => void): void {
    for (;;) {
      // Ties go to the upstream listed first: a capture split over partitions comes out in one order.
      let best: Upstream<T> | null = null;
      for (const u of this.upstreams.values()) {
        if (u.head === u.queue.length) continue;
        if (best === null || u.queue[u.head].ts < best.queue[best.head].ts) best = u;
      }
      if (best === null) return;
      const ts = best.queue[best.head].ts;
      for (const u of this.upstreams.values()) {
        if (u !== best && u.head === u.queue.length && !u.idle && u.mark < ts) return; // u may still send something older
      }
      this.take(best, emit);
    }
  }

  /** Releases everything (end of input). */
  flush(emit: (item: T) => void): void {
    for (const u of this.upstreams.values()) u.idle = true;
    this.drain(emit);
  }

  /** The state a checkpoint holds (src/state/client-stage-state.ts). */
  checkpointState(): MergeState<T> {
    const upstreams = [...this.upstreams.values()].map((u) => ({ id: u.id, pending: u.queue.slice(u.head), lastSeq: u.lastSeq, mark: u.mark, idle: u.idle, final: u.final }));
    return { upstreams, released: this.released, counters: { ...this.counters } };
  }

  /** Continues from a checkpoint; upstreams it does not name keep what they have (nothing, in a new merge). */
  restoreState(s: MergeState<T>): void {
    for (const r of s.upstreams) {
      const u = this.upstream(r.id);
      this.bufferedItems += r.pending.length - (u.queue.length - u.head);
      u.queue = [...r.pending];
      u.head = 0;
      u.lastSeq = r.lastSeq;
      u.mark = r.mark;
      u.idle = r.idle;
      u.final = r.final;
    }
    this.released = s.released;
    Object.assign(this.counters, s.counters);
  }

  /** Sequence numbers taken per upstream (for a checkpoint of the stage). */
  sequences(): Map<string, number> {
    return new Map([...this.upstreams.values()].map((u) => [u.id, u.lastSeq]));
  }

  private take(u: Upstream<T>, emit: (item: T) => void): void {
    const item = u.queue[u.head++];
    if (u.head === u.queue.length) {
      u.queue = [];
      u.head = 0;
    } else if (u.head > 1024 && u.head * 2 > u.queue.length) {
      u.queue = u.queue.slice(u.head); // compact once half is taken: a shift per item is O(queue)
      u.head = 0;
    }
    this.bufferedItems--;
    if (item.ts < this.released) this.counters.late++;
    else this.released = item.ts;
    emit(item);
  }

  private upstream(id: string): Upstream<T> {
    let u = this.upstreams.get(id);
    if (!u) this.upstreams.set(id, (u = { id, queue: [], head: 0, lastSeq: -1, mark: -Infinity, idle: false, final: false }));
    return u;
  }
}
