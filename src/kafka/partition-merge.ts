import type { PacketRecord } from '../model/packet-record';

/** One consumed message waiting in its partition's queue, with the packets it carried. */
export interface PendingMessage {
  readonly partitionKey: string;
  readonly offset: number;
  readonly packets: readonly PacketRecord[];
  /** Index of the next packet to release. */
  next: number;
}

interface PartitionQueue {
  readonly key: string;
  readonly order: number;
  messages: PendingMessage[];
  head: number;
  buffered: number;
  /** The last fetch reached the partition's end, or the broker said it is at its end: nothing more to wait for. */
  caughtUp: boolean;
  /** Wall-clock ms of the last batch (or of the assignment). */
  lastSeenMs: number;
  /** Offset after the last message taken. */
  endOffset: number;
}

export interface MergeOptions {
  /** A partition with nothing buffered and no batch for this long is one to ask the broker about (see silent()). @default 2000 */
  readonly idleAfterMs?: number;
  /** Above this many buffered packets, release without waiting (order may suffer, memory does not). @default 2000000 */
  readonly maxBufferedPackets?: number;
}

/**
 * Merges the packets of several partitions into one stream in event-time order.
 *
 * A topic keyed by address pair spreads one capture over partitions; kafkajs delivers them a
 * batch at a time, one partition after the other, so in arrival order the clock would jump back
 * and forth by a whole batch and idle expiry would fire early. Like a k-way merge (and Flink's
 * per-partition watermarks), a packet is released only when every partition that may still
 * deliver earlier packets has something buffered; a partition whose fetch reached its end, or
 * that the broker says is at its end, does not hold the others back. Idleness is the broker's
 * word, never wall time alone: a consumer that lost seconds itself (a stop, a GC pause, a
 * backfill faster than real time) would otherwise take a partition whose batch is on its way for
 * an idle one and release later packets first. Ties go by frame number then partition, so a
 * capture replayed into many partitions comes out in capture order.
 */
export class EventTimeMerger {
  private readonly queues = new Map<string, PartitionQueue>();
  private readonly idleAfterMs: number;
  private readonly maxBuffered: number;
  private bufferedTotal = 0;
  private nextOrder = 0;

  constructor(options: MergeOptions = {}) {
    this.idleAfterMs = options.idleAfterMs ?? 2000;
    this.maxBuffered = options.maxBufferedPackets ?? 2_000_000;
  }

  /** The partitions this consumer owns now; queues of revoked ones are dropped (their new owner replays them). */
  assign(keys: readonly string[], nowMs: number): void {
    const keep = new Set(keys);
    for (const [k, q] of this.queues) {
      if (!keep.has(k)) {
        this.bufferedTotal -= q.buffered;
        this.queues.delete(k);
      }
    }
    for (const k of keys) if (!this.queues.has(k)) this.queues.set(k, this.newQueue(k, nowMs));
  }

  /** Adds a fetched batch's messages (in offset order). */
  add(key: string, messages: readonly PendingMessage[], caughtUp: boolean, nowMs: number): void {
    let q = this.queues.get(key);
    if (!q) this.queues.set(key, (q = this.newQueue(key, nowMs)));
    for (const m of messages) {
      q.messages.push(m);
      const n = m.packets.length - m.next;
      q.buffered += n;
      this.bufferedTotal += n;
      q.endOffset = m.offset + 1;
    }
    q.caughtUp = caughtUp;
    q.lastSeenMs = nowMs;
  }

  /** A fetch that delivered nothing but moved the partition on (past transaction markers) to `nextOffset`. */
  advance(key: string, nextOffset: number, caughtUp: boolean, nowMs: number): void {
    const q = this.queues.get(key);
    if (!q) return;
    q.endOffset = Math.max(q.endOffset, nextOffset);
    q.caughtUp = caughtUp;
    q.lastSeenMs = nowMs;
  }

  get buffered(): number {
    return this.bufferedTotal;
  }

  /** Buffered packets of one partition (for pausing a partition that runs far ahead). */
  bufferedIn(key: string): number {
    return this.queues.get(key)?.buffered ?? 0;
  }

  /** Offset of the first message not yet fully released, or the offset after the last one taken. */
  firstUnreleased(key: string): number | undefined {
    const q = this.queues.get(key);
    if (!q) return undefined;
    return q.head < q.messages.length ? q.messages[q.head].offset : q.endOffset;
  }

  partitions(): string[] {
    return [...this.queues.keys()];
  }

  /** True when the last fetch of every partition reached the partition's end. */
  allCaughtUp(): boolean {
    for (const q of this.queues.values()) if (!q.caughtUp) return false;
    return this.queues.size > 0;
  }

  /** True when some partition may still deliver packets older than those buffered. */
  waiting(): boolean {
    for (const q of this.queues.values()) if (this.blocks(q)) return true;
    return false;
  }

  /**
   * Partitions holding the others back with no batch for idleAfterMs: the caller asks the broker
   * whether each is at its end (atEnd) or has more on its way. `position`: the offset after the
   * last message taken, -1 before the first batch.
   */
  silent(nowMs: number): { key: string; position: number }[] {
    const out: { key: string; position: number }[] = [];
    for (const q of this.queues.values()) if (this.blocks(q) && nowMs - q.lastSeenMs >= this.idleAfterMs) out.push({ key: q.key, position: q.endOffset });
    return out;
  }

  /** The broker says the partition has nothing past what was taken: it holds nothing back until its next batch. */
  atEnd(key: string): void {
    const q = this.queues.get(key);
    if (q && q.head === q.messages.length) q.caughtUp = true;
  }

  /**
   * Releases packets in event-time order while no partition holds them back (all of them with
   * `force`, e.g. at end of input), at most `limit`; returns how many. `onMessage` is called when
   * a message's last packet is out.
   */
  drain(onPacket: (p: PacketRecord, m: PendingMessage) => void, onMessage: (m: PendingMessage) => void, force = false, limit = Infinity): number {
    const queues = [...this.queues.values()];
    let released = 0;
    for (;;) {
      // The earliest head, and the next earliest (the others do not move while `best` runs).
      let best: PartitionQueue | undefined;
      let bestP: PacketRecord | undefined;
      let second: PartitionQueue | undefined;
      let secondP: PacketRecord | undefined;
      let blocked = false;
      // An index loop: for-of here allocated an iterator and a result object per step (a quarter
      // of the consumer's garbage with short flows).
      for (let i = 0; i < queues.length; i++) {
        const q = queues[i];
        this.skipDone(q, onMessage);
        if (q.head === q.messages.length) {
          if (!force && this.blocks(q)) blocked = true;
          continue;
        }
        const m = q.messages[q.head];
        const p = m.packets[m.next];
        if (!bestP || before(p, q, bestP, best!)) {
          second = best;
          secondP = bestP;
          best = q;
          bestP = p;
        } else if (!secondP || before(p, q, secondP, second!)) {
          second = q;
          secondP = p;
        }
      }
      if (!best || !bestP || released >= limit) return released;
      if (blocked && this.bufferedTotal <= this.maxBuffered) return released;
      // A run from `best` while its head stays before every other head: one comparison a packet
      // instead of a scan of all partitions.
      for (;;) {
        const m = best.messages[best.head];
        m.next++;
        best.buffered--;
        this.bufferedTotal--;
        released++;
        onPacket(bestP, m);
        if (m.next >= m.packets.length) this.complete(best, onMessage);
        this.skipDone(best, onMessage);
        if (best.head === best.messages.length || released >= limit) break;
        if (blocked && this.bufferedTotal <= this.maxBuffered) break;
        const next = best.messages[best.head];
        bestP = next.packets[next.next];
        if (secondP && !before(bestP, best, secondP, second!)) break;
      }
    }
  }

  /** Completes the messages at the head of `q` that have nothing (left) to release, in offset order. */
  private skipDone(q: PartitionQueue, onMessage: (m: PendingMessage) => void): void {
    while (q.head < q.messages.length && q.messages[q.head].next >= q.messages[q.head].packets.length) this.complete(q, onMessage);
  }

  private complete(q: PartitionQueue, onMessage: (m: PendingMessage) => void): void {
    const m = q.messages[q.head++];
    if (q.head > 1024 && q.head * 2 > q.messages.length) {
      q.messages = q.messages.slice(q.head);
      q.head = 0;
    }
    onMessage(m);
  }

  private blocks(q: PartitionQueue): boolean {
    return q.head === q.messages.length && !q.caughtUp;
  }

  private newQueue(key: string, nowMs: number): PartitionQueue {
    return { key, order: this.nextOrder++, messages: [], head: 0, buffered: 0, caughtUp: false, lastSeenMs: nowMs, endOffset: -1 };
  }
}

function before(p: PacketRecord, q: PartitionQueue, best: PacketRecord, bq: PartitionQueue): boolean {
  if (p.ts !== best.ts) return p.ts < best.ts;
  const f = p.frame ?? Infinity;
  const bf = best.frame ?? Infinity;
  if (f !== bf) return f < bf;
  return q.order < bq.order;
}
