import type { Subscription } from 'rxjs';
import type { FlowTracker } from '../flow/flow-tracker';
import { InputDecoder, type InputFormat } from '../ingest/input-decoder';
import type { PcapRecordOptions } from '../ingest/pcap-record';
import type { Severity, TcpReuseEvent } from '../model/events';
import type { PacketRecord } from '../model/packet-record';
import { analyze, type AnalyzeOptions } from '../operators/analyze';
import type { Logger } from '../util/logger';
import { US_PER_S } from '../util/options';
import { PushSource } from '../util/push-source';
import type { BatchContext, ConsumedBatch, KafkaClient, TopicPartition } from './client';
import type { Compression } from './codecs';
import { DeadLetters, prepareDeadLetterTopic } from './dead-letter';
import type { OutputFormat, OutputTopics } from './event-records';
import { EventOutput } from './event-output';
import { SchemaRegistryClient, type RegistrySettings } from './schema-registry';
import type { PackedMessages } from './message-pack';
import { limitCounts, type LimitedTables } from '../operators/limit-counts';
import type { Metrics } from './metrics';
import { EventTimeMerger, type PendingMessage } from './partition-merge';
import { LimitWarnings } from './limit-warnings';
import { ServiceLifecycle } from './service-lifecycle';
import { StatePins } from './state-pins';
import { WriteBehind, type CommitOffsets } from './write-behind';

export interface ConsumeOptions {
  readonly groupId: string;
  readonly topics: readonly string[];
  /** Where a group without committed offsets starts. @default true */
  readonly fromBeginning: boolean;
  readonly inputFormat: InputFormat;
  readonly pcapRecord?: PcapRecordOptions;
  /** See InputDecoderOptions.maxFutureS. @default 86400 */
  readonly maxFutureS?: number;
  readonly outputTopics: OutputTopics;
  readonly outputFormat: OutputFormat;
  readonly compression: Compression;
  readonly dlqTopic: string;
  /**
   * port.reuse events below this severity are not written (counted in reuses_not_written_total);
   * reuse.stats still count every reuse. @default "info": all are written
   */
  readonly minSeverity?: Severity;
  /**
   * Avro through a Schema Registry: avro input in its wire format (writer schemas fetched by id),
   * avro output framed the same, its schema registered under `<topic>-value`.
   */
  readonly registry?: RegistrySettings | null;
  readonly analyze: Omit<AnalyzeOptions, 'annotate' | 'watermarks' | 'hooks'>;
  /** Stop once every assigned partition is consumed to its end: flush open flows (closedBy "eof") and commit. */
  readonly untilEnd: boolean;
  /** A partition silent this long no longer holds back event-time merging. @default 2000 */
  readonly mergeIdleMs?: number;
  /**
   * Event-time seconds an ended connection keeps its opening offset uncommitted, so a restart
   * replays far enough back to remember it for reuse detection. @default the reuse window
   */
  readonly rebuildWindowS?: number;
  readonly sessionTimeoutMs?: number;
}

export interface ConsumeSummary {
  readonly messages: number;
  readonly packets: number;
  readonly events: number;
  readonly deadLettered: number;
  /** port.reuse events below `minSeverity`, not written; present only when there were some. */
  readonly reusesNotWritten?: number;
  /** Events the --output-format schema has no place for, not written; present only when there were some. */
  readonly eventsNotInFormat?: number;
  readonly reason: string;
  /**
   * With `untilEnd`: seconds from the first batch fetched to the last event acknowledged, the
   * consuming itself without start-up (group join, topic checks) and shutdown; otherwise null.
   */
  readonly consumingS: number | null;
}

const PAUSE_ABOVE_PACKETS = 500_000;
/**
 * Packets fetched and decoded but not yet analysed, above which the batch handler waits for the
 * analysis. Below it the handler returns once a batch is decoded, so the client fetches the next
 * batch while this one is analysed instead of after (the broker's fetch latency was ~20% of the
 * pipeline thread's time). About one fetch's worth: packets held longer outlive the young
 * generation and are collected by full GCs (30,000 measured 1.08-1.12x the throughput of 300,000,
 * and 1.05-1.08x of 10,000 and 60,000, side by side on short and long flows).
 */
const FETCH_AHEAD_PACKETS = 30_000;
/** Records the write-behind may hold before the batch handler waits for it (memory bound). */
const WRITE_BACKLOG = 100_000;
/**
 * Records in the outbox at which it goes to the producer thread at once, without waiting for the
 * end of the chunk or for the write in flight: at the end of input every lingering flow closes in
 * one burst, and the thread should be writing the first of those while the rest are being made.
 */
const EAGER_WRITE_RECORDS = 4_096;
/** Packets analysed between two flushes to the write-behind. */
const RELEASE_CHUNK = 20_000;
const TICK_MS = 250;

const keyOf = (tp: TopicPartition): string => `${tp.topic}/${tp.partition}`;
const partOf = (key: string): TopicPartition => {
  const i = key.lastIndexOf('/');
  return { topic: key.slice(0, i), partition: Number(key.slice(i + 1)) };
};

/**
 * `tcpreuse consume`: packet-decoded messages from Kafka through the one `analyze` pipeline, the
 * events back to Kafka.
 *
 * Delivery is at-least-once by construction: an input offset is committed only when (1) every
 * event produced from it and from all earlier messages of its partition has been acknowledged by
 * the broker (acks=all, idempotent producer), and (2) no state still held in memory depends on it
 * (see StatePins). Partitions are merged in event time before the pipeline (EventTimeMerger).
 */
export class ConsumeService extends ServiceLifecycle<ConsumeSummary> {
  private readonly decoder: InputDecoder;
  private readonly merger: EventTimeMerger;
  private readonly pins: StatePins;
  private readonly input = new PushSource<PacketRecord>();
  private pipeline: Subscription | null = null;
  private tracker: FlowTracker | null = null;
  /** The tables the limits bound, for the limit metric and warnings. */
  private readonly limited: LimitedTables = {};
  private readonly limitWarnings = new LimitWarnings(this.log);
  private readonly writer = new WriteBehind(
    (out, tally) => this.write(out, tally),
    (offsets) => this.commitOffsets(offsets),
    (err) => this.fail(err),
  );
  private current: PendingMessage | null = null;
  private readonly deadLetters: DeadLetters;
  private drainTask: Promise<void> | null = null;
  /** When the oldest batch not yet analysed arrived (ms), 0 when none: processing latency. */
  private undrainedSince = 0;
  /** performance.now() of the first batch and of the end of input written (for ConsumeSummary.consumingS). */
  private firstBatchAt = 0;
  private endWrittenAt = 0;
  private eventTime = -Infinity;
  private assigned: string[] = [];
  private readonly committed = new Map<string, number>();
  private readonly lag = new Map<string, number>();
  /**
   * Per partition, the offset after the last message taken into the state, for the life of the
   * process (kept when a partition is revoked): kafkajs re-reads from the committed offset after
   * it restarts itself (a broker outage), and what the state already holds must not run through
   * it again (a reuse of every connection with itself).
   */
  private readonly takenUpTo = new Map<string, number>();
  private readonly paused = new Set<string>();
  private startOffsets = new Map<string, number>();
  private pipelineError: Error | null = null;
  private readonly output: EventOutput;
  private readonly registry: SchemaRegistryClient | null;
  private readonly count: {
    messages: (n?: number, l?: Record<string, string>) => void;
    packets: (n?: number) => void;
    events: (n?: number, l?: Record<string, string>) => void;
    dlq: (n?: number, l?: Record<string, string>) => void;
    commits: (n?: number) => void;
    commitFailures: (n?: number) => void;
    rereadSkipped: (n?: number) => void;
  };

  constructor(
    private readonly options: ConsumeOptions,
    client: KafkaClient,
    log: Logger,
    private readonly metrics: Metrics,
  ) {
    super(client, log, options.topics);
    this.registry = options.registry ? new SchemaRegistryClient(options.registry, log) : null;
    this.decoder = new InputDecoder({ format: options.inputFormat, pcapRecord: options.pcapRecord, maxFutureS: options.maxFutureS, registry: this.registryInput() });
    this.merger = new EventTimeMerger({ idleAfterMs: options.mergeIdleMs });
    // What a restart must rebuild is reuse detection's memory; stream numbers are this instance's own.
    const retainS = options.rebuildWindowS ?? options.analyze.reuse?.windowS ?? 14400;
    this.pins = new StatePins(retainS * US_PER_S);
    this.output = new EventOutput(metrics, options);
    this.deadLetters = new DeadLetters(() => this.writer.outbox, options.dlqTopic, options.inputFormat, (n, l) => this.count.dlq(n, l), log);
    this.count = {
      messages: metrics.counter('messages_in_total', 'Kafka messages consumed, by topic.'),
      packets: metrics.counter('packets_in_total', 'Packets decoded from the consumed messages.'),
      events: metrics.counter('events_out_total', 'Events written and acknowledged, by type.'),
      dlq: metrics.counter('dead_letter_total', 'Messages sent to the dead-letter topic, by input format.'),
      commits: metrics.counter('offset_commits_total', 'Offset commits.'),
      commitFailures: metrics.counter('offset_commit_failures_total', 'Offset commits the broker refused (retried on the next drain).'),
      rereadSkipped: metrics.counter('reread_skipped_total', 'Messages fetched again that the state already holds (skipped).'),
    };
    metrics.gauge('open_flows', 'TCP flows open in the flow table.', () => [{ labels: {}, value: this.tracker?.openFlows ?? 0 }]);
    metrics.gauge('limit_reached_total', 'Entries a full table dropped or did not take, by limit and table (docs/limits.md).', () =>
      limitCounts(this.limited).map((c) => ({ labels: { limit: c.limit, table: c.table }, value: c.count })),
    );
    metrics.gauge('pinned_flows', 'Flows whose opening offset holds back the commit (open or remembered).', () => [{ labels: {}, value: this.pins.size }]);
    metrics.gauge('buffered_packets', 'Packets waiting for event-time merging across partitions.', () => [{ labels: {}, value: this.merger.buffered }]);
    metrics.gauge('consumer_lag', 'Messages between the last fetched offset and the partition end, by partition.', () =>
      [...this.lag].map(([k, v]) => ({ labels: { topic: partOf(k).topic, partition: String(partOf(k).partition) }, value: v })),
    );
    metrics.gauge('skipped_input_total', 'Valid input that carried no TCP packet, by reason.', () =>
      [...this.decoder.skipped].map(([reason, value]) => ({ labels: { reason }, value })),
    );
  }

  protected async start(): Promise<void> {
    this.startPipeline();
    await this.createOutputTopics();
    if (this.options.untilEnd) {
      for (const topic of this.options.topics) {
        for (const [p, off] of await this.admin!.committedOffsets(this.options.groupId, topic)) this.startOffsets.set(keyOf({ topic, partition: p }), Number(off));
      }
    }
    const o = this.options;
    await this.startConsuming({ ...o, tickMs: TICK_MS }, { topics: o.topics, groupId: o.groupId, format: o.inputFormat });
  }

  protected summary(reason: string): ConsumeSummary {
    const notWritten = this.metrics.total('reuses_not_written_total');
    const notInFormat = this.metrics.total('events_not_in_format_total');
    return {
      messages: this.metrics.total('messages_in_total'),
      packets: this.metrics.total('packets_in_total'),
      events: this.metrics.total('events_out_total'),
      deadLettered: this.metrics.total('dead_letter_total'),
      ...(notWritten > 0 ? { reusesNotWritten: notWritten } : {}),
      ...(notInFormat > 0 ? { eventsNotInFormat: notInFormat } : {}),
      reason,
      consumingS: this.firstBatchAt > 0 && this.endWrittenAt > 0 ? (this.endWrittenAt - this.firstBatchAt) / 1000 : null,
    };
  }

  /**
   * Output topics that do not exist are created with as many partitions as the (first) input
   * topic, rather than left to the broker's auto-creation (one partition, and a retried
   * "unknown topic" error on the first write).
   */
  private async createOutputTopics(): Promise<void> {
    const partitions = Math.max(1, (await this.admin!.endOffsets(this.options.topics[0])).size);
    const { flows, alerts, packets } = this.options.outputTopics;
    const topics = [...new Set([flows, alerts, packets].filter((t): t is string => t !== null))];
    this.deadLetters.maxBytes = await prepareDeadLetterTopic(this.admin!, this.options.topics[0], this.options.dlqTopic, partitions);
    await this.admin!.ensureTopics(topics.filter((t) => t !== this.options.dlqTopic).map((topic) => ({ topic, partitions })));
    if (this.registry && this.options.outputFormat === 'avro') await this.output.useRegistry(this.registry, topics);
  }

  /** The registry, when input messages are avro in its wire format. */
  private registryInput(): SchemaRegistryClient | undefined {
    return this.options.inputFormat === 'avro' ? (this.registry ?? undefined) : undefined;
  }

  /** Graceful stop: no new batches, drain what is releasable, flush, commit, disconnect. */
  protected async finalWork(): Promise<void> {
    await this.drainAndFlush(false);
    await this.writer.settle();
  }

  private startPipeline(): void {
    const annotate = this.options.outputTopics.packets !== null;
    this.pipeline = this.input
      .pipe(
        analyze({
          ...this.options.analyze,
          annotate,
          hooks: {
            onTracker: (t) => (this.tracker = this.limited.tracker = t),
            onDetector: (d) => (this.limited.detector = d),
            onCycles: (d) => (this.limited.cycles = d),
            onStats: (w) => (this.limited.stats = w),
          },
        }),
      )
      .subscribe({
        next: (e) => this.onEvent(e),
        error: (err: Error) => {
          this.pipelineError = err;
          this.fail(err);
        },
      });
  }

  private onEvent(e: TcpReuseEvent): void {
    const m = this.current;
    if (e.type === 'flow.open' && m) this.pins.pin(e.flowId, m.partitionKey, m.offset);
    else if (e.type === 'flow.close') this.pins.closed(e.flowId, e.endTs);
    if (this.output.write(this.writer.outbox, e) && this.writer.outbox.count >= EAGER_WRITE_RECORDS) this.writer.handOver();
  }

  protected onAssignment(a: TopicPartition[]): void {
    const keys = a.map(keyOf);
    const now = Date.now();
    this.enqueue(async () => {
      for (const old of this.assigned) {
        if (!keys.includes(old)) {
          this.pins.dropPartition(old);
          this.committed.delete(old);
          this.lag.delete(old);
          this.paused.delete(old);
        }
      }
      this.assigned = keys;
      this.merger.assign(keys, now);
      this.log.info('partitions assigned', { partitions: keys });
    });
  }

  protected override onEmptyBatch(b: TopicPartition & { nextOffset: string; highWatermark: string }): void {
    const key = keyOf(b);
    const next = Number(b.nextOffset);
    void this.enqueue(async () => {
      if (!this.assigned.includes(key)) return;
      if (next > (this.takenUpTo.get(key) ?? -1)) this.takenUpTo.set(key, next);
      this.merger.advance(key, next, next >= Number(b.highWatermark), Date.now());
    });
  }

  protected async onBatch(batch: ConsumedBatch, ctx: BatchContext): Promise<void> {
    if (this.stopping) return;
    const started = Date.now();
    this.firstBatchAt ||= performance.now();
    // Writer schemas this batch names that are not known yet, fetched before decoding (which is synchronous).
    await this.registryInput()?.prepare(batch.messages.map((m) => m.value));
    await this.enqueue(async () => {
      if (this.stopping || !ctx.isRunning()) return;
      const key = keyOf(batch);
      const taken: PendingMessage[] = [];
      const upTo = this.takenUpTo.get(key) ?? -1;
      for (const msg of batch.messages) {
        const offset = Number(msg.offset);
        if (offset < upTo) {
          this.count.rereadSkipped(1);
          continue;
        }
        taken.push({ partitionKey: key, offset, packets: this.deadLetters.decode(this.decoder, batch, msg), next: 0 });
      }
      this.count.messages(batch.messages.length, { topic: batch.topic });
      const end = batch.messages.length ? Number(batch.messages[batch.messages.length - 1].offset) + 1 : 0;
      if (end > upTo) this.takenUpTo.set(key, end);
      const hw = Number(batch.highWatermark);
      this.lag.set(key, Math.max(0, hw - end));
      this.merger.add(key, taken, end >= hw, Date.now());
      if (this.merger.bufferedIn(key) > PAUSE_ABOVE_PACKETS && !this.paused.has(key)) {
        // This partition runs far ahead of another in event time: stop fetching it for a while.
        this.paused.add(key);
        this.source?.pause([partOf(key)]);
      }
      this.undrainedSince ||= started;
    });
    const analysed = this.scheduleDrain();
    // Every partition fetched to its end: check for the end of input now, not at the next tick.
    if (this.options.untilEnd && this.merger.allCaughtUp()) this.tick();
    if (this.merger.buffered > FETCH_AHEAD_PACKETS) await analysed;
    // Outside the task on purpose: a rebalance surfaces here as an error kafkajs expects back from
    // its batch handler (it rejoins the group); it is not a failure of the service.
    await ctx.heartbeat();
  }

  /** Analyses what the merger releases, once, after the tasks queued so far (batches arriving meanwhile queue another). */
  private scheduleDrain(): Promise<void> {
    this.drainTask ??= this.enqueue(async () => {
      this.drainTask = null;
      if (this.stopping) return;
      await this.drainAndFlush(false);
      if (this.undrainedSince) this.metrics.observeLatency((Date.now() - this.undrainedSince) / 1000);
      this.undrainedSince = 0;
    });
    return this.drainTask;
  }

  /**
   * Releases what event-time order allows and hands the events, with the offsets they make safe
   * to commit, to the write-behind; waits for it only when it falls far behind.
   */
  private async drainAndFlush(force: boolean): Promise<void> {
    for (;;) {
      const released = this.release(force, RELEASE_CHUNK);
      if (this.pipelineError) throw this.pipelineError;
      this.pins.advance(this.eventTime);
      this.flushOutbox();
      if (this.writer.backlog > WRITE_BACKLOG) await this.writer.settle();
      if (released < RELEASE_CHUNK) break;
      // A fetched batch can hold 100k+ packets: yield between chunks so the producer thread's
      // acknowledgements come in and writing overlaps the analysis instead of following it.
      await new Promise((r) => setImmediate(r));
    }
    for (const key of [...this.paused]) {
      if (this.merger.bufferedIn(key) < PAUSE_ABOVE_PACKETS / 2) {
        this.paused.delete(key);
        this.source?.resume([partOf(key)]);
      }
    }
  }

  /** Feeds the pipeline what the merger releases (at most `limit` packets); events it emits meanwhile are attributed to `current`. */
  private release(force: boolean, limit = Infinity): number {
    let n = 0;
    this.merger.drain(
      (p, m) => {
        n++;
        this.current = m;
        if (p.ts > this.eventTime) this.eventTime = p.ts;
        this.input.next(p);
      },
      () => undefined,
      force,
      limit,
    );
    this.current = null;
    if (n > 0) this.count.packets(n);
    return n;
  }

  /** Has the outbox written and then the commit it allows (offsets whose every event is in it or before it). */
  private flushOutbox(): void {
    this.writer.mark(this.safeOffsets());
  }

  private async write(out: PackedMessages, eventsByType: ReadonlyMap<string, number>): Promise<void> {
    await this.sink!.send(out);
    for (const [type, n] of eventsByType) this.count.events(n, { type });
  }

  /** Per assigned partition: the first offset not yet released into the pipeline, held back by pins. */
  private safeOffsets(): CommitOffsets {
    const offsets: CommitOffsets = [];
    for (const key of this.assigned) {
      const next = this.merger.firstUnreleased(key);
      if (next === undefined || next < 0) continue;
      const pinned = this.pins.lowest(key);
      const safe = pinned === undefined ? next : Math.min(next, pinned);
      if (safe > (this.committed.get(key) ?? -1)) offsets.push({ ...partOf(key), offset: String(safe) });
    }
    return offsets;
  }

  private async commitOffsets(offsets: CommitOffsets): Promise<void> {
    // Partitions revoked while the write was in flight are their new owner's to commit.
    const fresh = offsets.filter((o) => this.assigned.includes(keyOf(o)) && Number(o.offset) > (this.committed.get(keyOf(o)) ?? -1));
    if (fresh.length === 0) return;
    try {
      await this.source!.commit(fresh);
    } catch (err) {
      // A rebalance or a coordinator move rejects commits for a moment. Not fatal: nothing is
      // marked committed, so the next drain commits again (or the partition's new owner replays).
      this.count.commitFailures(1);
      this.log.warn('offset commit failed; will retry', { error: err as Error });
      return;
    }
    for (const o of fresh) this.committed.set(keyOf(o), Number(o.offset));
    this.count.commits(1);
  }

  protected tick(): void {
    if (this.stopping) return;
    this.limitWarnings.check(limitCounts(this.limited), Date.now());
    this.enqueue(async () => {
      if (this.stopping) return;
      await this.askAboutSilentPartitions().catch((err: Error) => this.log.debug('end offsets not read; asking again at the next tick', { error: err }));
      await this.drainAndFlush(false);
      if (this.options.untilEnd && (await this.atEnd().catch((err: Error) => this.notYet(err)))) await this.finishAtEnd();
    });
  }

  private lastAskedMs = 0;

  /**
   * Partitions that hold the merge back and have been silent for --merge-idle-ms: the broker says
   * whether each is at its end (then it holds nothing back) or has more on its way (then the
   * merge waits for it: releasing later packets first would reorder event time).
   */
  private async askAboutSilentPartitions(): Promise<void> {
    const now = Date.now();
    const silent = this.merger.silent(now);
    if (silent.length === 0 || now - this.lastAskedMs < (this.options.mergeIdleMs ?? 2000) / 2) return;
    this.lastAskedMs = now;
    for (const topic of new Set(silent.map((s) => partOf(s.key).topic))) {
      const bounds = await this.admin!.offsetBounds(topic);
      // Never fetched: the consumer starts at the group's committed offset, else at the log's start or end.
      const committed = silent.some((s) => s.position < 0) ? await this.admin!.committedOffsets(this.options.groupId, topic) : new Map<number, string>();
      for (const { key, position } of silent.filter((s) => partOf(s.key).topic === topic)) {
        const partition = partOf(key).partition;
        const b = bounds.get(partition);
        if (!b) continue;
        const c = Number(committed.get(partition) ?? -1);
        const from = position >= 0 ? position : c >= 0 ? c : this.options.fromBeginning ? Number(b.low) : Number(b.high);
        if (from >= Number(b.high)) this.merger.atEnd(key);
      }
    }
  }

  /** The end-of-input check could not ask the broker this time; the next tick asks again. */
  private notYet(err: Error): boolean {
    this.log.debug('end-of-input check failed; retrying', { error: err });
    return false;
  }

  /** Every assigned partition consumed to its current end (by this instance or, as the group's commits say, another) and nothing left buffered. */
  private async atEnd(): Promise<boolean> {
    if (this.assigned.length === 0 || this.merger.buffered > 0) return false;
    const topics = new Set(this.assigned.map((k) => partOf(k).topic));
    for (const topic of topics) {
      const ends = await this.admin!.endOffsets(topic);
      let committed: Map<number, string> | null = null;
      for (const key of this.assigned.filter((k) => partOf(k).topic === topic)) {
        const partition = partOf(key).partition;
        const hw = Number(ends.get(partition) ?? 0);
        const taken = this.merger.firstUnreleased(key) ?? -1;
        const position = taken >= 0 ? taken : (this.startOffsets.get(key) ?? -1);
        if (hw <= 0 || position >= hw) continue;
        // Another member of the group may have consumed it to the end before a rebalance gave it to us.
        committed ??= await this.admin!.committedOffsets(this.options.groupId, topic);
        if (Number(committed.get(partition) ?? -1) < hw) return false;
      }
    }
    return true;
  }

  /** End of input: flush the pipeline (open flows close with "eof"), write, commit everything. */
  private async finishAtEnd(): Promise<void> {
    this.stopping = true;
    this.release(true);
    this.input.complete();
    if (this.pipelineError) throw this.pipelineError;
    this.pins.clear();
    this.flushOutbox();
    await this.writer.settle();
    this.endWrittenAt = performance.now();
    this.log.info('input consumed to its end', { messages: this.metrics.total('messages_in_total') });
    this.finished?.('end of input');
  }

  protected override beforeDisconnect(): void {
    this.pipeline?.unsubscribe();
  }
}
