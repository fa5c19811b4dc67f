/**
 * The few things tcpreuse needs from a Kafka client, so the consumer service does not depend on
 * kafkajs itself and another client can be measured against it without touching the pipeline.
 * kafka-client.ts puts the implementations together: kafkajs-client.ts (consumer, admin, and a
 * producer) and wire/producer.ts (our own producer).
 */
import type { ConnectionHealth } from './connection-health';
import type { Compression } from './codecs';
import type { PackedMessages } from './message-pack';

export interface KafkaConnection {
  readonly brokers: readonly string[];
  readonly clientId: string;
  /** TLS: true for the system CAs, or files for a private CA / client certificate. */
  readonly ssl?: boolean | { readonly caFile?: string; readonly certFile?: string; readonly keyFile?: string; readonly rejectUnauthorized?: boolean };
  readonly sasl?: { readonly mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; readonly username: string; readonly password: string };
  /**
   * Which producer writes: `wire`, our own (wire/producer.ts, several times cheaper per record), or
   * `kafkajs`. SASL needs kafkajs; the wire producer speaks plain TCP and TLS. @default 'wire'
   */
  readonly producer?: 'wire' | 'kafkajs';
  /** How long to keep retrying a broker that does not answer before giving up. @default 30000 */
  readonly connectionTimeoutMs?: number;
}

export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

export interface ConsumedMessage {
  readonly offset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  /** Message timestamp (CreateTime or LogAppendTime), ms since the epoch. */
  readonly timestampMs: number;
  readonly headers: Readonly<Record<string, string | undefined>>;
}

export interface ConsumedBatch extends TopicPartition {
  readonly messages: readonly ConsumedMessage[];
  /** The partition's high watermark when the batch was fetched: the offset after the last message. */
  readonly highWatermark: string;
  /**
   * Where the partition's next fetch starts: past the last message, and past transaction markers
   * and aborted records after it (not delivered). Absent: after the last message.
   */
  readonly nextOffset?: string;
}

export interface BatchContext {
  /**
   * Keeps the group membership alive; call it once the batch's messages are taken. It rejects when
   * the group rebalances: let that error out of the batch handler, the client rejoins.
   */
  heartbeat(): Promise<void>;
  /** False once the consumer is stopping or the batch is stale (rebalance). */
  isRunning(): boolean;
}

export interface OutgoingMessage {
  readonly topic: string;
  /** Explicit partition; otherwise the client's partitioner hashes the key. */
  readonly partition?: number;
  readonly key: string | Buffer | null;
  /** null: a tombstone (a compacted topic drops the key). */
  readonly value: string | Buffer | null;
  readonly timestampMs: number;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface SourceOptions {
  readonly groupId: string;
  readonly topics: readonly string[];
  /** Where a group without committed offsets starts. */
  readonly fromBeginning: boolean;
  readonly sessionTimeoutMs?: number;
  readonly maxBytesPerPartition?: number;
}

export interface Source {
  connect(): Promise<void>;
  /** Starts fetching; `onBatch` is awaited before the batch's partition is fetched again. */
  run(onBatch: (batch: ConsumedBatch, ctx: BatchContext) => Promise<void>): Promise<void>;
  /** Commits the given next-offsets for the group (only partitions currently assigned). */
  commit(offsets: readonly (TopicPartition & { offset: string })[]): Promise<void>;
  pause(partitions: readonly TopicPartition[]): void;
  resume(partitions: readonly TopicPartition[]): void;
  /** Makes the next fetch of a partition start at `offset` (e.g. where a restored checkpoint ends). */
  seek(partition: TopicPartition, offset: string): void;
  /** Called with the whole assignment after each (re)join of the group. */
  onAssignment(listener: (assigned: TopicPartition[]) => void): void;
  /**
   * Called for a fetched batch that had nothing to deliver (only transaction markers or aborted
   * records): where the partition's next offset is now, and its high watermark.
   */
  onEmptyBatch(listener: (b: TopicPartition & { nextOffset: string; highWatermark: string }) => void): void;
  /** Called when the client gave up (e.g. broker unreachable after its retries). */
  onCrash(listener: (err: Error) => void): void;
  /**
   * Awaited before every (re)join of the group, while this member still owns its partitions:
   * under the eager protocol a join gives them all up, so this is where state is checkpointed
   * for whoever gets them next (the rebalance waits for it).
   */
  beforeJoin(hook: () => Promise<void>): void;
  /** This member's generation and id in the group since its last join (null before one): a transactional offset commit names them. */
  membership(): { generationId: number; memberId: string } | null;
  disconnect(): Promise<void>;
}

export interface SinkOptions {
  readonly compression: Compression;
  /** Run the producer in a worker thread (its CPU off the caller's thread). @default false */
  readonly thread?: boolean;
  /** Write in transactions with this transactional id (wire producer, this thread): the sink is a TransactionalSink. */
  readonly transaction?: { readonly transactionalId: string; readonly transactionTimeoutMs: number };
}

/** A sink whose writes become visible at commitTransaction, together with the group's offsets (--exactly-once). */
export interface TransactionalSink extends Sink {
  /** `member`: the consumer group member the offsets are committed for (null only without offsets). */
  commitTransaction(offsets: readonly (TopicPartition & { offset: string })[], member: { groupId: string; generationId: number; memberId: string } | null): Promise<void>;
  /** Aborts the open transaction: nothing written since the last commit is ever seen by read_committed readers. */
  abortTransaction(): Promise<void>;
}

export interface Sink {
  connect(): Promise<void>;
  /**
   * Resolves once the broker acknowledged every message (acks from all in-sync replicas).
   * Messages come as objects, or packed into one buffer (message-pack) by a caller that writes
   * many records and should not keep an object per record alive meanwhile.
   */
  send(messages: readonly OutgoingMessage[] | PackedMessages): Promise<void>;
  disconnect(): Promise<void>;
}

export interface Admin {
  connect(): Promise<void>;
  /** Names of the topics that exist. */
  listTopics(): Promise<Set<string>>;
  /** Creates the topics that do not exist yet (with `configs`, e.g. cleanup.policy=compact; replication: the broker's default unless given). */
  ensureTopics(topics: readonly { topic: string; partitions: number; replicationFactor?: number; configs?: Readonly<Record<string, string>> }[]): Promise<void>;
  /** A topic's configuration value (e.g. max.message.bytes), with the broker's default where the topic sets none; null if unknown. */
  topicConfig(topic: string, name: string): Promise<string | null>;
  /** High watermark (the offset after the last message) of each partition. */
  endOffsets(topic: string): Promise<Map<number, string>>;
  /** First and next offsets (low, high watermarks) per partition. */
  offsetBounds(topic: string): Promise<Map<number, { low: string; high: string }>>;
  /** The group's committed next-offset of each partition of `topic` ("-1" when none). */
  committedOffsets(groupId: string, topic: string): Promise<Map<number, string>>;
  disconnect(): Promise<void>;
}

export interface KafkaClient {
  /** Whether the cluster answers, where the client follows it (the consumer's /healthz reads it). */
  readonly reachability?: ConnectionHealth;
  source(options: SourceOptions): Source;
  sink(options: SinkOptions): Sink;
  admin(): Admin;
}
