/**
 * `tcpreuse consume --app-id …`: the scaled consumer (docs/scale-out.md). One consumer group
 * reads the input topics and the clients topic; every assigned partition is a task whose state
 * is its own (a FlowTask per input partition, a ClientTask per clients partition), checkpointed
 * to the changelog and restored from it wherever the partition goes. An input offset is committed
 * only when a checkpoint covering it and every record made before it are acknowledged.
 */
import { InputDecoder } from '../../ingest/input-decoder';
import type { TcpReuseEvent } from '../../model/events';
import type { Logger } from '../../util/logger';
import type { BatchContext, ConsumedBatch, KafkaClient, KafkaConnection, TopicPartition, TransactionalSink } from '../client';
import type { ConsumeOptions } from '../consume-service';
import { DeadLetters, prepareDeadLetterTopic } from '../dead-letter';
import { EventOutput } from '../event-output';
import { SchemaRegistryClient } from '../schema-registry';
import { MessagePacker, type PackedMessages } from '../message-pack';
import type { Metrics } from '../metrics';
import { ServiceLifecycle } from '../service-lifecycle';
import { WriteBehind, type CommitOffsets } from '../write-behind';
import { StaleMemberError } from '../wire/transactional-producer';
import { packCheckpoint, readCheckpoints, writtenCheckpoint } from './changelog';
import { FeedRecordError, packFeedMark, parseFeedRecord } from './feed-records';
import { registerTaskGauges } from './task-gauges';
import { ClientTask, FlowTask } from './tasks';

/** `consume`'s options (src/kafka/consume-service.ts), with an app id instead of a group, and the scaled mode's own. */
export interface ScaledConsumeOptions extends Omit<ConsumeOptions, 'groupId' | 'mergeIdleMs' | 'rebuildWindowS'> {
  /** Names the consumer group and the internal topics `<appId>.state`, `<appId>.clients-repartition`. */
  readonly appId: string;
  /** Processing time between two checkpoints of a task that has processed something. @default 5000 */
  readonly checkpointIntervalMs?: number;
  /** For reading the changelog (restores). */
  readonly connection: KafkaConnection;
  /** Replication factor of the internal topics. @default the broker's default */
  readonly internalReplication?: number;
  /**
   * --exactly-once: every write (events, feed, checkpoints, dead letters) and the offsets in one
   * Kafka transaction per checkpoint interval (all dirty tasks checkpoint together).
   */
  readonly exactlyOnce?: { readonly transactionalId: string; readonly transactionTimeoutMs: number };
}

export interface ScaledSummary {
  readonly messages: number;
  readonly packets: number;
  readonly events: number;
  readonly deadLettered: number;
  readonly checkpoints: number;
  readonly restores: number;
  readonly eventsNotInFormat?: number;
  readonly reason: string;
}

const TICK_MS = 250;
/** How often a task that fetches nothing asks the broker whether its partition is at its end. */
const END_CHECK_MS = 1000;
/** Records the write-behind may hold before a batch waits for it (memory bound). */
const WRITE_BACKLOG = 100_000;

const keyOf = (tp: TopicPartition): string => `${tp.topic}/${tp.partition}`;

export function internalTopics(appId: string): { state: string; clients: string } {
  return { state: `${appId}.state`, clients: `${appId}.clients-repartition` };
}

export class ScaledConsumeService extends ServiceLifecycle<ScaledSummary> {
  private readonly decoder: InputDecoder;
  private readonly internal: { state: string; clients: string };
  private readonly flowTasks = new Map<string, FlowTask>();
  private readonly clientTasks = new Map<string, ClientTask>();
  /** Every input partition (the client stage's upstreams), and the clients and state partition counts. */
  private upstreams: string[] = [];
  private partitions = 1;
  private readonly writer: WriteBehind;
  /** When the last transaction was committed (--exactly-once). */
  private lastTransactionMs = Date.now();
  /** Exactly-once: transactions the group refused (their tasks dropped, to be restored by whoever owns them next). */
  private refusedTransactions = 0;
  private lastEndCheck = 0;
  private restoring = 0;
  /**
   * From the checkpoints before a join until the assignment after it: the tasks are frozen (no
   * tick, no batch) so that their state stays exactly what the new owners restore.
   */
  private rejoining = false;
  private readonly output: EventOutput;
  private readonly registry: SchemaRegistryClient | null;
  private readonly count: Record<'messages' | 'packets' | 'events' | 'dlq' | 'commits' | 'commitFailures' | 'checkpoints' | 'restores' | 'rereadSkipped' | 'badFeed', (n?: number, l?: Record<string, string>) => void>;
  private readonly restoreSeconds: (n?: number, l?: Record<string, string>) => void;
  private readonly restoreBytes: (n?: number, l?: Record<string, string>) => void;
  private lastCheckpointBytes = 0;
  /** Checkpoints taken whose events are still being written (see checkpoint), by `task@offset`. */
  private readonly pendingCheckpoints = new Map<string, { task: FlowTask | ClientTask; bytes: Buffer; offset: number; serial: number }>();
  /**
   * Numbers every checkpointTasks call: its offsets carry it, so a commit writes the checkpoints
   * taken at its own mark. Keyed by offset alone, a task checkpointed twice at one offset (a flush
   * at the end of input changes the state without a message) had its later state written with the
   * earlier mark's records: committed without the flush's output, which a refused next
   * transaction then lost for good (the exactly-once zombie trial's missing flow.close events).
   */
  private checkpointSerial = 0;
  private readonly deadLetters: DeadLetters;

  constructor(
    private readonly options: ScaledConsumeOptions,
    client: KafkaClient,
    log: Logger,
    private readonly metrics: Metrics,
  ) {
    super(client, log, options.topics);
    this.writer = new WriteBehind(
      (out, tally) => this.write(out, tally),
      (offsets) => this.commit(offsets),
      (err) => this.fail(err),
      options.exactlyOnce !== undefined,
    );
    this.registry = options.registry ? new SchemaRegistryClient(options.registry, log) : null;
    this.decoder = new InputDecoder({ format: options.inputFormat, pcapRecord: options.pcapRecord, maxFutureS: options.maxFutureS, registry: this.registryInput() });
    this.internal = internalTopics(options.appId);
    const c = (name: string, help: string): ((n?: number, l?: Record<string, string>) => void) => metrics.counter(name, help);
    this.output = new EventOutput(metrics, options);
    this.count = {
      messages: c('messages_in_total', 'Kafka messages consumed, by topic.'),
      packets: c('packets_in_total', 'Packets decoded from the consumed messages.'),
      events: c('events_out_total', 'Events written and acknowledged, by type.'),
      dlq: c('dead_letter_total', 'Messages sent to the dead-letter topic, by input format.'),
      commits: c('offset_commits_total', 'Offset commits.'),
      commitFailures: c('offset_commit_failures_total', 'Offset commits the broker refused (retried with the next checkpoint).'),
      checkpoints: c('checkpoints_total', 'Task checkpoints written to the changelog, by stage.'),
      restores: c('restores_total', 'Tasks restored from a checkpoint, by stage.'),
      rereadSkipped: c('reread_skipped_total', 'Messages fetched again that the task had already processed (skipped).'),
      badFeed: c('bad_feed_records_total', 'Records of the clients topic that are not a flow task\'s (skipped).'),
    };
    this.deadLetters = new DeadLetters(() => this.writer.outbox, options.dlqTopic, options.inputFormat, (n, l) => this.count.dlq(n, l), log);
    this.restoreSeconds = c('restore_seconds_total', 'Seconds spent reading checkpoints from the changelog.');
    this.restoreBytes = c('restore_bytes_total', 'Changelog bytes read to restore tasks.');
    registerTaskGauges(metrics, { flowTasks: this.flowTasks, clientTasks: this.clientTasks, lastCheckpointBytes: () => this.lastCheckpointBytes });
  }

  protected async start(): Promise<void> {
    await this.createTopics();
    const o = this.options;
    // One group over the input and the clients topic: every partition of either is a task.
    await this.startConsuming(
      { ...o, groupId: o.appId, topics: [...o.topics, this.internal.clients], tickMs: TICK_MS, transaction: o.exactlyOnce },
      { topics: o.topics, appId: o.appId, format: o.inputFormat, scaled: true, ...(o.exactlyOnce ? { transactionalId: o.exactlyOnce.transactionalId } : {}) },
    );
  }

  /** Graceful stop: every task checkpointed, everything written and committed (then the group is left). */
  protected async finalWork(): Promise<void> {
    // While rejoining, the tasks' checkpoints are written already and may be someone else's now.
    if (!this.rejoining) this.checkpointAll(true);
    if (this.options.exactlyOnce) this.writer.mark([], true); // the last transaction ends here
    await this.writer.settle();
  }

  protected summary(reason: string): ScaledSummary {
    const t = (n: string): number => this.metrics.total(n);
    return {
      messages: t('messages_in_total'),
      packets: t('packets_in_total'),
      events: t('events_out_total'),
      deadLettered: t('dead_letter_total'),
      checkpoints: t('checkpoints_total'),
      restores: t('restores_total'),
      ...(t('events_not_in_format_total') > 0 ? { eventsNotInFormat: t('events_not_in_format_total') } : {}),
      reason,
    };
  }

  /**
   * The internal topics get as many partitions as the largest input topic: the clients topic one
   * client task per input partition, the state topic one partition per task number. Output topics
   * missing are created like the input.
   */
  private async createTopics(): Promise<void> {
    this.upstreams = [];
    for (const topic of this.options.topics) {
      const n = (await this.admin!.endOffsets(topic)).size;
      this.partitions = Math.max(this.partitions, n);
      for (let p = 0; p < n; p++) this.upstreams.push(`${topic}/${p}`);
    }
    const { flows, alerts, packets } = this.options.outputTopics;
    const outputs = [...new Set([flows, alerts, packets].filter((t): t is string => t !== null && t !== this.options.dlqTopic))];
    this.deadLetters.maxBytes = await prepareDeadLetterTopic(this.admin!, this.options.topics[0], this.options.dlqTopic, this.partitions);
    const replicationFactor = this.options.internalReplication;
    await this.admin!.ensureTopics([
      ...outputs.map((topic) => ({ topic, partitions: this.partitions })),
      { topic: this.internal.clients, partitions: this.partitions, replicationFactor, configs: { 'retention.ms': '-1' } },
      { topic: this.internal.state, partitions: this.partitions, replicationFactor, configs: { 'cleanup.policy': 'compact' } },
    ]);
    if (this.registry && this.options.outputFormat === 'avro') await this.output.useRegistry(this.registry, outputs);
  }

  /** The registry, when input messages are avro in its wire format. */
  private registryInput(): SchemaRegistryClient | undefined {
    return this.options.inputFormat === 'avro' ? (this.registry ?? undefined) : undefined;
  }

  /** After each join: tasks of partitions no longer owned are dropped, new ones restored from the changelog. */
  protected onAssignment(assigned: TopicPartition[]): void {
    this.enqueue(async () => {
      this.rejoining = false;
      const keys = new Set(assigned.map(keyOf));
      for (const tasks of [this.flowTasks, this.clientTasks] as Map<string, FlowTask | ClientTask>[]) {
        for (const k of [...tasks.keys()]) if (!keys.has(k)) tasks.delete(k);
      }
      const fresh: (FlowTask | ClientTask)[] = [];
      for (const tp of assigned) {
        const key = keyOf(tp);
        if (this.flowTasks.has(key) || this.clientTasks.has(key)) continue;
        const task = tp.topic === this.internal.clients ? this.newClientTask(tp) : this.newFlowTask(tp);
        if (task instanceof ClientTask) this.clientTasks.set(key, task);
        else this.flowTasks.set(key, task);
        fresh.push(task);
      }
      this.log.info('partitions assigned', { flow: [...this.flowTasks.keys()], client: [...this.clientTasks.keys()], new: fresh.map((t) => t.key) });
      if (fresh.length > 0) await this.restore(fresh);
    });
  }

  private newFlowTask(tp: TopicPartition): FlowTask {
    const a = this.options.analyze;
    const annotate = this.options.outputTopics.packets !== null;
    return new FlowTask(
      tp.topic,
      tp.partition,
      { flows: { ...a.flows, sensor: a.sensor, annotate }, reuse: { ...a.reuse, timeWaitS: a.timeWaitS } },
      (e) => this.emit(e),
      this.partitions,
    );
  }

  private newClientTask(tp: TopicPartition): ClientTask {
    const a = this.options.analyze;
    return new ClientTask(tp.topic, tp.partition, { timeWaitS: a.timeWaitS, cycles: a.cycles, stats: a.stats }, this.upstreams, (e) => this.emit(e));
  }

  /** Reads the newest checkpoint of each task from its state partition; the task goes on from the offset it covers. */
  private async restore(tasks: (FlowTask | ClientTask)[]): Promise<void> {
    this.restoring++;
    this.health = { ok: false, status: 'restoring' };
    try {
      const byStatePartition = new Map<number, (FlowTask | ClientTask)[]>();
      for (const t of tasks) {
        const p = t.partition % this.partitions;
        byStatePartition.set(p, [...(byStatePartition.get(p) ?? []), t]);
      }
      for (const [p, list] of byStatePartition) {
        // Exactly-once: committed checkpoints only, once the transactions before this read have ended
        // (a dead member's is aborted by the broker after the timeout, checked every 10 s by default).
        const committedWithinMs = this.options.exactlyOnce ? 2 * this.options.exactlyOnce.transactionTimeoutMs + 15_000 : undefined;
        const r = await readCheckpoints(this.options.connection, this.log, this.internal.state, p, new Set(list.map((t) => t.key)), committedWithinMs);
        this.restoreSeconds(r.seconds);
        this.restoreBytes(r.bytes);
        for (const t of list) {
          const found = r.restored.get(t.key);
          if (!found) continue;
          t.restore(found.checkpoint);
          t.nextOffset = found.manifest.offset;
          t.written = [writtenCheckpoint(found.manifest)];
          this.count.restores(1, { stage: t.kind });
          this.log.info('task restored', { task: t.key, offset: found.manifest.offset, bytes: found.manifest.bytes, seconds: Math.round(r.seconds * 1000) / 1000 });
        }
      }
      // Where the group's committed offset lies past a checkpoint (it never should: commits wait
      // for checkpoints), the task must not skip what its state has not seen: fetch from there.
      for (const topic of new Set(tasks.map((t) => t.topic))) {
        const committed = await this.admin!.committedOffsets(this.options.appId, topic);
        for (const t of tasks.filter((x) => x.topic === topic)) {
          const c = Number(committed.get(t.partition) ?? -1);
          if (t.nextOffset >= 0 && c > t.nextOffset) {
            this.log.warn('committed offset past the checkpoint: re-reading from the checkpoint', { task: t.key, committed: c, checkpoint: t.nextOffset });
            this.source!.seek(t, String(t.nextOffset));
          }
          if (t.nextOffset < 0 && c >= 0) t.nextOffset = c;
        }
      }
    } finally {
      this.restoring--;
      if (this.restoring === 0 && !this.stopping) this.health = { ok: true, status: 'consuming' };
    }
  }

  protected async onBatch(batch: ConsumedBatch, ctx: BatchContext): Promise<void> {
    if (this.stopping) return;
    // Writer schemas an input batch names that are not known yet, fetched before decoding (which is synchronous).
    if (batch.topic !== this.internal.clients) await this.registryInput()?.prepare(batch.messages.map((m) => m.value));
    await this.enqueue(async () => {
      if (this.stopping || this.rejoining || !ctx.isRunning()) return;
      const key = keyOf(batch);
      const flow = this.flowTasks.get(key);
      const client = this.clientTasks.get(key);
      if (flow) this.flowBatch(flow, batch);
      else if (client) this.clientBatch(client, batch);
      else return; // a partition this instance no longer owns
      if (this.writer.backlog > WRITE_BACKLOG) await this.writer.settle();
    });
    // A rebalance this heartbeat learns of is handled before the rejoin (beforeGroupJoin).
    await ctx.heartbeat();
  }

  /**
   * A fetch that delivered only transaction markers (--exactly-once writes one per partition and
   * commit into the clients topic): the task's position moves past them, or it would never be
   * caught up with its partition's end.
   */
  protected override onEmptyBatch(b: TopicPartition & { nextOffset: string; highWatermark: string }): void {
    void this.enqueue(async () => {
      const task = this.flowTasks.get(keyOf(b)) ?? this.clientTasks.get(keyOf(b));
      if (!task || this.rejoining) return;
      task.nextOffset = Math.max(task.nextOffset, Number(b.nextOffset));
      task.highWatermark = Number(b.highWatermark);
    });
  }

  /**
   * Before every (re)join: the eager protocol takes every partition away at a join, and the new
   * owners restore from the changelog, so every task checkpoints and everything is written and
   * committed first (the group waits for this member). kafkajs learns of a rebalance in its own
   * heartbeats as often as in ours; this hook catches both.
   */
  protected override async beforeGroupJoin(): Promise<void> {
    const started = Date.now();
    let tasks = 0;
    await this.enqueue(async () => {
      this.rejoining = true;
      tasks = [...this.flowTasks.values(), ...this.clientTasks.values()].filter((t) => t.dirty).length;
      this.checkpointAll(false);
      if (this.options.exactlyOnce) this.writer.mark([], true); // no transaction stays open over a rebalance
      await this.writer.settle();
    });
    if (tasks > 0) this.log.info('tasks checkpointed before the group rebalances', { tasks, ms: Date.now() - started });
  }

  /**
   * The messages of `batch` the task has not processed yet, each followed by the task's progress
   * past it: a message fetched again (kafkajs re-reads from the committed offset after it
   * restarts, e.g. through a broker outage) must never run through the state a second time.
   */
  private *unprocessed(task: FlowTask | ClientTask, batch: ConsumedBatch): Generator<ConsumedBatch['messages'][number]> {
    for (const msg of batch.messages) {
      const offset = Number(msg.offset);
      if (offset < task.nextOffset) {
        this.count.rereadSkipped(1);
        continue;
      }
      yield msg;
      task.nextOffset = offset + 1;
      task.dirty = true;
    }
    // Transaction markers after the last message (--exactly-once's clients topic) are passed too.
    if (batch.nextOffset !== undefined) task.nextOffset = Math.max(task.nextOffset, Number(batch.nextOffset));
    task.highWatermark = Number(batch.highWatermark);
  }

  private flowBatch(task: FlowTask, batch: ConsumedBatch): void {
    let packets = 0;
    for (const msg of this.unprocessed(task, batch)) {
      for (const p of this.deadLetters.decode(this.decoder, batch, msg)) {
        task.stage.push(p);
        packets++;
      }
    }
    this.count.messages(batch.messages.length, { topic: batch.topic });
    this.count.packets(packets);
    this.afterFlowWork(task);
  }

  /** Marks and checkpoints a flow task owes after processing (or after learning it is at its end). */
  private afterFlowWork(task: FlowTask): void {
    this.writeFeed(task);
    // Idle tells the client stage not to wait for this task (see FlowStage.idleWhenCaughtUp).
    const idle = task.caughtUp && task.stage.idleWhenCaughtUp();
    if (task.markDue(idle)) this.sendMarks(task, idle, false);
    if (this.checkpointDue(task) || (idle && task.dirty)) this.checkpointTasks([task]);
    this.writer.mark([]);
  }

  private clientBatch(task: ClientTask, batch: ConsumedBatch): void {
    for (const msg of this.unprocessed(task, batch)) {
      try {
        const r = parseFeedRecord(msg);
        if (r.kind === 'items') for (const item of r.items) task.stage.add(r.from, item.seq, item.event);
        else task.stage.mark(r.from, r.ts, r.idle, r.final);
      } catch (err) {
        if (!(err instanceof FeedRecordError)) throw err;
        this.count.badFeed(1);
        this.log.warn('record of the clients topic skipped', { partition: batch.partition, error: err.message });
      }
    }
    task.stage.drain();
    if (this.checkpointDue(task)) this.checkpointTasks([task]);
    this.writer.mark([]);
  }

  private emit(e: TcpReuseEvent): void {
    this.output.write(this.writer.outbox, e);
  }

  /** The client-stage items a flow task's last work gave, one record per clients partition, ahead of anything after them (marks, checkpoints). */
  private writeFeed(task: FlowTask): void {
    if (task.feed.pending) task.feed.writeTo(this.writer.outbox, this.internal.clients, task.key);
  }

  private sendMarks(task: FlowTask, idle: boolean, final: boolean): void {
    const ts = task.stage.lowWatermark();
    for (let p = 0; p < this.partitions; p++) packFeedMark(this.writer.outbox, this.internal.clients, p, task.key, ts, idle, final);
    task.sentMark = { ts, idle, final };
  }

  private checkpointDue(task: FlowTask | ClientTask): boolean {
    return task.dirty && Date.now() - task.lastCheckpointMs >= (this.options.checkpointIntervalMs ?? 5000);
  }

  /**
   * Takes the tasks' checkpoints now and marks their offsets: once every record made before them
   * is acknowledged, the checkpoints are written, and once those are acknowledged, the offsets are
   * committed (see commit). A checkpoint goes out only after the events it covers: written in the
   * same request, the state partition's batch could be stored while another partition's was not,
   * and a task restored from it would skip events that never reached the broker.
   *
   * Exactly-once: every dirty task checkpoints with them, and the mark ends the transaction: what
   * it commits is then exactly the output of the state it commits, for every task.
   */
  private checkpointTasks(tasks: Iterable<FlowTask | ClientTask>): void {
    for (const t of this.flowTasks.values()) this.writeFeed(t); // what the checkpoints cover goes out before them
    const chosen = new Set(tasks);
    if (this.options.exactlyOnce) for (const t of this.allTasks()) if (t.dirty) chosen.add(t);
    const offsets: CommitOffsets = [];
    const serial = ++this.checkpointSerial;
    for (const task of chosen) {
      if (task.nextOffset < 0) continue; // nothing processed, nothing restored: nothing to cover
      const bytes = task.checkpoint();
      this.pendingCheckpoints.set(`${task.key}#${serial}`, { task, bytes, offset: task.nextOffset, serial });
      task.dirty = false;
      task.lastCheckpointMs = Date.now();
      this.lastCheckpointBytes = bytes.length;
      this.count.checkpoints(1, { stage: task.kind });
      offsets.push({ topic: task.topic, partition: task.partition, offset: String(task.nextOffset), checkpoint: serial });
    }
    this.writer.mark(offsets, this.options.exactlyOnce !== undefined && offsets.length > 0);
  }

  private checkpointAll(all: boolean): void {
    this.checkpointTasks([...this.allTasks()].filter((t) => all || t.dirty));
  }

  private allTasks(): (FlowTask | ClientTask)[] {
    return [...this.flowTasks.values(), ...this.clientTasks.values()];
  }

  private async write(out: PackedMessages, tally: ReadonlyMap<string, number>): Promise<void> {
    await this.sink!.send(out);
    for (const [type, n] of tally) if (type !== 'feed' && type !== 'mark' && type !== 'checkpoint') this.count.events(n, { type });
  }

  /** Called once everything sent before these offsets were marked is acknowledged: their checkpoints, then the offsets. */
  private async commit(offsets: CommitOffsets): Promise<void> {
    const owned = offsets.filter((o) => this.flowTasks.has(keyOf(o)) || this.clientTasks.has(keyOf(o)));
    // A task revoked meanwhile is its new owner's to checkpoint: its pending ones are dropped.
    const owner = (t: FlowTask | ClientTask): boolean => this.flowTasks.get(t.key) === t || this.clientTasks.get(t.key) === t;
    for (const [k, c] of this.pendingCheckpoints) if (!owner(c.task)) this.pendingCheckpoints.delete(k);
    // Sized for the checkpoints up front: grown by doubling, it copied them over and over (a profile: ~5% of the scaled consumer's time).
    let size = 64 * 1024;
    for (const c of this.pendingCheckpoints.values()) size += c.bytes.length + 1024;
    const packer = new MessagePacker(size);
    for (const o of owned) {
      const c = this.pendingCheckpoints.get(`${keyOf(o)}#${o.checkpoint}`);
      if (!c) continue;
      // Older ones of the same task are superseded (their offsets were committed, or are passed).
      for (const [k, other] of this.pendingCheckpoints) if (other.task === c.task && other.serial <= c.serial) this.pendingCheckpoints.delete(k);
      // The one before the last is named by no manifest once this one is written: tombstoned with it.
      const w = c.task.written;
      const m = packCheckpoint(packer, this.internal.state, c.task.partition % this.partitions, c.task.key, c.bytes, c.offset, w.length >= 2 ? [w[0]] : []);
      c.task.written = [...w.slice(-1), writtenCheckpoint(m)];
    }
    if (packer.count > 0) await this.sink!.send(packer.finish());
    if (this.options.exactlyOnce) return this.commitTransaction(owned);
    if (owned.length === 0) return;
    try {
      await this.source!.commit(owned);
      this.count.commits(1);
    } catch (err) {
      // Not fatal: the next checkpoint commits again (or the partition's new owner restores from it).
      this.count.commitFailures(1);
      this.log.warn('offset commit failed; the next checkpoint commits again', { error: err as Error });
    }
  }

  /** Exactly-once: the open transaction (what was written since the last commit, checkpoints and offsets) commits, or the service fails. */
  private async commitTransaction(offsets: CommitOffsets): Promise<void> {
    const member = this.source!.membership();
    if (!member && offsets.length > 0) throw new Error('no consumer group membership to commit offsets for (not joined)');
    const sink = this.sink as TransactionalSink;
    try {
      await sink.commitTransaction(offsets, member && { groupId: this.options.appId, ...member });
    } catch (err) {
      if (!(err instanceof StaleMemberError)) throw err;
      // The group has moved on (this member stalled past its session timeout, or it is rebalancing
      // without it): the tasks' state since the last commit may be someone else's to redo.
      await sink.abortTransaction();
      this.writer.discard();
      this.pendingCheckpoints.clear();
      const dropped = this.flowTasks.size + this.clientTasks.size;
      this.flowTasks.clear();
      this.clientTasks.clear();
      this.refusedTransactions++;
      this.count.commitFailures(1);
      this.log.warn('transaction refused: the group has moved on from this member; aborted, tasks dropped (the next assignment restores them from the changelog)', { error: err.message, tasks: dropped });
    }
    this.lastTransactionMs = Date.now();
    if (offsets.length > 0) this.count.commits(1);
  }

  protected tick(): void {
    if (this.stopping) return;
    this.enqueue(async () => {
      // Rejoining: flushes, marks and drains would change state the new owners restore without them.
      if (this.stopping || this.rejoining) return;
      const now = Date.now();
      if (now - this.lastEndCheck >= END_CHECK_MS) {
        this.lastEndCheck = now;
        await this.checkEnds().catch((err: Error) => this.log.debug('end offsets check failed; retrying', { error: err }));
      }
      for (const t of this.clientTasks.values()) t.stage.drain();
      const due = this.allTasks().filter((t) => this.checkpointDue(t));
      if (due.length > 0) this.checkpointTasks(due);
      // Exactly-once: marks sent while nothing else changed still end their transaction in time.
      else if (this.options.exactlyOnce && now - this.lastTransactionMs >= (this.options.checkpointIntervalMs ?? 5000)) this.writer.mark([], true);
      this.writer.mark([]);
      if (this.options.untilEnd) await this.advanceToEnd();
    });
  }

  /** Asks the broker where each owned partition ends: a flow task at its end says it is idle (judged on the broker's word, not on time). */
  private async checkEnds(): Promise<void> {
    const topics = new Set([...this.flowTasks.values(), ...this.clientTasks.values()].map((t) => t.topic));
    for (const topic of topics) {
      const ends = await this.admin!.endOffsets(topic);
      for (const t of [...this.flowTasks.values(), ...this.clientTasks.values()]) {
        if (t.topic !== topic) continue;
        t.highWatermark = Number(ends.get(t.partition) ?? -1);
        // A task that has fetched nothing yet starts where the group is, or at the partition's start.
        if (t.nextOffset < 0 && t.highWatermark === 0) t.nextOffset = 0;
      }
    }
    for (const t of this.flowTasks.values()) if (!t.finished) this.afterFlowWork(t);
  }

  /**
   * `--until-end`: a flow task at its end flushes (open flows close as eof), says so for good and
   * checkpoints; a client task ends once every flow task has and it has read everything they sent.
   * The instance stops when all its tasks have ended.
   */
  private async advanceToEnd(): Promise<void> {
    for (const t of this.flowTasks.values()) {
      if (t.finished || !t.caughtUp) continue;
      t.stage.flush();
      this.writeFeed(t);
      this.sendMarks(t, true, true);
      t.dirty = true;
      this.checkpointTasks([t]);
      t.finished = true;
    }
    for (const t of this.clientTasks.values()) {
      if (t.finished || !t.caughtUp || !t.stage.merge.ended) continue;
      t.stage.flush();
      t.dirty = true;
      this.checkpointTasks([t]);
      t.finished = true;
    }
    const tasks = [...this.flowTasks.values(), ...this.clientTasks.values()];
    if (tasks.length > 0 && tasks.every((t) => t.finished)) {
      const refused = this.refusedTransactions;
      this.stopping = true;
      await this.writer.settle();
      // The last transaction refused (the group rebalanced as it committed): its work is undone and
      // its tasks dropped, so the instance is not finished; it goes on with its next assignment.
      if (this.refusedTransactions !== refused) {
        this.stopping = false;
        return;
      }
      this.log.info('input consumed to its end', { messages: this.metrics.total('messages_in_total') });
      this.finished?.('end of input');
    }
  }
}
