import { readFileSync } from 'node:fs';
import { ConfigResourceTypes, Kafka, logLevel as KafkaLogLevel, Partitioners, type Admin as KafkajsAdmin, type Consumer, type KafkaConfig, type LogEntry, type Message, type PartitionMetadata, type SASLOptions } from 'kafkajs';
import type { Logger } from '../util/logger';
import type { Admin, BatchContext, ConsumedBatch, KafkaClient, KafkaConnection, OutgoingMessage, Sink, SinkOptions, Source, SourceOptions, TopicPartition } from './client';
import { COMPRESSION_TYPE, registerCodecs } from './codecs';
import { ConnectionHealth } from './connection-health';
import { beforeEachJoin, groupMembership } from './kafkajs-rejoin-hook';
import { messagesOf } from './message-pack';
import { MAX_BATCH_BYTES, produceSlices } from './produce-slices';

const LEVEL_OF: Record<number, 'debug' | 'info' | 'warn' | 'error'> = {
  [KafkaLogLevel.ERROR]: 'error',
  [KafkaLogLevel.WARN]: 'warn',
  [KafkaLogLevel.INFO]: 'info',
  [KafkaLogLevel.DEBUG]: 'debug',
};

/** kafkajs's texts of NOT_LEADER_OR_FOLLOWER, LEADER_NOT_AVAILABLE and UNKNOWN_TOPIC_OR_PARTITION. */
const TRANSIENT_PARTITION_ERROR = /not the leader for that topic-partition|no leader for this topic-partition|does not host this topic-partition/;

/**
 * kafkajs logs through our structured logger. It logs every failed request at ERROR, also those
 * it retries (coordinator loading, leader moving); what is fatal reaches us as an error and is
 * logged by the service, so kafkajs's ERRORs are warnings here.
 */
function logCreator(logger: Logger, reachability: ConnectionHealth | undefined) {
  return () =>
    ({ level, log }: LogEntry) => {
      const { message, timestamp: _t, logger: _l, ...fields } = log as unknown as Record<string, unknown>;
      let lvl = LEVEL_OF[level] ?? 'info';
      if (lvl === 'error') lvl = 'warn';
      // A connection failure starts an outage (the service says so once) or is one more retry of it.
      if (reachability && (lvl === 'warn' || lvl === 'info') && ConnectionHealth.isTrouble(`${String(message)} ${String(fields.error ?? '')}`)) {
        if (!reachability.failed(`${String(message)}${fields.error ? `: ${String(fields.error)}` : ''}`)) lvl = 'debug';
      }
      // A partition just created or whose leader moves answers these for a moment; the request is
      // retried (by kafkajs or retryRetriable), and if that gives up, the caller's error says so.
      if (String(message).startsWith('Response ') && TRANSIENT_PARTITION_ERROR.test(String(fields.error ?? ''))) lvl = 'debug';
      // Our producer keeps kafkajs's retry limit on purpose: a dead broker must end in an error, not hang.
      if (String(message).startsWith('Limiting retries for the idempotent producer')) lvl = 'debug';
      logger[lvl](String(message), { component: 'kafkajs', ...fields });
    };
}

function kafkaConfig(c: KafkaConnection, logger: Logger, reachability: ConnectionHealth | undefined): KafkaConfig {
  let ssl: KafkaConfig['ssl'];
  if (c.ssl === true) ssl = true;
  else if (c.ssl && typeof c.ssl === 'object') {
    ssl = {
      ca: c.ssl.caFile ? [readFileSync(c.ssl.caFile, 'utf8')] : undefined,
      cert: c.ssl.certFile ? readFileSync(c.ssl.certFile, 'utf8') : undefined,
      key: c.ssl.keyFile ? readFileSync(c.ssl.keyFile, 'utf8') : undefined,
      rejectUnauthorized: c.ssl.rejectUnauthorized ?? true,
    };
  }
  const levelNumber = { debug: KafkaLogLevel.DEBUG, info: KafkaLogLevel.INFO, warn: KafkaLogLevel.WARN, error: KafkaLogLevel.ERROR, silent: KafkaLogLevel.NOTHING }[logger.level];
  return {
    clientId: c.clientId,
    brokers: [...c.brokers],
    ssl,
    // A copy: kafkajs adds its authentication provider (a function) to the object it is given,
    // and these settings also go to the producer thread, which cannot be sent a function.
    sasl: c.sasl ? ({ ...c.sasl } as SASLOptions) : undefined,
    connectionTimeout: 3000,
    requestTimeout: 30000,
    retry: { retries: Math.max(1, Math.round((c.connectionTimeoutMs ?? 30000) / 3000)), initialRetryTime: 300, maxRetryTime: 3000 },
    logLevel: levelNumber,
    logCreator: logCreator(logger, reachability),
  };
}

function headersOf(h: Record<string, unknown> | undefined): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  if (!h) return out;
  for (const [k, v] of Object.entries(h)) {
    const one = Array.isArray(v) ? v[v.length - 1] : v;
    out[k] = one === undefined || one === null ? undefined : Buffer.isBuffer(one) ? one.toString('utf8') : String(one);
  }
  return out;
}

class KafkajsSource implements Source {
  private readonly consumer: Consumer;
  private assignmentListeners: ((a: TopicPartition[]) => void)[] = [];
  private crashListeners: ((e: Error) => void)[] = [];
  private emptyBatchListeners: ((b: TopicPartition & { nextOffset: string; highWatermark: string }) => void)[] = [];
  private readonly joinHooks: (() => void)[] = [];

  constructor(
    kafka: Kafka,
    private readonly options: SourceOptions,
    reachability: ConnectionHealth | undefined,
  ) {
    this.consumer = kafka.consumer({
      groupId: options.groupId,
      sessionTimeout: options.sessionTimeoutMs ?? 30000,
      // A member learns of a rebalance from a heartbeat: at kafkajs's 3 s, a joining instance
      // waited seconds while the others went on with the work it came to share.
      heartbeatInterval: 1000,
      maxBytesPerPartition: options.maxBytesPerPartition ?? 4 * 1024 * 1024,
      maxBytes: 64 * 1024 * 1024,
      maxWaitTimeInMs: 200,
      retry: { retries: 10 },
    });
    // A fetch answered (every maxWaitTimeInMs at the latest, with or without messages) or a join: the cluster works.
    if (reachability) this.consumer.on(this.consumer.events.FETCH, () => reachability.ok());
    this.consumer.on(this.consumer.events.GROUP_JOIN, (e) => {
      reachability?.ok();
      const a: TopicPartition[] = [];
      for (const [topic, parts] of Object.entries(e.payload.memberAssignment)) for (const partition of parts) a.push({ topic, partition });
      for (const l of this.assignmentListeners) l(a);
    });
    // kafkajs resolves a batch of only control or aborted records itself, without calling eachBatch.
    this.consumer.on(this.consumer.events.START_BATCH_PROCESS, (e) => {
      const p = e.payload as { topic: string; partition: number; highWatermark: string; batchSize: number; lastOffset: string };
      if (p.batchSize > 0 || this.emptyBatchListeners.length === 0) return;
      const b = { topic: p.topic, partition: p.partition, nextOffset: String(BigInt(p.lastOffset) + 1n), highWatermark: p.highWatermark };
      for (const l of this.emptyBatchListeners) l(b);
    });
    this.consumer.on(this.consumer.events.CRASH, (e) => {
      if (e.payload.restart) return; // kafkajs restarts the consumer itself
      for (const l of this.crashListeners) l(e.payload.error);
    });
  }

  async connect(): Promise<void> {
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [...this.options.topics], fromBeginning: this.options.fromBeginning });
  }

  run(onBatch: (batch: ConsumedBatch, ctx: BatchContext) => Promise<void>): Promise<void> {
    return this.consumer.run({
      autoCommit: false,
      // We resolve every message we take, so the next fetch moves on; committing is ours alone.
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        const b: ConsumedBatch = {
          topic: batch.topic,
          partition: batch.partition,
          highWatermark: batch.highWatermark,
          nextOffset: String(BigInt(batch.lastOffset()) + 1n),
          messages: batch.messages.map((m) => ({
            offset: m.offset,
            key: m.key,
            value: m.value,
            timestampMs: Number(m.timestamp),
            headers: headersOf(m.headers as Record<string, unknown> | undefined),
          })),
        };
        // Every message of the batch is taken once onBatch heartbeats or returns: resolve first, so
        // that a rebalance error from the heartbeat does not make kafkajs fetch the batch again.
        const resolveAll = (): void => {
          if (batch.messages.length > 0) resolveOffset(batch.lastOffset());
        };
        await onBatch(b, {
          heartbeat: async () => {
            resolveAll();
            await heartbeat();
          },
          isRunning: () => isRunning() && !isStale(),
        });
        resolveAll();
      },
    });
  }

  async commit(offsets: readonly (TopicPartition & { offset: string })[]): Promise<void> {
    if (offsets.length > 0) await this.consumer.commitOffsets(offsets.map(({ topic, partition, offset }) => ({ topic, partition, offset })));
  }

  seek(p: TopicPartition, offset: string): void {
    this.consumer.seek({ topic: p.topic, partition: p.partition, offset });
  }

  pause(partitions: readonly TopicPartition[]): void {
    for (const p of partitions) this.consumer.pause([{ topic: p.topic, partitions: [p.partition] }]);
  }

  resume(partitions: readonly TopicPartition[]): void {
    for (const p of partitions) this.consumer.resume([{ topic: p.topic, partitions: [p.partition] }]);
  }

  onAssignment(listener: (a: TopicPartition[]) => void): void {
    this.assignmentListeners.push(listener);
  }

  onCrash(listener: (e: Error) => void): void {
    this.crashListeners.push(listener);
  }

  onEmptyBatch(listener: (b: TopicPartition & { nextOffset: string; highWatermark: string }) => void): void {
    this.emptyBatchListeners.push(listener);
  }

  beforeJoin(hook: () => Promise<void>): void {
    this.joinHooks.push(beforeEachJoin(this.options.groupId, hook));
  }

  membership(): { generationId: number; memberId: string } | null {
    return groupMembership(this.options.groupId);
  }

  async disconnect(): Promise<void> {
    try {
      await this.consumer.disconnect();
    } finally {
      for (const unregister of this.joinHooks.splice(0)) unregister();
    }
  }
}

/** Until every partition of `topics` has a leader (retriable metadata errors retried). */
async function waitForLeaders(admin: KafkajsAdmin, topics: string[], timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { topics: found } = await retryRetriable(() => admin.fetchTopicMetadata({ topics }));
    if (found.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0))) return;
    if (Date.now() > deadline) throw new Error(`topics ${topics.join(', ')} have no leader after ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * kafkajs's admin does not retry a request that fails with a retriable error (a partition whose
 * leader is still being elected right after the topic was created, a leader move): retry those
 * here, briefly, instead of failing the caller.
 */
async function retryRetriable<T>(request: () => Promise<T>, attempts = 20): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await request();
    } catch (err) {
      if (i >= attempts || !(err as { retriable?: boolean }).retriable) throw err;
      await new Promise((r) => setTimeout(r, Math.min(1000, 50 * 2 ** i)));
    }
  }
}

/** Everything through kafkajs (the `producer: 'kafkajs'` choice; kafka-client.ts picks). */
/** `reachability`, when given, learns of outages from the client's log lines and of recovery from its fetches. */
export function createKafkajsClient(connection: KafkaConnection, logger: Logger, reachability?: ConnectionHealth): KafkaClient {
  registerCodecs();
  const kafka = new Kafka(kafkaConfig(connection, logger, reachability));
  return {
    reachability,
    source: (options) => new KafkajsSource(kafka, options, reachability),
    sink: (options: SinkOptions): Sink => {
      const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: true, createPartitioner: Partitioners.DefaultPartitioner });
      const compression = COMPRESSION_TYPE[options.compression];
      // kafkajs allows one produce request in flight per broker for an idempotent producer, so
      // each request should be as full as the broker allows: partitions are chosen here (with
      // kafkajs's own partitioner) so that a request can carry a full batch for each of them.
      const metadata = kafka.admin();
      const partitionsOf = new Map<string, PartitionMetadata[] | null>();
      const partitioner = Partitioners.DefaultPartitioner();
      const assignPartitions = async (messages: readonly OutgoingMessage[]): Promise<OutgoingMessage[]> => {
        for (const m of messages) {
          if (m.partition !== undefined || partitionsOf.has(m.topic)) continue;
          // A topic the broker does not know yet is left to kafkajs (it creates it); asked again next time.
          const meta = await metadata.fetchTopicMetadata({ topics: [m.topic] }).catch(() => null);
          partitionsOf.set(m.topic, meta?.topics[0]?.partitions.length ? meta.topics[0].partitions : null);
        }
        const out = messages.map((m) => {
          const partitionMetadata = m.partition === undefined ? partitionsOf.get(m.topic) : null;
          if (!partitionMetadata) return m;
          return { ...m, partition: partitioner({ topic: m.topic, partitionMetadata, message: { key: m.key, value: m.value } }) };
        });
        for (const [topic, meta] of partitionsOf) if (meta === null) partitionsOf.delete(topic);
        return out;
      };
      const sendSlice = async (messages: readonly OutgoingMessage[]): Promise<void> => {
        const byTopic = new Map<string, Message[]>();
        for (const m of messages) {
          let list = byTopic.get(m.topic);
          if (!list) byTopic.set(m.topic, (list = []));
          list.push({ key: m.key, value: m.value, partition: m.partition, timestamp: String(m.timestampMs), headers: m.headers as Record<string, string> | undefined });
        }
        await producer.sendBatch({ acks: -1, compression, topicMessages: [...byTopic].map(([topic, msgs]) => ({ topic, messages: msgs })) });
      };
      return {
        async connect() {
          await producer.connect();
          await metadata.connect();
        },
        async send(messages) {
          const all = messagesOf(messages);
          for (const slice of produceSlices(await assignPartitions(all), MAX_BATCH_BYTES)) await sendSlice(slice);
        },
        async disconnect() {
          await metadata.disconnect();
          await producer.disconnect();
        },
      };
    },
    admin: (): Admin => {
      const admin = kafka.admin();
      return {
        connect: () => admin.connect(),
        listTopics: async () => new Set(await admin.listTopics()),
        async ensureTopics(topics) {
          const existing = new Set(await admin.listTopics());
          const missing = topics.filter((t) => !existing.has(t.topic));
          try {
            // kafkajs's own wait for leaders gives up on "does not host this topic-partition"
            // (KRaft brokers answer that for a moment after the creation): waitForLeaders below.
            if (missing.length > 0) await admin.createTopics({
              waitForLeaders: false,
              topics: missing.map((t) => ({
                topic: t.topic,
                numPartitions: t.partitions,
                replicationFactor: t.replicationFactor,
                configEntries: Object.entries(t.configs ?? {}).map(([name, value]) => ({ name, value })),
              })),
            });
          } catch (err) {
            // kafkajs says only "Topic creation errors"; the broker's reason per topic is inside.
            const causes = (err as { errors?: { topic?: string; message?: string }[] }).errors;
            if (!Array.isArray(causes) || causes.length === 0) throw err;
            throw new Error(`could not create ${causes.map((c) => `topic ${c.topic ?? '?'}: ${c.message ?? 'unknown error'}`).join('; ')}`);
          }
          // Instances starting together race to create the same topics: a topic another one just
          // created is listed (or kafkajs answers "already exists") before its leaders are elected,
          // and subscribing then fails ("does not host this topic-partition"). Wait for them.
          if (topics.length > 0) await waitForLeaders(admin, topics.map((t) => t.topic));
        },
        async endOffsets(topic) {
          const offsets = await retryRetriable(() => admin.fetchTopicOffsets(topic));
          return new Map(offsets.map((p) => [p.partition, p.high]));
        },
        async offsetBounds(topic) {
          const offsets = await retryRetriable(() => admin.fetchTopicOffsets(topic));
          return new Map(offsets.map((p) => [p.partition, { low: p.low, high: p.high }]));
        },
        async topicConfig(topic, name) {
          const r = await retryRetriable(() => admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: [name] }], includeSynonyms: false }));
          return r.resources[0]?.configEntries.find((e) => e.configName === name)?.configValue ?? null;
        },
        async committedOffsets(groupId, topic) {
          // A group just made answers "not the coordinator" while its coordinator loads: retriable.
          const [t] = await retryRetriable(() => admin.fetchOffsets({ groupId, topics: [topic] }));
          return new Map((t?.partitions ?? []).map((p) => [p.partition, p.offset]));
        },
        disconnect: () => admin.disconnect(),
      };
    },
  };
}
