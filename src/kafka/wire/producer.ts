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
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import type { Logger } from '../../util/logger';
import type { KafkaConnection, OutgoingMessage, Sink, SinkOptions } from '../client';
import { messagesOf, type PackedMessages } from '../message-pack';
import { MAX_BATCH_BYTES, produceSlices } from '../produce-slices';
import { BrokerConnection, BrokerConnectionError } from './broker-connection';
import { keyPartition } from './murmur2';
import { encodeRecordBatch } from './record-batch';
import { authenticate, SASL_API, SASL_VERSIONS, SaslError } from './sasl';
import {
  API,
  initProducerIdRequest,
  metadataRequest,
  parseApiVersions,
  parseInitProducerId,
  parseMetadata,
  parseProduce,
  produceRequest,
  SUPPORTED,
  type BrokerAddress,
  type PartitionRecords,
} from './requests';

const REQUEST_TIMEOUT_MS = 30_000;

/** Kafka error codes this producer tells apart (Errors.java). */
const ERRORS: Record<number, string> = {
  2: 'CORRUPT_MESSAGE',
  3: 'UNKNOWN_TOPIC_OR_PARTITION',
  5: 'LEADER_NOT_AVAILABLE',
  6: 'NOT_LEADER_OR_FOLLOWER',
  7: 'REQUEST_TIMED_OUT',
  10: 'MESSAGE_TOO_LARGE',
  13: 'NETWORK_EXCEPTION',
  14: 'COORDINATOR_LOAD_IN_PROGRESS',
  15: 'COORDINATOR_NOT_AVAILABLE',
  17: 'INVALID_TOPIC_EXCEPTION',
  18: 'RECORD_LIST_TOO_LARGE',
  19: 'NOT_ENOUGH_REPLICAS',
  20: 'NOT_ENOUGH_REPLICAS_AFTER_APPEND',
  29: 'TOPIC_AUTHORIZATION_FAILED',
  31: 'CLUSTER_AUTHORIZATION_FAILED',
  35: 'UNSUPPORTED_VERSION',
  45: 'OUT_OF_ORDER_SEQUENCE_NUMBER',
  46: 'DUPLICATE_SEQUENCE_NUMBER',
  47: 'INVALID_PRODUCER_EPOCH',
  56: 'KAFKA_STORAGE_ERROR',
  59: 'UNKNOWN_PRODUCER_ID',
  74: 'FENCED_LEADER_EPOCH',
  75: 'UNKNOWN_LEADER_EPOCH',
  76: 'UNSUPPORTED_COMPRESSION_TYPE',
  87: 'INVALID_RECORD',
};
/** Worth retrying after a metadata refresh (the partition's leader may have moved). */
const RETRIABLE = new Set([3, 5, 6, 7, 13, 14, 15, 19, 20, 56, 74, 75]);
/** The broker lost track of this producer's sequence: start over with a new producer id. */
const SEQUENCE_LOST = new Set([45, 47, 59]);
const DUPLICATE_SEQUENCE = 46;

export class KafkaProtocolError extends Error {
  override name = 'KafkaProtocolError';
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
  get retriable(): boolean {
    return RETRIABLE.has(this.code);
  }
}

const errorName = (code: number): string => ERRORS[code] ?? `error ${code}`;

/** Java's DefaultRecordBatch.incrementSequence: sequences wrap from 2^31-1 to 0. */
function nextSequence(sequence: number, increment: number): number {
  return sequence > 0x7fffffff - increment ? increment - (0x7fffffff - sequence) - 1 : sequence + increment;
}

function tlsOptions(c: KafkaConnection): ConnectionOptions | null {
  if (!c.ssl) return null;
  if (c.ssl === true) return {};
  return {
    ca: c.ssl.caFile ? readFileSync(c.ssl.caFile, 'utf8') : undefined,
    cert: c.ssl.certFile ? readFileSync(c.ssl.certFile, 'utf8') : undefined,
    key: c.ssl.keyFile ? readFileSync(c.ssl.keyFile, 'utf8') : undefined,
    rejectUnauthorized: c.ssl.rejectUnauthorized ?? true,
  };
}

function parseBroker(address: string): { host: string; port: number } {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(address.trim());
  if (!m) throw new Error(`broker address "${address}" is not host:port`);
  return { host: m[1], port: Number(m[2]) };
}

interface Versions {
  readonly produce: number;
  readonly metadata: number;
  readonly initProducerId: number;
}

interface TopicLayout {
  readonly leaders: Int32Array; // leader node id per partition, -1 while there is none
  roundRobin: number;
  /** When it was fetched (ms): asked again once older than the producer's metadataMaxAgeMs, so added partitions get used. */
  readonly fetchedAt: number;
}

/** As the Java client's metadata.max.age.ms. */
const METADATA_MAX_AGE_MS = 5 * 60_000;

/** A partition's share of one `send`, cut into batches that go out in order. */
interface PartitionQueue {
  readonly topic: string;
  readonly partition: number;
  readonly slices: OutgoingMessage[][];
  /** The head slice, encoded with its sequence number (kept for retries). */
  encoded: Buffer | null;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class WireProducer implements Sink {
  private readonly bootstrap: readonly { host: string; port: number }[];
  private readonly tls: ConnectionOptions | null;
  private readonly budgetMs: number;
  private readonly brokers = new Map<number, BrokerAddress>();
  private readonly connections = new Map<string, { conn: BrokerConnection; versions: Versions }>();
  private readonly topics = new Map<string, TopicLayout>();
  private readonly sequences = new Map<string, number>();
  private producerId = -1n;
  private producerEpoch = 0;
  private closed = false;
  private scratch = Buffer.allocUnsafe(256);

  constructor(
    private readonly connection: KafkaConnection,
    private readonly options: SinkOptions,
    private readonly logger: Logger,
    /** How long topic metadata is trusted (ms). @default 300000, as the Java client's metadata.max.age.ms */
    private readonly metadataMaxAgeMs = METADATA_MAX_AGE_MS,
  ) {
    this.bootstrap = connection.brokers.map(parseBroker);
    this.tls = tlsOptions(connection);
    this.budgetMs = connection.connectionTimeoutMs ?? 30_000;
  }

  connect(): Promise<void> {
    this.closed = false;
    return this.serially(() => this.withRetries('connect', () => this.initProducerId()));
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
  private serially<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async sendNow(input: readonly OutgoingMessage[] | PackedMessages): Promise<void> {
    const messages = messagesOf(input);
    if (messages.length === 0) return;
    if (this.closed) throw new BrokerConnectionError('producer is disconnected');
    const topics = new Set<string>();
    for (const m of messages) topics.add(m.topic);
    await this.withRetries('metadata', () => this.refreshMetadata([...topics], true));
    const queues = this.partitionQueues(messages);
    let lastProgress = Date.now();
    let backoff = 50;
    while (queues.size > 0) {
      const byLeader = new Map<number, PartitionQueue[]>();
      for (const q of queues.values()) {
        const leader = this.topics.get(q.topic)?.leaders[q.partition] ?? -1;
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
              this.logger.debug('produce request failed, will retry', { error: err });
            }
          }
        }),
      );
      if (failure) throw failure;
      if (queues.size === 0) break;
      if (Date.now() - lastProgress > this.budgetMs) {
        throw new BrokerConnectionError(`could not write to Kafka for ${Math.round(this.budgetMs / 1000)} s (partitions without a reachable leader: ${[...queues.keys()].map((k) => k.replace('\u0000', '/')).join(', ')})`);
      }
      if (needMetadata) {
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 1000);
        await this.refreshMetadata([...new Set([...queues.values()].map((q) => q.topic))], false).catch((err: Error) => this.logger.debug('metadata refresh failed, will retry', { error: err }));
      }
    }
  }

  /** Closes the connections once the sends already called are done. */
  disconnect(): Promise<void> {
    return this.serially(async () => {
      this.closed = true;
      for (const { conn } of this.connections.values()) conn.close();
      this.connections.clear();
    });
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
        layout = this.topics.get(topic)!;
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
    const { conn, versions } = await this.connectionTo(leader);
    const batches: PartitionRecords[] = [];
    for (const q of queues) {
      if (!q.encoded) {
        const id = `${q.topic}\u0000${q.partition}`;
        const sequence = this.sequences.get(id) ?? 0;
        const slice = q.slices[0];
        this.sequences.set(id, nextSequence(sequence, slice.length)); // taken before encoding yields
        q.encoded = await encodeRecordBatch(slice, { producerId: this.producerId, producerEpoch: this.producerEpoch, baseSequence: sequence }, this.options.compression);
      }
      batches.push({ topic: q.topic, partition: q.partition, records: q.encoded });
    }
    const results = parseProduce(await conn.request(API.produce, versions.produce, produceRequest(-1, REQUEST_TIMEOUT_MS, batches)), versions.produce);
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
      } else if (SEQUENCE_LOST.has(r.errorCode)) {
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

  private async initProducerId(): Promise<void> {
    const { conn, versions } = await this.anyConnection();
    const r = parseInitProducerId(await conn.request(API.initProducerId, versions.initProducerId, [initProducerIdRequest()]));
    if (r.errorCode !== 0) throw new KafkaProtocolError(`could not get a producer id: ${errorName(r.errorCode)}`, r.errorCode);
    this.producerId = r.producerId;
    this.producerEpoch = r.producerEpoch;
    this.sequences.clear();
  }

  /**
   * Leaders of `topics`' partitions. With `untilKnown`, a topic that does not exist yet (the
   * broker creates it on this request when auto-creation is on) is asked for again until it has
   * partitions; its error ends the retries when the budget runs out.
   */
  private async refreshMetadata(topics: string[], untilKnown: boolean): Promise<void> {
    const now = Date.now();
    const missing = untilKnown ? topics.filter((t) => !(now - (this.topics.get(t)?.fetchedAt ?? -Infinity) < this.metadataMaxAgeMs)) : topics;
    if (missing.length === 0) return;
    const { conn, versions } = await this.anyConnection();
    const meta = parseMetadata(await conn.request(API.metadata, versions.metadata, [metadataRequest(missing, versions.metadata)]), versions.metadata);
    for (const b of meta.brokers) this.brokers.set(b.nodeId, b);
    for (const t of meta.topics) {
      if (t.errorCode !== 0 || t.partitions.length === 0) {
        // A topic known from before keeps its layout; one never seen cannot be written yet.
        if (untilKnown && !this.topics.has(t.name)) throw new KafkaProtocolError(`topic ${t.name}: ${errorName(t.errorCode)}`, t.errorCode === 0 ? 5 : t.errorCode);
        continue;
      }
      const leaders = new Int32Array(t.partitions.length).fill(-1);
      for (const p of t.partitions) if (p.partition < leaders.length) leaders[p.partition] = p.errorCode === 0 ? p.leader : -1;
      const previous = this.topics.get(t.name);
      this.topics.set(t.name, { leaders, roundRobin: previous?.roundRobin ?? Math.floor(Math.random() * 0x7fffffff), fetchedAt: now });
    }
  }

  private async connectionTo(nodeId: number): Promise<{ conn: BrokerConnection; versions: Versions }> {
    const address = this.brokers.get(nodeId);
    if (!address) throw new BrokerConnectionError(`broker ${nodeId} is not in the metadata`);
    return this.open(address.host, address.port);
  }

  /** A live connection to any broker (an open one first, else the bootstrap list in order). */
  private async anyConnection(): Promise<{ conn: BrokerConnection; versions: Versions }> {
    for (const c of this.connections.values()) if (c.conn.alive) return c;
    let last: Error | null = null;
    for (const b of [...this.brokers.values(), ...this.bootstrap]) {
      try {
        return await this.open(b.host, b.port);
      } catch (err) {
        last = err as Error;
      }
    }
    throw last ?? new BrokerConnectionError('no brokers configured');
  }

  private async open(host: string, port: number): Promise<{ conn: BrokerConnection; versions: Versions }> {
    const key = `${host}:${port}`;
    const existing = this.connections.get(key);
    if (existing?.conn.alive) return existing;
    const conn = new BrokerConnection(host, port, { clientId: this.connection.clientId, tls: this.tls, connectTimeoutMs: 3000, requestTimeoutMs: REQUEST_TIMEOUT_MS });
    await conn.connect();
    try {
      const { errorCode, apis } = parseApiVersions(await conn.request(API.apiVersions, 0, []));
      if (errorCode !== 0) throw new KafkaProtocolError(`broker ${key} refused ApiVersions: ${errorName(errorCode)}`, errorCode);
      const pick = (name: keyof typeof API): number => {
        const [lo, hi] = SUPPORTED[name];
        const broker = apis.get(API[name]);
        const v = Math.min(hi, broker?.max ?? -1);
        if (!broker || v < Math.max(lo, broker.min)) {
          const offered = broker ? `v${broker.min}–v${broker.max}` : 'none';
          throw new KafkaProtocolError(`broker ${key} does not speak ${name} v${lo}–v${hi} (it offers ${offered}); use --producer kafkajs`, 35);
        }
        return v;
      };
      const versions = { produce: pick('produce'), metadata: pick('metadata'), initProducerId: pick('initProducerId') };
      if (this.connection.sasl) {
        for (const [name, apiKey] of Object.entries(SASL_API) as [keyof typeof SASL_API, number][]) {
          const range = apis.get(apiKey);
          if (!range || SASL_VERSIONS[name] < range.min || SASL_VERSIONS[name] > range.max) {
            throw new SaslError(`broker ${key} does not speak SASL ${name} v${SASL_VERSIONS[name]}; use --producer kafkajs`);
          }
        }
        await authenticate(conn, this.connection.sasl);
      }
      const entry = { conn, versions };
      this.connections.set(key, entry);
      return entry;
    } catch (err) {
      conn.close();
      throw err;
    }
  }

  /** Runs `step` until it succeeds, a non-retriable error, or the time budget is spent. */
  private async withRetries(what: string, step: () => Promise<void>): Promise<void> {
    const started = Date.now();
    let backoff = 100;
    for (;;) {
      try {
        return await step();
      } catch (err) {
        if (this.closed || !(err as { retriable?: boolean }).retriable || Date.now() - started + backoff > this.budgetMs) throw err;
        this.logger.debug(`${what} failed, will retry`, { error: err });
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 1000);
      }
    }
  }
}
