/**
 * An idempotent Kafka producer speaking the wire protocol itself (ApiVersions, Metadata,
 * InitProducerId, Produce), behind the same `Sink` interface as the kafkajs one. It exists for
 * throughput: kafkajs spends ~20 µs of CPU per record (an encoder object per field, Long.js
 * varints, byte-at-a-time CRC); this one encodes each partition's batch into one exact-size
 * buffer (record-batch.ts) and hands it to the socket uncopied.
 *
 * Delivery is what the consumer's at-least-once guarantee needs: acks=all, one request in flight
 * per broker, sequence numbers per partition so a retried batch is not written twice, retriable
 * errors (leader moves, timeouts, dropped connections) retried with back-off until
 * `connectionTimeoutMs` passes without progress; then `send` rejects and nothing is committed.
 * Connections are plain TCP or TLS, authenticated with SASL PLAIN or SCRAM when configured
 * (sasl.ts; a refused login is not retried).
 */
import type { Logger } from '../../util/logger';
import type { KafkaConnection, OutgoingMessage, Sink, SinkOptions } from '../client';
import type { ConnectionHealth } from '../connection-health';
import { messagesOf, type PackedMessages } from '../message-pack';
import { MAX_BATCH_BYTES, produceSlices } from '../produce-slices';
import { BrokerConnectionError } from './broker-connection';
import { BrokerPool, METADATA_MAX_AGE_MS, REQUEST_TIMEOUT_MS, sleep, type TopicLayout } from './broker-pool';
import { errorName, KafkaProtocolError, RETRIABLE } from './errors';
import { keyPartition } from './murmur2';
import { encodeRecordBatch } from './record-batch';
import { API, initProducerIdRequest, parseInitProducerId, parseProduce, produceRequest, type PartitionRecords } from './requests';

export { KafkaProtocolError };

/** The broker lost track of this producer's sequence: start over with a new producer id. */
const SEQUENCE_LOST = new Set([45, 47, 59]);
const DUPLICATE_SEQUENCE = 46;

/** Java's DefaultRecordBatch.incrementSequence: sequences wrap from 2^31-1 to 0. */
function nextSequence(sequence: number, increment: number): number {
  return sequence > 0x7fffffff - increment ? increment - (0x7fffffff - sequence) - 1 : sequence + increment;
}

/** A partition's share of one `send`, cut into batches that go out in order. */
interface PartitionQueue {
  readonly topic: string;
  readonly partition: number;
  readonly slices: OutgoingMessage[][];
  /** The head slice, encoded with its sequence number (kept for retries). */
  encoded: Buffer | null;
}

export class WireProducer implements Sink {
  protected readonly pool: BrokerPool;
  private readonly sequences = new Map<string, number>();
  protected producerId = -1n;
  protected producerEpoch = 0;
  /** Set by the transactional producer (transactional-producer.ts): produce requests and batches carry it. */
  protected transactionalId: string | null = null;
  private scratch = Buffer.allocUnsafe(256);

  constructor(
    connection: KafkaConnection,
    private readonly options: SinkOptions,
    protected readonly logger: Logger,
    /** How long topic metadata is trusted (ms). @default 300000, as the Java client's metadata.max.age.ms */
    metadataMaxAgeMs = METADATA_MAX_AGE_MS,
    reachability?: ConnectionHealth,
  ) {
    this.pool = new BrokerPool(connection, logger, ['produce', 'metadata', 'initProducerId'], metadataMaxAgeMs);
    this.pool.reachability = reachability;
  }

  connect(): Promise<void> {
    this.pool.closed = false;
    return this.serially(() => this.pool.withRetries('connect', () => this.initProducerId()));
  }

  /**
   * Sends run one after another, in call order (callers such as a Node-RED node fire them
   * concurrently): a partition's sequence numbers must reach the broker in the order they were
   * given, and a batch must not be numbered while another is being numbered for the same partition.
   */
  send(input: readonly OutgoingMessage[] | PackedMessages): Promise<void> {
    return this.serially(() => this.sendNow(input));
  }

  private queue: Promise<unknown> = Promise.resolve();
  protected serially<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async sendNow(input: readonly OutgoingMessage[] | PackedMessages): Promise<void> {
    const messages = messagesOf(input);
    if (messages.length === 0) return;
    if (this.pool.closed) throw new BrokerConnectionError('producer is disconnected');
    const topics = new Set<string>();
    for (const m of messages) topics.add(m.topic);
    await this.pool.withRetries('metadata', () => this.pool.refreshMetadata([...topics], true));
    const queues = this.partitionQueues(messages);
    await this.beforeProduce(queues.values());
    let lastProgress = Date.now();
    let backoff = 50;
    while (queues.size > 0) {
      const byLeader = new Map<number, PartitionQueue[]>();
      for (const q of queues.values()) {
        const leader = this.pool.topics.get(q.topic)?.leaders[q.partition] ?? -1;
        const list = byLeader.get(leader);
        if (list) list.push(q);
        else byLeader.set(leader, [q]);
      }
      let failure: Error | null = null;
      let needMetadata = byLeader.has(-1);
      await Promise.all(
        [...byLeader].map(async ([leader, qs]) => {
          if (leader < 0) return;
          try {
            const outcome = await this.produceTo(leader, qs);
            this.pool.reachability?.ok();
            for (const q of outcome.done) {
              q.slices.shift();
              q.encoded = null;
              if (q.slices.length === 0) queues.delete(`${q.topic}\u0000${q.partition}`);
              lastProgress = Date.now();
            }
            if (outcome.retry) needMetadata = true;
            if (outcome.resetProducer) await this.resetProducer(queues.values());
          } catch (err) {
            if (!(err as { retriable?: boolean }).retriable) failure ??= err as Error;
            else {
              needMetadata = true;
              this.pool.unreachable('produce', err as Error);
              this.logger.debug('produce request failed, will retry', { error: err });
            }
          }
        }),
      );
      if (failure) throw failure;
      if (queues.size === 0) break;
      if (Date.now() - lastProgress > this.pool.budgetMs) {
        throw new BrokerConnectionError(`could not write to Kafka for ${Math.round(this.pool.budgetMs / 1000)} s (partitions without a reachable leader: ${[...queues.keys()].map((k) => k.replace('\u0000', '/')).join(', ')})`);
      }
      if (needMetadata) {
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 1000);
        await this.pool.refreshMetadata([...new Set([...queues.values()].map((q) => q.topic))], false).catch((err: Error) => {
          this.pool.unreachable('metadata', err);
          this.logger.debug('metadata refresh failed, will retry', { error: err });
        });
      }
    }
  }

  /** Before the first batch of a send goes out, with the partitions it writes (a transaction adds them). */
  protected async beforeProduce(_partitions: Iterable<{ readonly topic: string; readonly partition: number }>): Promise<void> {}

  /** Closes the connections once the sends already called are done. */
  disconnect(): Promise<void> {
    return this.serially(async () => this.pool.close());
  }

  /** Splits messages by partition (explicit, key hash, or round robin), each cut into batches. */
  private partitionQueues(messages: readonly OutgoingMessage[]): Map<string, PartitionQueue> {
    const lists = new Map<string, OutgoingMessage[][]>();
    let topic = '';
    let layout: TopicLayout | undefined;
    let byPartition: OutgoingMessage[][] = [];
    for (const m of messages) {
      if (m.topic !== topic || !layout) {
        topic = m.topic;
        layout = this.pool.topics.get(topic)!;
        byPartition = lists.get(topic) ?? [];
        lists.set(topic, byPartition);
      }
      const count = layout.leaders.length;
      let partition = m.partition;
      if (partition === undefined) {
        if (m.key !== null) partition = typeof m.key === 'string' ? this.stringKeyPartition(m.key, count) : keyPartition(m.key, count);
        else partition = layout.roundRobin++ % count;
      } else if (partition < 0 || partition >= count) {
        throw new KafkaProtocolError(`topic ${m.topic} has no partition ${partition} (it has ${count})`, 3);
      }
      (byPartition[partition] ??= []).push(m);
    }
    const queues = new Map<string, PartitionQueue>();
    for (const [t, byPart] of lists) {
      byPart.forEach((list, partition) => queues.set(`${t}\u0000${partition}`, { topic: t, partition, slices: produceSlices(list, MAX_BATCH_BYTES), encoded: null }));
    }
    return queues;
  }

  /** The partition of a string key, hashed from its UTF-8 bytes in a scratch buffer (no copy per key). */
  private stringKeyPartition(key: string, partitions: number): number {
    if (key.length * 3 > this.scratch.length) this.scratch = Buffer.allocUnsafe(key.length * 3);
    return keyPartition(this.scratch, partitions, this.scratch.write(key, 0, 'utf8'));
  }

  /** One produce request to `leader` with the head batch of each of `queues`. */
  private async produceTo(leader: number, queues: readonly PartitionQueue[]): Promise<{ done: PartitionQueue[]; retry: boolean; resetProducer: boolean }> {
    const { conn, versions } = await this.pool.connectionTo(leader);
    const batches: PartitionRecords[] = [];
    for (const q of queues) {
      if (!q.encoded) {
        const id = `${q.topic}\u0000${q.partition}`;
        const sequence = this.sequences.get(id) ?? 0;
        const slice = q.slices[0];
        this.sequences.set(id, nextSequence(sequence, slice.length)); // taken before encoding yields
        q.encoded = await encodeRecordBatch(slice, { producerId: this.producerId, producerEpoch: this.producerEpoch, baseSequence: sequence, transactional: this.transactionalId !== null }, this.options.compression);
      }
      batches.push({ topic: q.topic, partition: q.partition, records: q.encoded });
    }
    const results = parseProduce(await conn.request(API.produce, versions.produce!, produceRequest(-1, REQUEST_TIMEOUT_MS, batches, this.transactionalId)), versions.produce!);
    const byId = new Map(queues.map((q) => [`${q.topic}\u0000${q.partition}`, q]));
    const done: PartitionQueue[] = [];
    let retry = false;
    let resetProducer = false;
    for (const r of results) {
      const q = byId.get(`${r.topic}\u0000${r.partition}`);
      if (!q) continue;
      if (r.errorCode === 0 || r.errorCode === DUPLICATE_SEQUENCE) done.push(q);
      else if (RETRIABLE.has(r.errorCode)) {
        retry = true;
        this.logger.debug('partition write will be retried', { topic: r.topic, partition: r.partition, error: errorName(r.errorCode) });
      } else if (SEQUENCE_LOST.has(r.errorCode) && this.transactionalId === null) {
        resetProducer = true;
        this.logger.warn('the broker lost this producer\'s sequence; continuing with a new producer id (batches in flight may be written twice)', { topic: r.topic, partition: r.partition, error: errorName(r.errorCode) });
      } else {
        const detail = r.errorMessage ? `: ${r.errorMessage}` : '';
        throw new KafkaProtocolError(`writing to ${r.topic}/${r.partition} failed with ${errorName(r.errorCode)}${detail}`, r.errorCode);
      }
    }
    return { done, retry, resetProducer };
  }

  /** A new producer id; every partition's sequence starts again at 0 and pending batches are re-encoded. */
  private async resetProducer(pending: Iterable<PartitionQueue>): Promise<void> {
    await this.initProducerId();
    this.sequences.clear();
    for (const q of pending) q.encoded = null;
  }

  /** A producer id (and epoch) from the broker: idempotence only here; the transactional producer gets its id's. */
  protected async initProducerId(): Promise<void> {
    const { conn, versions } = await this.pool.anyConnection();
    const r = parseInitProducerId(await conn.request(API.initProducerId, versions.initProducerId!, [initProducerIdRequest()]));
    if (r.errorCode !== 0) throw new KafkaProtocolError(`could not get a producer id: ${errorName(r.errorCode)}`, r.errorCode);
    this.producerId = r.producerId;
    this.producerEpoch = r.producerEpoch;
    this.sequences.clear();
  }
}
