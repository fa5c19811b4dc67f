import type { Logger } from '../util/logger';
import type { Admin, BatchContext, ConsumedBatch, KafkaClient, Sink, SinkOptions, Source, TopicPartition } from './client';
import type { Compression } from './codecs';
import { disconnectAll } from './shutdown';

/** How long a rejoin waits for beforeGroupJoin (kafkajs's rebalance timeout is 60 s). */
const JOIN_WORK_LIMIT_MS = 30_000;

/**
 * What the Kafka services (`consume`, `consume --app-id`, `repartition`) do around their own
 * work: wait for the input topics, start, run one task at a time (batches, ticks and the stop all
 * queue on one promise chain, so state is never touched by two at once), end on stop, end of
 * input or a fatal error, and always disconnect, so a failed process does not stay in the group.
 */
export abstract class ServiceLifecycle<Summary> {
  protected source: Source | null = null;
  protected sink: Sink | null = null;
  protected admin: Admin | null = null;
  protected timer: NodeJS.Timeout | null = null;
  protected stopping = false;
  /** Ends run() with this reason (stop, end of input). */
  protected finished: ((reason: string) => void) | null = null;
  protected health = { ok: false, status: 'starting' };
  private failed: ((e: Error) => void) | null = null;
  private serial: Promise<unknown> = Promise.resolve();

  constructor(
    protected readonly client: KafkaClient,
    protected readonly log: Logger,
    private readonly inputTopics: readonly string[],
  ) {
    // An outage is logged when it starts and when it ends; the client's retries in between are not.
    let since = 0;
    client.reachability?.subscribe((trouble) => {
      if (trouble !== null) {
        since = Date.now();
        log.warn('Kafka unreachable; retrying (further connection errors at debug level until it answers)', { error: trouble });
      } else log.info('Kafka reachable again', { unreachableS: Math.round((Date.now() - since) / 100) / 10 });
    });
  }

  /** For the health endpoint: degraded (not ok) while the cluster does not answer. */
  healthStatus(): { ok: boolean; status: string; reason?: string } {
    const trouble = this.client.reachability?.current;
    if (!this.health.ok || !trouble) return this.health;
    const s = Math.round((Date.now() - this.client.reachability!.since) / 1000);
    return { ok: false, status: 'degraded', reason: `Kafka unreachable for ${s} s: ${trouble}` };
  }

  /** Everything after the input topics exist: topics, producer, consumer, timers. */
  protected abstract start(): Promise<void>;
  protected abstract summary(reason: string): Summary;
  /** Before the clients disconnect (e.g. the analysis pipeline's subscription). */
  protected beforeDisconnect(): void {}
  protected abstract onAssignment(assigned: TopicPartition[]): void;
  protected abstract onBatch(batch: ConsumedBatch, ctx: BatchContext): Promise<void>;
  /** A fetch of a partition that delivered nothing but moved its position (see Source.onEmptyBatch). */
  protected onEmptyBatch(_b: TopicPartition & { nextOffset: string; highWatermark: string }): void {}
  /** Every `tickMs` while consuming. */
  protected abstract tick(): void;
  /** Before every (re)join of the group, while the partitions are still this member's (Source.beforeJoin). */
  protected beforeGroupJoin(): Promise<void> {
    return Promise.resolve();
  }

  /**
   * beforeGroupJoin, for at most JOIN_WORK_LIMIT_MS: a member that does not rejoin within the
   * rebalance timeout is put out of the group, which would cost more than the work left undone.
   */
  private async beforeGroupJoinBounded(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), JOIN_WORK_LIMIT_MS)));
    const timedOut = await Promise.race([this.beforeGroupJoin().then(() => false), late]);
    clearTimeout(timer);
    if (timedOut) this.log.warn('writes and checkpoints before the rebalance not done in time; rejoining anyway (the new owners may redo some input)', { limitS: JOIN_WORK_LIMIT_MS / 1000 });
  }

  /** The producer (in its thread), then the group consumer: batches start coming, and ticks. */
  protected async startConsuming(
    o: { compression: Compression; groupId: string; topics: readonly string[]; fromBeginning: boolean; sessionTimeoutMs?: number; tickMs: number; transaction?: SinkOptions['transaction'] },
    logFields: Record<string, unknown>,
  ): Promise<void> {
    this.sink = this.client.sink({ compression: o.compression, thread: true, transaction: o.transaction });
    await this.sink.connect();
    this.source = this.client.source({ groupId: o.groupId, topics: o.topics, fromBeginning: o.fromBeginning, sessionTimeoutMs: o.sessionTimeoutMs });
    this.source.onAssignment((a) => this.onAssignment(a));
    this.source.onCrash((err) => this.fail(err));
    this.source.onEmptyBatch((b) => this.onEmptyBatch(b));
    this.source.beforeJoin(() => this.beforeGroupJoinBounded());
    await this.source.connect();
    await this.source.run((batch, ctx) => this.onBatch(batch, ctx));
    this.health = { ok: true, status: 'consuming' };
    this.log.info('consuming', logFields);
    this.timer = setInterval(() => {
      this.giveUpWhenUnreachable();
      this.tick();
    }, o.tickMs);
  }

  /**
   * A cluster that stays away past the limit ends the service (exit 1; its supervisor restarts
   * it): kafkajs's consumer would otherwise restart itself forever, an idle producer never notices,
   * and the process would hold on to partitions it cannot serve.
   */
  private giveUpWhenUnreachable(): void {
    const r = this.client.reachability;
    if (!r?.overLimit || this.stopping) return;
    this.fail(new Error(`Kafka unreachable for ${Math.round((Date.now() - r.since) / 1000)} s, past the limit of ${Math.round(r.giveUpAfterMs / 1000)} s (--broker-timeout): ${r.current}`));
  }

  /** Graceful stop: the service's last work (everything written and committed), then run() ends with `reason`. */
  stop(reason: string): void {
    if (this.stopping) return;
    this.stopping = true;
    this.log.info('stopping', { reason });
    if (!this.source) return; // still starting: run() notices and returns
    this.enqueue(async () => {
      await this.finalWork();
      this.finished?.(reason);
    });
  }

  /** What stop() does before the service ends: write and commit everything taken. */
  protected abstract finalWork(): Promise<void>;

  /** Runs until stop() (graceful), the end of input, or a fatal error (rejects). */
  async run(): Promise<Summary> {
    const done = new Promise<string>((resolve, reject) => {
      this.finished = resolve;
      this.failed = reject;
    });
    done.catch(() => undefined); // awaited below; a failure before that point must not go unhandled
    // A failure while starting (a broker refusing us, a topic check) must not leave the admin
    // client or the producer thread connected: the process would never exit.
    try {
      this.admin = this.client.admin();
      await this.admin.connect();
      await this.waitForTopics();
      if (this.stopping) {
        await this.shutdown();
        return this.summary('stopped while waiting for the input topics');
      }
      await this.start();
    } catch (err) {
      await this.shutdown();
      throw err;
    }
    let reason: string;
    try {
      reason = await done;
    } catch (err) {
      await this.shutdown();
      throw err;
    }
    await this.shutdown();
    return this.summary(reason);
  }

  /** Ends run() with `err` (once): the process exits non-zero and a supervisor restarts it. */
  protected fail(err: Error): void {
    if (this.stopping && !this.failed) return;
    this.stopping = true;
    this.health = { ok: false, status: `failed: ${err.message}` };
    this.failed?.(err);
    this.failed = null;
  }

  /** Queues `task` after every task queued before it; a task that throws fails the service. */
  protected enqueue(task: () => Promise<void>): Promise<void> {
    const p = this.serial.then(task);
    this.serial = p.catch((err: Error) => this.fail(err));
    return p.catch(() => undefined);
  }

  /**
   * A group that subscribes before its topic exists is assigned nothing until its next metadata
   * refresh (minutes), and auto-creation would give the topic the broker's default partitions;
   * so wait for the topics, saying so, instead.
   */
  private async waitForTopics(): Promise<void> {
    let said = false;
    for (;;) {
      const existing = await this.admin!.listTopics();
      const missing = this.inputTopics.filter((t) => !existing.has(t));
      if (missing.length === 0 || this.stopping) return;
      if (!said) this.log.warn('waiting for input topic(s) to be created', { missing });
      said = true;
      this.health = { ok: false, status: `waiting for topic(s) ${missing.join(', ')}` };
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  private async shutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.health.ok) this.health = { ok: false, status: 'stopped' };
    await this.serial;
    this.beforeDisconnect();
    await disconnectAll(this.log, [
      ['consumer disconnect', this.source],
      ['producer disconnect', this.sink],
      ['admin disconnect', this.admin],
    ]);
  }
}
