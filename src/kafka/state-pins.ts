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
export class StatePins {
  /** partition key → ascending offsets pinned (with multiplicity in `counts`). */
  private readonly byPartition = new Map<string, { offsets: number[]; head: number; counts: Map<number, number> }>();
  private readonly byFlow = new Map<string, { key: string; offset: number }>();
  /** Released-at times of closed flows, a binary min-heap on `at`. */
  private readonly heap: { at: number; flowId: string }[] = [];

  constructor(private readonly retainUs: number) {}

  get size(): number {
    return this.byFlow.size;
  }

  /** A flow opened by the message at `offset` of partition `key`. Offsets arrive ascending per partition. */
  pin(flowId: string, key: string, offset: number): void {
    if (this.byFlow.has(flowId)) return; // replayed open of a flow we already hold
    this.byFlow.set(flowId, { key, offset });
    let p = this.byPartition.get(key);
    if (!p) this.byPartition.set(key, (p = { offsets: [], head: 0, counts: new Map() }));
    const c = p.counts.get(offset) ?? 0;
    if (c === 0) p.offsets.push(offset);
    p.counts.set(offset, c + 1);
  }

  /** The flow ended at `endTs` (µs): its pin lasts while it is remembered. */
  closed(flowId: string, endTs: number): void {
    if (!this.byFlow.has(flowId)) return;
    this.push({ at: endTs + this.retainUs, flowId });
  }

  /** Event time reached `now` (µs): drop pins of flows no longer remembered. */
  advance(now: number): void {
    while (this.heap.length > 0 && this.heap[0].at <= now) this.release(this.pop().flowId);
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
    this.heap.length = 0;
  }

  /** Lowest offset of `key` still pinned, if any. */
  lowest(key: string): number | undefined {
    const p = this.byPartition.get(key);
    if (!p) return undefined;
    while (p.head < p.offsets.length && !p.counts.has(p.offsets[p.head])) p.head++;
    if (p.head > 4096 && p.head * 2 > p.offsets.length) {
      p.offsets = p.offsets.slice(p.head);
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
    const c = (p.counts.get(pin.offset) ?? 1) - 1;
    if (c <= 0) p.counts.delete(pin.offset);
    else p.counts.set(pin.offset, c);
  }

  private push(e: { at: number; flowId: string }): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (h[parent].at <= e.at) break;
      h[i] = h[parent];
      i = parent;
    }
    h[i] = e;
  }

  private pop(): { at: number; flowId: string } {
    const h = this.heap;
    const top = h[0];
    const last = h.pop()!;
    if (h.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= h.length) break;
        const r = l + 1;
        const c = r < h.length && h[r].at < h[l].at ? r : l;
        if (h[c].at >= last.at) break;
        h[i] = h[c];
        i = c;
      }
      h[i] = last;
    }
    return top;
  }
}
