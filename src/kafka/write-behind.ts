import type { OutgoingMessage, TopicPartition } from './client';

export type CommitOffsets = (TopicPartition & { offset: string })[];

interface Pending {
  out: OutgoingMessage[];
  offsets: CommitOffsets;
}

/**
 * Writes the consumer's output behind its processing: the batch handler hands over what a batch
 * produced plus the offsets that become safe to commit once it is acknowledged, and goes on with
 * the next batch while the broker round trips happen. One write is in flight at a time, so the
 * output keeps its order; what queues up meanwhile goes out together in the next one, followed by
 * one commit of the newest offsets (never before the records they depend on are acknowledged).
 */
export class WriteBehind {
  private queue: Pending[] = [];
  private queued = 0;
  private loop: Promise<void> | null = null;
  private error: Error | null = null;

  constructor(
    private readonly send: (out: OutgoingMessage[]) => Promise<void>,
    private readonly commit: (offsets: CommitOffsets) => Promise<void>,
    private readonly onError: (err: Error) => void,
  ) {}

  /** Records queued or being written. */
  get backlog(): number {
    return this.queued;
  }

  push(out: OutgoingMessage[], offsets: CommitOffsets): void {
    if (this.error) throw this.error;
    if (out.length === 0 && offsets.length === 0) return;
    this.queue.push({ out, offsets });
    this.queued += out.length;
    this.loop ??= this.run();
  }

  /** Everything pushed so far is written and committed (rejects with the write error, if any). */
  async settle(): Promise<void> {
    while (this.loop) await this.loop;
    if (this.error) throw this.error;
  }

  private async run(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const taken = this.queue;
        this.queue = [];
        const out = taken.length === 1 ? taken[0].out : taken.flatMap((p) => p.out);
        if (out.length > 0) await this.send(out);
        this.queued -= out.length;
        // The newest snapshot per partition: offsets only move forward.
        const newest = new Map<string, TopicPartition & { offset: string }>();
        for (const p of taken) for (const o of p.offsets) newest.set(`${o.topic}\u0000${o.partition}`, o);
        if (newest.size > 0) await this.commit([...newest.values()]);
      }
    } catch (err) {
      this.error = err as Error;
      this.queue = [];
      this.onError(this.error);
    } finally {
      this.loop = null;
    }
  }
}
