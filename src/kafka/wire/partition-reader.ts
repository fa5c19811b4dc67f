/**
 * Reads one partition from its start (or an offset) to the end it has when the read starts,
 * without joining a consumer group: kafkajs offers no `assign`, and a throwaway group costs a join
 * (seconds) per read. The consumer restores a task's checkpoint from the changelog this way.
 */
import type { Logger } from '../../util/logger';
import type { KafkaConnection } from '../client';
import { BrokerPool, METADATA_MAX_AGE_MS, sleep } from './broker-pool';
import { errorName, KafkaProtocolError } from './errors';
import { EARLIEST, fetchRequest, LATEST, listOffsetsRequest, parseFetch, parseListOffsets, READ_COMMITTED, READ_UNCOMMITTED } from './fetch-requests';
import { readRecordBatches, type ReadRecord } from './record-batch-reader';
import { API } from './requests';

export interface PartitionRead {
  readonly records: number;
  /** Record batch bytes fetched (as stored, compressed). */
  readonly bytes: number;
  /** The offset the read stopped at: the partition's end when it started. */
  readonly endOffset: bigint;
}

export interface ReadOptions {
  /** Only what committed transactions wrote (and nothing past the last stable offset). @default false */
  readonly readCommitted?: boolean;
  /** Where to start. @default the partition's first offset */
  readonly from?: bigint;
  /** Bytes asked for per fetch. @default 8 MiB */
  readonly fetchBytes?: number;
  /**
   * With readCommitted: first wait (up to this long) until every transaction that wrote to the
   * partition before the read started has ended, so that the read's end (the last stable offset)
   * covers everything written before it; a transaction that stays open longer is an error.
   */
  readonly waitStableMs?: number;
}

export class PartitionReader {
  private readonly pool: BrokerPool;

  constructor(connection: KafkaConnection, logger: Logger) {
    this.pool = new BrokerPool(connection, logger, ['metadata', 'fetch', 'listOffsets'], METADATA_MAX_AGE_MS, false);
  }

  /** Hands every record of `topic`/`partition` to `onRecords`, in offset order, a fetch at a time. */
  async read(topic: string, partition: number, onRecords: (records: readonly ReadRecord[]) => void, options: ReadOptions = {}): Promise<PartitionRead> {
    const isolation = options.readCommitted ? READ_COMMITTED : READ_UNCOMMITTED;
    const fetchBytes = options.fetchBytes ?? 8 * 1024 * 1024;
    await this.pool.withRetries('metadata', () => this.pool.refreshMetadata([topic], true));
    const end = options.readCommitted && options.waitStableMs !== undefined ? await this.stableEnd(topic, partition, options.waitStableMs) : await this.pool.withRetries('end offset', () => this.offsetAt(topic, partition, LATEST, isolation));
    let offset = options.from ?? (await this.pool.withRetries('start offset', () => this.offsetAt(topic, partition, EARLIEST, isolation)));
    let records = 0;
    let bytes = 0;
    while (offset < end) {
      const fetched = await this.pool.withRetries('fetch', async () => {
        const { conn, versions } = await this.pool.leaderOf(topic, partition);
        const f = parseFetch(await conn.request(API.fetch, versions.fetch!, [fetchRequest(topic, partition, offset, fetchBytes, 500, isolation)]));
        if (f.errorCode !== 0) {
          const err = new KafkaProtocolError(`fetching ${topic}/${partition} at ${offset}: ${errorName(f.errorCode)}`, f.errorCode);
          if (err.retriable) await this.pool.refreshMetadata([topic], false).catch(() => undefined);
          throw err;
        }
        return f;
      });
      if (!fetched.records || fetched.records.length === 0) {
        // Nothing more below `end` (a compacted tail, or the log shrank since): done.
        if (fetched.highWatermark <= offset) break;
        continue;
      }
      bytes += fetched.records.length;
      const batch = await readRecordBatches(fetched.records, offset, fetched.aborted);
      if (batch.nextOffset <= offset) throw new KafkaProtocolError(`fetching ${topic}/${partition} at ${offset} made no progress`, 2);
      const wanted = batch.records.filter((r) => r.offset < end);
      records += wanted.length;
      if (wanted.length > 0) onRecords(wanted);
      offset = batch.nextOffset;
    }
    return { records, bytes, endOffset: end };
  }

  close(): void {
    this.pool.close();
  }

  /** The last stable offset once it has reached the end the partition had when this was called. */
  private async stableEnd(topic: string, partition: number, waitMs: number): Promise<bigint> {
    const written = await this.pool.withRetries('end offset', () => this.offsetAt(topic, partition, LATEST, READ_UNCOMMITTED));
    const deadline = Date.now() + waitMs;
    for (;;) {
      const stable = await this.pool.withRetries('last stable offset', () => this.offsetAt(topic, partition, LATEST, READ_COMMITTED));
      if (stable >= written) return stable;
      if (Date.now() > deadline) {
        throw new Error(`${topic}/${partition}: a transaction open since before offset ${written} has not ended in ${Math.round(waitMs / 1000)} s (last stable offset ${stable})`);
      }
      await sleep(50);
    }
  }

  private async offsetAt(topic: string, partition: number, timestamp: bigint, isolation: number): Promise<bigint> {
    const { conn, versions } = await this.pool.leaderOf(topic, partition);
    const r = parseListOffsets(await conn.request(API.listOffsets, versions.listOffsets!, [listOffsetsRequest(topic, partition, timestamp, isolation)]));
    if (r.errorCode !== 0) {
      const err = new KafkaProtocolError(`offsets of ${topic}/${partition}: ${errorName(r.errorCode)}`, r.errorCode);
      if (err.retriable) await this.pool.refreshMetadata([topic], false).catch(() => undefined);
      throw err;
    }
    return r.offset;
  }
}

export type { ReadRecord };
