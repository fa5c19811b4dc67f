/**
 * The wire producer in a Kafka transaction (KIP-98), for `consume --app-id --exactly-once`:
 * everything sent between two commits (events, the clients feed, checkpoints, dead letters) and
 * the consumer group's offsets become visible to read_committed readers together, or not at all.
 *
 * The transactional id fences: a process that starts with the id of one that died bumps its
 * epoch, which aborts the dead one's open transaction at once (instead of after the transaction
 * timeout) and refuses anything it might still send. The offsets are committed with the group
 * member's generation (TxnOffsetCommit v3, KIP-447): a member the group has moved on from (it
 * stalled past its session timeout, its partitions were given to others) cannot commit
 * (StaleMemberError): the caller aborts, drops its state and rejoins. Any other error inside a
 * transaction is fatal to it: the caller stops, and its tasks are restored from the last
 * committed checkpoints by whoever owns them next.
 */
import type { Logger } from '../../util/logger';
import type { KafkaConnection, SinkOptions, TopicPartition } from '../client';
import type { ConnectionHealth } from '../connection-health';
import type { BrokerLink } from './broker-pool';
import { errorName, KafkaProtocolError } from './errors';
import { WireProducer } from './producer';
import { API, initProducerIdRequest, parseInitProducerId } from './requests';
import {
  addOffsetsToTxnRequest,
  addPartitionsToTxnRequest,
  COORDINATOR,
  endTxnRequest,
  findCoordinatorRequest,
  parseAddPartitionsToTxn,
  parseErrorCode,
  parseFindCoordinator,
  parseTxnOffsetCommit,
  TXN_API,
  TXN_VERSION,
  txnOffsetCommitRequest,
  type GroupMember,
  type Producer,
} from './transaction-requests';

export type { GroupMember };

/**
 * Errors that mean the broker fenced this producer: its transaction outlived the transaction
 * timeout (the coordinator aborted it and bumped the epoch), or another producer started with the
 * same transactional id. Either way this one cannot go on.
 */
const WHY_FENCED = 'the broker fenced this producer: its transaction stayed open past --transaction-timeout (a stall?), or another instance uses the same --transactional-id';
const FENCED: Record<number, string> = { 47: WHY_FENCED, 90: WHY_FENCED };
/** Errors that mean the consumer group has moved on from the member the offsets were for. */
const STALE_MEMBER: Record<number, string> = {
  22: 'the consumer group has moved to a newer generation (this member stalled or was put out of the group)',
  25: 'the consumer group no longer knows this member (it stalled past its session timeout)',
  27: 'the consumer group is rebalancing',
  82: 'another member took this static member id',
};

export class TransactionFencedError extends Error {
  override name = 'TransactionFencedError';
}

/**
 * The group refused the transaction's offsets: the member's partitions may be someone else's
 * now. Its transaction must be aborted, and its state (past the last commit) dropped.
 */
export class StaleMemberError extends Error {
  override name = 'StaleMemberError';
}

/** An error code of a transaction request as an error: retriable ones are retried, the rest end the transaction. */
function check(code: number, what: string): void {
  if (code === 0) return;
  if (FENCED[code]) throw new TransactionFencedError(`${what}: ${errorName(code)}: ${FENCED[code]}`);
  if (STALE_MEMBER[code]) throw new StaleMemberError(`${what}: ${errorName(code)}: ${STALE_MEMBER[code]}`);
  throw new KafkaProtocolError(`${what}: ${errorName(code)}`, code);
}

export interface TransactionOptions {
  readonly transactionalId: string;
  /** How long the coordinator lets a transaction stay open before it aborts it. */
  readonly transactionTimeoutMs: number;
}

export class TransactionalProducer extends WireProducer {
  /** Partitions written in the open transaction. */
  private readonly enlisted = new Set<string>();
  /** The group's offsets are part of the open transaction (AddOffsetsToTxn sent). */
  private offsetsAdded = false;
  private coordinators: Record<'transaction' | 'group', { key: string; link: BrokerLink } | null> = { transaction: null, group: null };

  constructor(
    connection: KafkaConnection,
    options: SinkOptions,
    logger: Logger,
    private readonly txn: TransactionOptions,
    reachability?: ConnectionHealth,
  ) {
    super(connection, options, logger, undefined, reachability);
    this.transactionalId = txn.transactionalId;
  }

  /** Whether a transaction is open (anything written or offsets added since the last commit). */
  get open(): boolean {
    return this.enlisted.size > 0 || this.offsetsAdded;
  }

  /**
   * Commits the open transaction with `offsets` (next offsets to read) for `member`'s group:
   * once it resolves, what was sent before it and the offsets are visible together.
   */
  commitTransaction(offsets: readonly (TopicPartition & { offset: string })[], member: GroupMember | null): Promise<void> {
    return this.serially(async () => {
      if (offsets.length > 0) {
        if (!member) throw new Error('offsets to commit in a transaction need the consumer group member they are for');
        await this.withCoordinator('transaction', this.txn.transactionalId, async (link) => {
          check(parseErrorCode(await link.conn.request(TXN_API.addOffsetsToTxn, TXN_VERSION.addOffsetsToTxn, [addOffsetsToTxnRequest(this.producer, member.groupId)])), 'adding the group\'s offsets to the transaction');
        });
        this.offsetsAdded = true;
        const byTopic = new Map<string, Map<number, bigint>>();
        for (const o of offsets) {
          const m = byTopic.get(o.topic) ?? new Map<number, bigint>();
          m.set(o.partition, BigInt(o.offset));
          byTopic.set(o.topic, m);
        }
        await this.withCoordinator('group', member.groupId, async (link) => {
          const results = parseTxnOffsetCommit(await link.conn.request(TXN_API.txnOffsetCommit, TXN_VERSION.txnOffsetCommit, [txnOffsetCommitRequest(this.producer, member, byTopic)], true));
          for (const r of results) check(r.errorCode, `committing the offset of ${r.topic}/${r.partition} in the transaction`);
        });
      } else if (!this.open) return; // nothing written, nothing to commit
      await this.endTransaction(true);
    });
  }

  /** Aborts the open transaction, if any (what it wrote is never seen by read_committed readers). */
  abortTransaction(): Promise<void> {
    return this.serially(async () => {
      if (this.open) await this.endTransaction(false);
    });
  }

  /** Aborts an open transaction (a stop after a failure), then closes the connections. */
  override async disconnect(): Promise<void> {
    if (this.open) {
      await this.abortTransaction().catch((err: Error) => this.logger.warn('could not abort the open transaction; the coordinator aborts it after the transaction timeout', { error: err.message, timeoutMs: this.txn.transactionTimeoutMs }));
    }
    return super.disconnect();
  }

  private get producer(): Producer {
    return { transactionalId: this.txn.transactionalId, producerId: this.producerId, producerEpoch: this.producerEpoch };
  }

  private async endTransaction(commit: boolean): Promise<void> {
    await this.withCoordinator('transaction', this.txn.transactionalId, async (link) => {
      check(parseErrorCode(await link.conn.request(TXN_API.endTxn, TXN_VERSION.endTxn, [endTxnRequest(this.producer, commit)])), commit ? 'committing the transaction' : 'aborting the transaction');
    });
    this.enlisted.clear();
    this.offsetsAdded = false;
  }

  /** Partitions not yet in the open transaction are added to it before anything is written to them. */
  protected override async beforeProduce(partitions: Iterable<TopicPartition>): Promise<void> {
    const fresh = new Map<string, number[]>();
    for (const p of partitions) {
      if (this.enlisted.has(`${p.topic}\u0000${p.partition}`)) continue;
      fresh.set(p.topic, [...(fresh.get(p.topic) ?? []), p.partition]);
    }
    if (fresh.size === 0) return;
    await this.withCoordinator('transaction', this.txn.transactionalId, async (link) => {
      const results = parseAddPartitionsToTxn(await link.conn.request(TXN_API.addPartitionsToTxn, TXN_VERSION.addPartitionsToTxn, [addPartitionsToTxnRequest(this.producer, fresh)]));
      // One failing partition fails the others with OPERATION_NOT_ATTEMPTED: the first real error counts.
      const failed = results.find((r) => r.errorCode !== 0 && r.errorCode !== 55) ?? results.find((r) => r.errorCode !== 0);
      if (failed) check(failed.errorCode, `adding ${failed.topic}/${failed.partition} to the transaction`);
      for (const r of results) this.enlisted.add(`${r.topic}\u0000${r.partition}`);
    });
  }

  /** The transactional id's producer id and a new epoch (fencing any earlier producer of the id). */
  protected override async initProducerId(): Promise<void> {
    await this.withCoordinator('transaction', this.txn.transactionalId, async (link) => {
      const r = parseInitProducerId(await link.conn.request(API.initProducerId, link.versions.initProducerId!, [initProducerIdRequest(this.txn.transactionalId, this.txn.transactionTimeoutMs)]));
      check(r.errorCode, `initialising transactional id ${this.txn.transactionalId}`);
      this.producerId = r.producerId;
      this.producerEpoch = r.producerEpoch;
    });
    this.enlisted.clear();
    this.offsetsAdded = false;
  }

  /** Runs `step` against the coordinator of `key`, found (again) when unknown or moved; retriable errors are retried. */
  private withCoordinator(kind: 'transaction' | 'group', key: string, step: (link: BrokerLink) => Promise<void>): Promise<void> {
    return this.pool.withRetries(`${kind} coordinator`, async () => {
      let c = this.coordinators[kind];
      if (!c || c.key !== key || !c.link.conn.alive) {
        const { conn } = await this.pool.anyConnection();
        const found = parseFindCoordinator(await conn.request(TXN_API.findCoordinator, TXN_VERSION.findCoordinator, [findCoordinatorRequest(key, COORDINATOR[kind])]));
        check(found.errorCode, `finding the ${kind} coordinator of ${key}`);
        c = { key, link: await this.pool.connectionAt({ nodeId: found.nodeId, host: found.host, port: found.port }) };
        this.coordinators[kind] = c;
      }
      try {
        await step(c.link);
      } catch (err) {
        // The coordinator moved or is loading: ask again where it is.
        const code = (err as { code?: number }).code;
        if (code === 14 || code === 15 || code === 16 || !(err instanceof KafkaProtocolError || err instanceof TransactionFencedError || err instanceof StaleMemberError)) this.coordinators[kind] = null;
        throw err;
      }
    });
  }
}
