import type { TopicPartition } from './client';
import { MessagePacker, type PackedMessages } from './message-pack';

/** Offsets to commit; `checkpoint` names the checkpoint a scaled task's offset is covered by (passed through). */
export type CommitOffsets = (TopicPartition & { offset: string; checkpoint?: number })[];

/**
 * Writes the consumer's output behind its processing: the batch handler appends records to
 * `outbox`, marks the offsets that become safe to commit once everything appended so far is
 * acknowledged, and goes on with the next batch while the broker round trips happen. What is
 * appended while a write is in flight goes out together in the next one, followed by one commit
 * of the newest offsets, never before every record sent ahead of them is acknowledged.
 *
 * `handOver` sends the outbox at once, even with a write in flight, for a burst that should not
 * wait (every lingering flow closing at the end of input). Sends reach `send` in order, and the
 * sinks write them in that order (the producer thread and the wire producer take one at a time).
 *
 * `cutAtMarks` (transactions): a mark with offsets cuts the outbox there, and its commit covers
 * exactly the records appended before it; records appended after it wait for that commit (they
 * belong to the next transaction).
 */
export class WriteBehind {
  private packer = new MessagePacker();
  private offsets = new Map<string, TopicPartition & { offset: string }>();
  /** cutAtMarks: outboxes closed by a mark, each with the offsets to commit once it is written. */
  private readonly cuts: { packer: MessagePacker; offsets: CommitOffsets }[] = [];
  /** Records sent and not yet acknowledged. */
  private inFlight = 0;
  /** Sends not yet settled, in the order they were made. */
  private readonly sends = new Set<Promise<void>>();
  private loop: Promise<void> | null = null;
  private error: Error | null = null;

  constructor(
    private readonly send: (out: PackedMessages, tally: ReadonlyMap<string, number>) => Promise<void>,
    private readonly commit: (offsets: CommitOffsets) => Promise<void>,
    private readonly onError: (err: Error) => void,
    private readonly cutAtMarks = false,
  ) {}

  /** Where records go; they are written with the next `mark`'s write (or `handOver`). */
  get outbox(): MessagePacker {
    return this.packer;
  }

  /** Records appended and not yet acknowledged. */
  get backlog(): number {
    let n = this.packer.count + this.inFlight;
    for (const c of this.cuts) n += c.packer.count;
    return n;
  }

  /**
   * Everything appended so far is to be written, then `offsets` committed (newest per partition
   * wins). `commitPoint` (cutAtMarks): commit there even without offsets (a transaction must end).
   */
  mark(offsets: CommitOffsets, commitPoint = false): void {
    if (this.error) throw this.error;
    if (this.cutAtMarks && (offsets.length > 0 || commitPoint)) {
      this.cuts.push({ packer: this.packer, offsets: [...offsets] });
      this.packer = new MessagePacker(this.nextSize(this.packer));
    } else for (const o of offsets) this.offsets.set(`${o.topic}\u0000${o.partition}`, o);
    if (this.packer.count === 0 && this.offsets.size === 0 && this.cuts.length === 0) return;
    this.loop ??= this.run();
  }

  /** Sends what the outbox holds now, without waiting for the write in flight. */
  handOver(): void {
    if (this.error) throw this.error;
    // With cuts waiting, what the outbox holds comes after their commits.
    if (this.cuts.length > 0) return;
    const taken = this.packer;
    if (taken.count === 0) return;
    this.packer = new MessagePacker(this.nextSize(taken));
    this.sendPacker(taken);
  }

  /**
   * The next outbox starts half as large again as this one was filled: writes under load are
   * alike, and one just larger than its buffer would copy all of it to grow (a profile found
   * that copy in 1.3% of the consumer's time when sized at exactly the last fill).
   */
  private nextSize(taken: MessagePacker): number {
    return Math.min(Math.max(taken.writer.at * 1.5, 64 * 1024), 64 * 1024 * 1024);
  }

  private sendPacker(taken: MessagePacker): void {
    if (taken.count === 0) return;
    this.inFlight += taken.count;
    const sent: Promise<void> = this.send(taken.finish(), taken.tally).then(
      () => {
        this.inFlight -= taken.count;
        this.sends.delete(sent);
      },
      (err: Error) => {
        this.sends.delete(sent);
        this.failWith(err);
        throw err;
      },
    );
    sent.catch(() => undefined); // reported through onError; awaited by run() and settle()
    this.sends.add(sent);
  }

  /** Everything marked or handed over so far is written and committed (rejects with the write error, if any). */
  async settle(): Promise<void> {
    while (this.loop || this.sends.size > 0) {
      if (this.loop) await this.loop;
      else await Promise.allSettled([...this.sends]);
    }
    if (this.error) throw this.error;
  }

  private async run(): Promise<void> {
    try {
      while (this.packer.count > 0 || this.offsets.size > 0 || this.cuts.length > 0) {
        const cut = this.cuts.shift();
        const offsets = cut ? cut.offsets : [...this.offsets.values()];
        if (cut) this.sendPacker(cut.packer);
        else {
          this.offsets = new Map();
          this.handOver();
        }
        await Promise.all([...this.sends]); // every send made before these offsets were taken
        if (cut || offsets.length > 0) await this.commit(offsets);
      }
    } catch (err) {
      this.failWith(err as Error);
    } finally {
      this.loop = null;
    }
  }

  /** Forgets every record and offset not sent yet (their transaction is aborted; the state that made them is dropped). */
  discard(): void {
    this.packer = new MessagePacker();
    this.offsets.clear();
    this.cuts.length = 0;
  }

  private failWith(err: Error): void {
    if (this.error) return;
    this.error = err;
    this.packer = new MessagePacker();
    this.offsets.clear();
    this.cuts.length = 0;
    this.onError(err);
  }
}
