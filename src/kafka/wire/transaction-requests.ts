/**
 * The requests of a transactional producer (KIP-98, KIP-447): FindCoordinator (the transaction
 * and the group coordinator), AddPartitionsToTxn, AddOffsetsToTxn, TxnOffsetCommit and EndTxn.
 * Field layouts as Kafka's message definitions have them; the versions are the non-flexible
 * ones, except TxnOffsetCommit v3 (flexible), the first that carries the consumer group's
 * generation and member id, so that the group coordinator refuses a commit from a member the
 * group has moved on from (a zombie's transaction is aborted, not committed).
 */
import type { Reader } from './bytes';

export const TXN_API = { findCoordinator: 10, addPartitionsToTxn: 24, addOffsetsToTxn: 25, endTxn: 26, txnOffsetCommit: 28 } as const;
/** The version used of each (served by Kafka 2.5 through 4.x). */
export const TXN_VERSION = { findCoordinator: 1, addPartitionsToTxn: 1, addOffsetsToTxn: 1, endTxn: 1, txnOffsetCommit: 3 } as const;

export const COORDINATOR = { group: 0, transaction: 1 } as const;

/** A request body built field by field (these requests are small and rare). */
class Body {
  private readonly parts: Buffer[] = [];

  int8(v: number): this {
    this.parts.push(Buffer.from([v & 0xff]));
    return this;
  }

  int16(v: number): this {
    const b = Buffer.allocUnsafe(2);
    b.writeInt16BE(v);
    this.parts.push(b);
    return this;
  }

  int32(v: number): this {
    const b = Buffer.allocUnsafe(4);
    b.writeInt32BE(v);
    this.parts.push(b);
    return this;
  }

  int64(v: bigint): this {
    const b = Buffer.allocUnsafe(8);
    b.writeBigInt64BE(v);
    this.parts.push(b);
    return this;
  }

  string(v: string): this {
    const s = Buffer.from(v, 'utf8');
    return this.int16(s.length).raw(s);
  }

  uvarint(v: number): this {
    const bytes: number[] = [];
    while (v >= 0x80) {
      bytes.push((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    bytes.push(v);
    this.parts.push(Buffer.from(bytes));
    return this;
  }

  compactString(v: string | null): this {
    if (v === null) return this.uvarint(0);
    const s = Buffer.from(v, 'utf8');
    return this.uvarint(s.length + 1).raw(s);
  }

  raw(b: Buffer): this {
    this.parts.push(b);
    return this;
  }

  done(): Buffer {
    return Buffer.concat(this.parts);
  }
}

export interface Producer {
  readonly transactionalId: string;
  readonly producerId: bigint;
  readonly producerEpoch: number;
}

const producerFields = (b: Body, p: Producer): Body => b.string(p.transactionalId).int64(p.producerId).int16(p.producerEpoch);

export function findCoordinatorRequest(key: string, keyType: number): Buffer {
  return new Body().string(key).int8(keyType).done();
}

export function parseFindCoordinator(r: Reader): { errorCode: number; errorMessage: string | null; nodeId: number; host: string; port: number } {
  r.int32(); // throttle_time_ms
  return { errorCode: r.int16(), errorMessage: r.string(), nodeId: r.int32(), host: r.string() ?? '', port: r.int32() };
}

export function addPartitionsToTxnRequest(p: Producer, partitions: ReadonlyMap<string, readonly number[]>): Buffer {
  const b = producerFields(new Body(), p).int32(partitions.size);
  for (const [topic, list] of partitions) {
    b.string(topic).int32(list.length);
    for (const n of list) b.int32(n);
  }
  return b.done();
}

/** Per topic/partition error codes (0: added). */
export function parseAddPartitionsToTxn(r: Reader): { topic: string; partition: number; errorCode: number }[] {
  r.int32(); // throttle_time_ms
  const out: { topic: string; partition: number; errorCode: number }[] = [];
  for (const t of r.array((x) => ({ topic: x.string() ?? '', results: x.array((y) => ({ partition: y.int32(), errorCode: y.int16() })) }))) {
    for (const p of t.results) out.push({ topic: t.topic, partition: p.partition, errorCode: p.errorCode });
  }
  return out;
}

export function addOffsetsToTxnRequest(p: Producer, groupId: string): Buffer {
  return producerFields(new Body(), p).string(groupId).done();
}

export function endTxnRequest(p: Producer, commit: boolean): Buffer {
  return producerFields(new Body(), p).int8(commit ? 1 : 0).done();
}

/** AddOffsetsToTxn and EndTxn answer with one error code. */
export function parseErrorCode(r: Reader): number {
  r.int32(); // throttle_time_ms
  return r.int16();
}

/** The consumer group member the offsets are committed for (KIP-447 fencing). */
export interface GroupMember {
  readonly groupId: string;
  readonly generationId: number;
  readonly memberId: string;
}

export function txnOffsetCommitRequest(p: Producer, member: GroupMember, offsets: ReadonlyMap<string, ReadonlyMap<number, bigint>>): Buffer {
  const b = new Body()
    .compactString(p.transactionalId)
    .compactString(member.groupId)
    .int64(p.producerId)
    .int16(p.producerEpoch)
    .int32(member.generationId)
    .compactString(member.memberId)
    .compactString(null) // group_instance_id: no static membership
    .uvarint(offsets.size + 1);
  for (const [topic, parts] of offsets) {
    b.compactString(topic).uvarint(parts.size + 1);
    for (const [partition, offset] of parts) b.int32(partition).int64(offset).int32(-1).compactString(null).uvarint(0);
    b.uvarint(0);
  }
  return b.uvarint(0).done();
}

export function parseTxnOffsetCommit(r: Reader): { topic: string; partition: number; errorCode: number }[] {
  r.int32(); // throttle_time_ms
  const out: { topic: string; partition: number; errorCode: number }[] = [];
  for (const t of r.compactArray((x) => ({ topic: x.compactString() ?? '', results: x.compactArray((y) => ({ partition: y.int32(), errorCode: y.int16() })) }))) {
    for (const p of t.results) out.push({ topic: t.topic, partition: p.partition, errorCode: p.errorCode });
  }
  return out;
}
