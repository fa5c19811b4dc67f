import type { TopicPartition } from './client';
import { MessagePacker, type PackedMessages } from './message-pack';

export type CommitOffsets = (TopicPartition & { offset: string })[];

/**
 * Writes the consumer's output behind its processing: the batch handler appends records to
 * `outbox`, marks the offsets that become safe to commit once everything appended so far is
 * acknowledged, and goes on with the next batch while the broker round trips happen. One write
 * is in flight at a time, so the output keeps its order; what is appended meanwhile goes out
 * together in the next one, followed by one commit of the newest offsets (never before the
 * records they depend on are acknowledged).
 */
export class WriteBehind {
  private packer = new MessagePacker();
  private offsets = new Map<string, TopicPartition & { offset: string }>();
  private inFlight = 0;
  private loop: Promise<void> | null = null;
  private error: Error | null = null;

  constructor(
    private readonly send: (out: PackedMessages, tally: ReadonlyMap<string, number>) => Promise<void>,
    private readonly commit: (offsets: CommitOffsets) => Promise<void>,
    private readonly onError: (err: Error) => void,
  ) {}

  /** Where records go; they are written with the next `mark`'s write. */
  get outbox(): MessagePacker {
    return this.packer;
  }

  /** Records appended and not yet acknowledged. */
  get backlog(): number {
    return this.packer.count + this.inFlight;
  }

  /** Everything appended so far is to be written, then `offsets` committed (newest per partition wins). */
  mark(offsets: CommitOffsets): void {
    if (this.error) throw this.error;
    for (const o of offsets) this.offsets.set(`${o.topic}\u0000${o.partition}`, o);
    if (this.packer.count === 0 && this.offsets.size === 0) return;
    this.loop ??= this.run();
  }

  /** Everything marked so far is written and committed (rejects with the write error, if any). */
  async settle(): Promise<void> {
    while (this.loop) await this.loop;
    if (this.error) throw this.error;
  }

  private async run(): Promise<void> {
    try {
      while (this.packer.count > 0 || this.offsets.size > 0) {
        const taken = this.packer;
        const offsets = [...this.offsets.values()];
        // The next outbox starts at about this one's size: writes under load are alike.
        this.packer = new MessagePacker(Math.min(Math.max(taken.writer.at, 64 * 1024), 64 * 1024 * 1024));
        this.offsets = new Map();
        this.inFlight = taken.count;
        if (taken.count > 0) await this.send(taken.finish(), taken.tally);
        this.inFlight = 0;
        if (offsets.length > 0) await this.commit(offsets);
      }
    } catch (err) {
      this.error = err as Error;
      this.inFlight = 0;
      this.onError(this.error);
    } finally {
      this.loop = null;
    }
  }
}
