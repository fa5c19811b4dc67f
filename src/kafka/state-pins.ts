/**
 * Which input offsets the in-memory state still depends on, so commits never pass them.
 *
 * The pipeline is stateful: a flow opened by the packet at offset 100 is still open (or still
 * remembered for reuse detection) long after offset 100 was processed. If the consumer committed
 * past it and then died, the restarted consumer would never see that flow's opening packets and
 * would lose its close and any later reuse of its ports. So each flow pins the offset of the
 * message that opened it, from flow.open until its memory expires (close + retention in event
 * time), and a partition's commit is held at its lowest pin. After a crash the consumer replays
 * from there, rebuilding exactly the state it lost; what it emits twice are duplicates, which
 * at-least-once delivery allows.
 */
/** A partition's pinned offsets, ascending, with how many flows pin each. */
interface PartitionPins {
  offsets: number[];
  counts: number[];
  /** Entries before it have no pins left. */
  head: number;
}

export class StatePins {
  private readonly byPartition = new Map<string, PartitionPins>();
  private readonly byFlow = new Map<string, { readonly key: string; readonly offset: number }>();
  /** Released-at times of closed flows: a binary min-heap on `heapAt`, in two parallel arrays. */
  private heapAt: number[] = [];
  private heapId: string[] = [];

  constructor(private readonly retainUs: number) {}

  get size(): number {
    return this.byFlow.size;
  }

  /** A flow opened by the message at `offset` of partition `key`. Offsets arrive ascending per partition. */
  pin(flowId: string, key: string, offset: number): void {
    if (this.byFlow.has(flowId)) return; // replayed open of a flow we already hold
    this.byFlow.set(flowId, { key, offset });
    let p = this.byPartition.get(key);
    if (!p) this.byPartition.set(key, (p = { offsets: [], counts: [], head: 0 }));
    const last = p.offsets.length - 1;
    if (last >= 0 && p.offsets[last] === offset) p.counts[last]++;
    else if (last < 0 || p.offsets[last] < offset) {
      p.offsets.push(offset);
      p.counts.push(1);
    } else {
      // Out of order (not expected): keep the list sorted anyway.
      const i = indexOf(p, offset);
      if (i < p.offsets.length && p.offsets[i] === offset) p.counts[i]++;
      else {
        p.offsets.splice(i, 0, offset);
        p.counts.splice(i, 0, 1);
        if (i < p.head) p.head = i;
      }
    }
  }

  /** The flow ended at `endTs` (µs): its pin lasts while it is remembered. */
  closed(flowId: string, endTs: number): void {
    if (!this.byFlow.has(flowId)) return;
    this.push(endTs + this.retainUs, flowId);
  }

  /** Event time reached `now` (µs): drop pins of flows no longer remembered. */
  advance(now: number): void {
    while (this.heapAt.length > 0 && this.heapAt[0] <= now) this.release(this.pop());
  }

  /** Forget every pin of a partition (revoked: its new owner replays from the committed offset). */
  dropPartition(key: string): void {
    this.byPartition.delete(key);
    for (const [id, pin] of this.byFlow) if (pin.key === key) this.byFlow.delete(id);
  }

  /** Forget all pins (state flushed at end of input). */
  clear(): void {
    this.byPartition.clear();
    this.byFlow.clear();
    this.heapAt = [];
    this.heapId = [];
  }

  /** Lowest offset of `key` still pinned, if any. */
  lowest(key: string): number | undefined {
    const p = this.byPartition.get(key);
    if (!p) return undefined;
    while (p.head < p.offsets.length && p.counts[p.head] === 0) p.head++;
    if (p.head > 4096 && p.head * 2 > p.offsets.length) {
      p.offsets = p.offsets.slice(p.head);
      p.counts = p.counts.slice(p.head);
      p.head = 0;
    }
    return p.head < p.offsets.length ? p.offsets[p.head] : undefined;
  }

  private release(flowId: string): void {
    const pin = this.byFlow.get(flowId);
    if (!pin) return;
    this.byFlow.delete(flowId);
    const p = this.byPartition.get(pin.key);
    if (!p) return;
    const i = indexOf(p, pin.offset);
    if (i < p.offsets.length && p.offsets[i] === pin.offset && p.counts[i] > 0) p.counts[i]--;
  }

  private push(at: number, flowId: string): void {
    const ats = this.heapAt;
    const ids = this.heapId;
    let i = ats.length;
    ats.push(at);
    ids.push(flowId);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (ats[parent] <= at) break;
      ats[i] = ats[parent];
      ids[i] = ids[parent];
      i = parent;
    }
    ats[i] = at;
    ids[i] = flowId;
  }

  /** Removes the earliest entry; returns its flow id. */
  private pop(): string {
    const ats = this.heapAt;
    const ids = this.heapId;
    const top = ids[0];
    const lastAt = ats.pop()!;
    const lastId = ids.pop()!;
    const n = ats.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && ats[r] < ats[l] ? r : l;
        if (ats[c] >= lastAt) break;
        ats[i] = ats[c];
        ids[i] = ids[c];
        i = c;
      }
      ats[i] = lastAt;
      ids[i] = lastId;
    }
    return top;
  }
}

/** Where `offset` is (or would go) among the partition's pinned offsets (binary search). */
function indexOf(p: PartitionPins, offset: number): number {
  let lo = 0;
  let hi = p.offsets.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (p.offsets[mid] < offset) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
