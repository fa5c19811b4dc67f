/**
 * The four requests a producer needs (ApiVersions, Metadata, InitProducerId, Produce), in their
 * non-flexible versions, which Kafka 2.x through 4.x all serve. Field layouts follow Kafka's
 * message definitions (clients/src/main/resources/common/message/*.json). Fetch and ListOffsets,
 * for reading a partition, are in fetch-requests.ts.
 */
import { Reader, stringSize, Writer } from './bytes';

export const API = { produce: 0, fetch: 1, listOffsets: 2, metadata: 3, apiVersions: 18, initProducerId: 22 } as const;

/** The versions this client speaks, per API; the highest the broker also speaks is used. */
export const SUPPORTED: Record<keyof typeof API, readonly [number, number]> = {
  produce: [3, 8],
  // The lowest versions Kafka 4 still serves (KIP-896): read_committed, no fetch sessions.
  fetch: [4, 4],
  listOffsets: [2, 2],
  metadata: [4, 8],
  apiVersions: [0, 0],
  initProducerId: [0, 1],
};

/**
 * Size-prefixed request: header v1 (api key, version, correlation id, client id) then `body`;
 * `flexible` versions take header v2, which adds (empty) tagged fields.
 */
export function requestFrame(apiKey: number, version: number, correlationId: number, clientId: string, body: readonly Buffer[], flexible = false): Buffer[] {
  let bodySize = 0;
  for (const b of body) bodySize += b.length;
  const head = new Writer(Buffer.allocUnsafe(4 + 8 + stringSize(clientId) + (flexible ? 1 : 0)));
  head.int32(head.buf.length - 4 + bodySize);
  head.int16(apiKey);
  head.int16(version);
  head.int32(correlationId);
  head.string(clientId);
  if (flexible) head.int8(0); // no tagged fields
  return [head.buf, ...body];
}

export interface ApiRange {
  readonly min: number;
  readonly max: number;
}

export function parseApiVersions(r: Reader): { errorCode: number; apis: Map<number, ApiRange> } {
  const errorCode = r.int16();
  const apis = new Map<number, ApiRange>();
  if (errorCode === 0) for (const a of r.array((x) => ({ key: x.int16(), min: x.int16(), max: x.int16() }))) apis.set(a.key, a);
  return { errorCode, apis };
}

export function metadataRequest(topics: readonly string[], version: number, allowAutoCreate = true): Buffer {
  let size = 4 + 1 + (version >= 8 ? 2 : 0);
  for (const t of topics) size += stringSize(t);
  const w = new Writer(Buffer.allocUnsafe(size));
  w.int32(topics.length);
  for (const t of topics) w.string(t);
  w.int8(allowAutoCreate ? 1 : 0); // allow_auto_topic_creation: a producer's default, not a reader's
  if (version >= 8) {
    w.int8(0); // include_cluster_authorized_operations
    w.int8(0); // include_topic_authorized_operations
  }
  return w.buf;
}

export interface BrokerAddress {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
}

export interface TopicMetadata {
  readonly errorCode: number;
  readonly name: string;
  readonly partitions: readonly { readonly errorCode: number; readonly partition: number; readonly leader: number }[];
}

export function parseMetadata(r: Reader, version: number): { brokers: BrokerAddress[]; topics: TopicMetadata[] } {
  r.int32(); // throttle_time_ms
  const brokers = r.array((x) => {
    const b = { nodeId: x.int32(), host: x.string() ?? '', port: x.int32() };
    x.string(); // rack
    return b;
  });
  r.string(); // cluster_id
  r.int32(); // controller_id
  const topics = r.array((x): TopicMetadata => {
    const errorCode = x.int16();
    const name = x.string() ?? '';
    x.bool(); // is_internal
    const partitions = x.array((p) => {
      const part = { errorCode: p.int16(), partition: p.int32(), leader: p.int32() };
      if (version >= 7) p.int32(); // leader_epoch
      p.array((q) => q.int32()); // replica_nodes
      p.array((q) => q.int32()); // isr_nodes
      if (version >= 5) p.array((q) => q.int32()); // offline_replicas
      return part;
    });
    if (version >= 8) x.int32(); // topic_authorized_operations
    return { errorCode, name, partitions };
  });
  return { brokers, topics };
}

/** Without a transactional id: idempotence only (the timeout is then unused). */
export function initProducerIdRequest(transactionalId: string | null = null, transactionTimeoutMs = 60000): Buffer {
  const w = new Writer(Buffer.allocUnsafe(stringSize(transactionalId) + 4));
  w.string(transactionalId);
  w.int32(transactionTimeoutMs);
  return w.buf;
}

export function parseInitProducerId(r: Reader): { errorCode: number; producerId: bigint; producerEpoch: number } {
  r.int32(); // throttle_time_ms
  return { errorCode: r.int16(), producerId: r.int64(), producerEpoch: r.int16() };
}

export interface PartitionRecords {
  readonly topic: string;
  readonly partition: number;
  readonly records: Buffer;
}

/**
 * A produce request's body as buffers: the small framing around each partition's record batch
 * is written separately so the (large) batches go to the socket as they are, uncopied.
 */
export function produceRequest(acks: number, timeoutMs: number, batches: readonly PartitionRecords[], transactionalId: string | null = null): Buffer[] {
  const byTopic = new Map<string, PartitionRecords[]>();
  for (const b of batches) {
    const list = byTopic.get(b.topic);
    if (list) list.push(b);
    else byTopic.set(b.topic, [b]);
  }
  const out: Buffer[] = [];
  let w = new Writer(Buffer.allocUnsafe(stringSize(transactionalId) + 2 + 4 + 4));
  w.string(transactionalId);
  w.int16(acks);
  w.int32(timeoutMs);
  w.int32(byTopic.size);
  out.push(w.buf);
  for (const [topic, parts] of byTopic) {
    w = new Writer(Buffer.allocUnsafe(stringSize(topic) + 4));
    w.string(topic);
    w.int32(parts.length);
    out.push(w.buf);
    for (const p of parts) {
      w = new Writer(Buffer.allocUnsafe(8));
      w.int32(p.partition);
      w.int32(p.records.length);
      out.push(w.buf, p.records);
    }
  }
  return out;
}

export interface PartitionResult {
  readonly topic: string;
  readonly partition: number;
  readonly errorCode: number;
  readonly errorMessage: string | null;
}

export function parseProduce(r: Reader, version: number): PartitionResult[] {
  const out: PartitionResult[] = [];
  const topics = r.int32();
  for (let t = 0; t < topics; t++) {
    const topic = r.string() ?? '';
    const parts = r.int32();
    for (let i = 0; i < parts; i++) {
      const partition = r.int32();
      const errorCode = r.int16();
      r.int64(); // base_offset
      r.int64(); // log_append_time_ms
      if (version >= 5) r.int64(); // log_start_offset
      let errorMessage: string | null = null;
      if (version >= 8) {
        const recordErrors = r.array((x) => `record ${x.int32()}: ${x.string() ?? ''}`);
        errorMessage = r.string();
        if (recordErrors.length > 0) errorMessage = `${errorMessage ?? ''} (${recordErrors.join('; ')})`;
      }
      out.push({ topic, partition, errorCode, errorMessage });
    }
  }
  return out;
}
