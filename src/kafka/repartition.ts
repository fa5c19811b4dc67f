/**
 * `tcpreuse repartition`: the step in front of the scaled consumer for input topics that are not
 * keyed by address pair (docs/scale-out.md, "Partitioning contract"), e.g. a sensor that batches
 * whatever it saw into one message. Reads the input topics as group `<app-id>.repartition`,
 * decodes every message, and writes its packets to `<app-id>.packets-repartition`: each packet
 * to the partition its sensor and address pair hash to, batched per target partition, in the
 * order it came. An input offset is committed once the packets of every message before it are
 * acknowledged (at-least-once: after a crash the packets since the last commit come again), or,
 * with `exactlyOnce`, in the transaction that writes them (each write a transaction).
 */
import { encodeBatch } from '../avro/packet-schemas';
import { AVRO_SHAPE_HEADER } from '../ingest/avro-packets';
import { InputDecoder } from '../ingest/input-decoder';
import type { PacketRecord } from '../model/packet-record';
import type { Logger } from '../util/logger';
import type { BatchContext, ConsumedBatch, KafkaClient, TopicPartition, TransactionalSink } from './client';
import type { ConsumeOptions } from './consume-service';
import { DeadLetters, prepareDeadLetterTopic } from './dead-letter';
import type { Metrics } from './metrics';
import { addressPairKey, partitionOf } from './replay';
import { SchemaRegistryClient } from './schema-registry';
import { ServiceLifecycle } from './service-lifecycle';
import { WriteBehind, type CommitOffsets } from './write-behind';
import { StaleMemberError } from './wire/transactional-producer';

export interface RepartitionOptions extends Pick<ConsumeOptions, 'topics' | 'fromBeginning' | 'inputFormat' | 'pcapRecord' | 'maxFutureS' | 'compression' | 'dlqTopic' | 'untilEnd' | 'sessionTimeoutMs' | 'registry'> {
  /** Names the group (`<appId>.repartition`) and the output topic (`<appId>.packets-repartition`). */
  readonly appId: string;
  /** Partitions of the output topic when it is created. @default the largest input topic's */
  readonly partitions?: number;
  /** Packets per output message. @default 500 */
  readonly batchSize?: number;
  /** Each write and the input offsets it covers in one Kafka transaction (the outbox holds whole messages' packets at every write). */
  readonly exactlyOnce?: { readonly transactionalId: string; readonly transactionTimeoutMs: number };
}

export interface RepartitionSummary {
  readonly messages: number;
  readonly packets: number;
  readonly messagesOut: number;
  readonly deadLettered: number;
  readonly reason: string;
}

export const repartitionTopic = (appId: string): string => `${appId}.packets-repartition`;
export const repartitionGroup = (appId: string): string => `${appId}.repartition`;

const TICK_MS = 500;
/** Records the write-behind may hold before a batch waits for it (memory bound). */
const WRITE_BACKLOG = 20_000;

export class RepartitionService extends ServiceLifecycle<RepartitionSummary> {
  private readonly decoder: InputDecoder;
  private readonly registry: SchemaRegistryClient | undefined;
  private readonly output: string;
  private partitions = 0;
  private readonly deadLetters: DeadLetters;
  private readonly buckets = new Map<number, PacketRecord[]>();
  private readonly writer = new WriteBehind(
    async (out, tally) => {
      await this.sink!.send(out);
      this.count.out(tally.get('packets') ?? 0);
    },
    (offsets) => this.commit(offsets),
    (err) => this.fail(err),
  );
  private readonly count: Record<'messages' | 'packets' | 'out' | 'dlq', (n?: number, l?: Record<string, string>) => void>;

  constructor(
    private readonly options: RepartitionOptions,
    client: KafkaClient,
    log: Logger,
    private readonly metrics: Metrics,
  ) {
    super(client, log, options.topics);
    this.registry = options.registry && options.inputFormat === 'avro' ? new SchemaRegistryClient(options.registry, log) : undefined;
    this.decoder = new InputDecoder({ format: options.inputFormat, pcapRecord: options.pcapRecord, maxFutureS: options.maxFutureS, registry: this.registry });
    this.output = repartitionTopic(options.appId);
    const c = (name: string, help: string): ((n?: number, l?: Record<string, string>) => void) => metrics.counter(name, help);
    this.deadLetters = new DeadLetters(() => this.writer.outbox, options.dlqTopic, options.inputFormat, (n, l) => this.count.dlq(n, l), log);
    this.count = {
      messages: c('messages_in_total', 'Kafka messages consumed, by topic.'),
      packets: c('packets_in_total', 'Packets decoded from the consumed messages.'),
      out: c('repartition_messages_out_total', 'Messages written to the repartition topic and acknowledged.'),
      dlq: c('dead_letter_total', 'Messages sent to the dead-letter topic, by input format.'),
    };
  }

  protected async start(): Promise<void> {
    const o = this.options;
    let largest = 1;
    for (const topic of o.topics) largest = Math.max(largest, (await this.admin!.endOffsets(topic)).size);
    await this.admin!.ensureTopics([{ topic: this.output, partitions: o.partitions ?? largest, configs: { 'retention.ms': '-1' } }]);
    this.partitions = (await this.admin!.endOffsets(this.output)).size;
    this.deadLetters.maxBytes = await prepareDeadLetterTopic(this.admin!, o.topics[0], o.dlqTopic, largest);
    await this.startConsuming(
      { compression: o.compression, groupId: repartitionGroup(o.appId), topics: o.topics, fromBeginning: o.fromBeginning, sessionTimeoutMs: o.sessionTimeoutMs, tickMs: TICK_MS, transaction: o.exactlyOnce },
      { topics: o.topics, output: this.output, partitions: this.partitions, format: o.inputFormat, ...(o.exactlyOnce ? { transactionalId: o.exactlyOnce.transactionalId } : {}) },
    );
  }

  /** The offsets the write just acknowledged covers: committed, or (exactly-once) its transaction committed with them. */
  private async commit(offsets: CommitOffsets): Promise<void> {
    if (!this.options.exactlyOnce) return this.source!.commit(offsets);
    const member = this.source!.membership();
    if (!member) throw new Error('no consumer group membership to commit offsets for (not joined)');
    const sink = this.sink as TransactionalSink;
    try {
      await sink.commitTransaction(offsets, { groupId: repartitionGroup(this.options.appId), ...member });
    } catch (err) {
      if (!(err instanceof StaleMemberError)) throw err;
      // The group has moved on from this member: what it read since its last commit is someone else's to write.
      await sink.abortTransaction();
      this.writer.discard();
      this.log.warn('transaction refused: the group has moved on from this member; aborted (the partitions\' next owners write it)', { error: err.message });
    }
  }

  protected finalWork(): Promise<void> {
    return this.writer.settle();
  }

  protected summary(reason: string): RepartitionSummary {
    const t = (n: string): number => this.metrics.total(n);
    return { messages: t('messages_in_total'), packets: t('packets_in_total'), messagesOut: t('repartition_messages_out_total'), deadLettered: t('dead_letter_total'), reason };
  }

  /**
   * Before every (re)join: everything read is written and its offsets committed while this member
   * still owns its partitions, so whoever gets them next starts exactly there (a rejoin without
   * it made the next owner write the uncommitted packets again: repeats out of capture order).
   */
  protected override async beforeGroupJoin(): Promise<void> {
    await this.enqueue(() => this.writer.settle());
  }

  protected onAssignment(assigned: TopicPartition[]): void {
    this.log.info('partitions assigned', { partitions: assigned.map((tp) => `${tp.topic}/${tp.partition}`) });
  }

  protected async onBatch(batch: ConsumedBatch, ctx: BatchContext): Promise<void> {
    if (this.stopping) return;
    // Writer schemas the batch names that are not known yet, fetched before decoding (which is synchronous).
    await this.registry?.prepare(batch.messages.map((m) => m.value));
    await this.enqueue(async () => {
      if (this.stopping || !ctx.isRunning() || batch.messages.length === 0) return;
      let packets = 0;
      for (const msg of batch.messages) {
        for (const p of this.deadLetters.decode(this.decoder, batch, msg)) {
          this.add(p);
          packets++;
        }
      }
      // Every message of the batch is in the outbox: its offset can be committed once they are written.
      for (const q of [...this.buckets.keys()]) this.flush(q);
      this.count.messages(batch.messages.length, { topic: batch.topic });
      this.count.packets(packets);
      const last = batch.messages[batch.messages.length - 1].offset;
      this.writer.mark([{ topic: batch.topic, partition: batch.partition, offset: String(BigInt(last) + 1n) }]);
      if (this.writer.backlog > WRITE_BACKLOG) await this.writer.settle();
    });
    await ctx.heartbeat();
  }

  /** Into the bucket of the partition the packet's sensor and address pair hash to. */
  private add(p: PacketRecord): void {
    const q = partitionOf(`${p.sensor ?? ''}|${addressPairKey(p)}`, this.partitions);
    let b = this.buckets.get(q);
    if (!b) this.buckets.set(q, (b = []));
    b.push(p);
    if (b.length >= (this.options.batchSize ?? 500)) this.flush(q);
  }

  private flush(q: number): void {
    const b = this.buckets.get(q);
    this.buckets.delete(q);
    if (!b || b.length === 0) return;
    const out = this.writer.outbox;
    out.begin(this.output, q, Math.floor(b[0].ts / 1000), false);
    out.field(encodeBatch(b));
    out.headers({ [AVRO_SHAPE_HEADER]: 'batch' });
    out.label('packets');
  }

  protected tick(): void {
    if (this.stopping || !this.options.untilEnd) return;
    this.enqueue(async () => {
      if (this.stopping) return;
      if (await this.atEnd().catch(() => false)) {
        this.stopping = true;
        await this.writer.settle();
        this.log.info('input consumed to its end', { messages: this.metrics.total('messages_in_total') });
        this.finished?.('end of input');
      }
    });
  }

  /** `--until-end`: every partition of every input topic committed up to its end, by whichever instance. */
  private async atEnd(): Promise<boolean> {
    await this.writer.settle();
    for (const topic of this.options.topics) {
      const ends = await this.admin!.endOffsets(topic);
      const committed = await this.admin!.committedOffsets(repartitionGroup(this.options.appId), topic);
      for (const [p, end] of ends) if (Number(end) > 0 && Number(committed.get(p) ?? -1) < Number(end)) return false;
    }
    return true;
  }
}
