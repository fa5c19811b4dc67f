import type * as avro from 'avsc';
import { plausibleBatch, readPacketBatch, readPacketRecord } from '../avro/packet-reader';
import { fromAvro as withoutNulls, packetBatchType, packetRecordType } from '../avro/packet-schemas';
import { inRange, PacketRecordError, validatePacketRecord, type PacketRecord } from '../model/packet-record';
import { InputError } from './input-error';

export type AvroShape = 'record' | 'batch';

/** Kafka header naming the shape of an Avro value (`record` or `batch`); `tcpreuse replay` sets it. */
export const AVRO_SHAPE_HEADER = 'tcpreuse-avro';

/** What decodes a Schema Registry message: its writer schema, from the id in its 5-byte header. */
export interface WriterSchemas {
  writerType(value: Buffer): avro.Type;
}

const WIRE_HEADER_BYTES = 5;

/**
 * Avro in the Schema Registry wire format. A message written with our own schemas takes the fast
 * path; any other writer schema (a sensor's own record with the PacketRecord fields, an evolved
 * version) is decoded with that schema and read by field name.
 */
export function decodeRegistryAvroPackets(value: Buffer, schemas: WriterSchemas): PacketRecord[] {
  const writer = schemas.writerType(value);
  const payload = value.subarray(WIRE_HEADER_BYTES);
  if (writer.equals(packetBatchType)) return decodeAvroPackets(payload, 'batch');
  if (writer.equals(packetRecordType)) return decodeAvroPackets(payload, 'record');
  let decoded: unknown;
  try {
    decoded = writer.fromBuffer(payload);
  } catch (err) {
    throw new InputError(`does not decode with its writer schema ${writer.name ?? writer.typeName} from the registry: ${(err as Error).message}`);
  }
  const items = Array.isArray((decoded as { packets?: unknown }).packets) ? (decoded as { packets: unknown[] }).packets : [decoded];
  try {
    return items.map((p) => fromAvro({ ...(p as Record<string, unknown>) }));
  } catch (err) {
    if (err instanceof PacketRecordError) throw new InputError(`writer schema ${writer.name ?? writer.typeName}: ${err.message}`);
    throw err;
  }
}

/** The schema fixes the types, not the ranges (ports, flags, uint32): those are checked here. */
const fromAvro = (o: Record<string, unknown>): PacketRecord => validatePacketRecord(withoutNulls(o));

/** Decodes with `type` only if it consumes the whole buffer (Avro binary carries no framing). */
function decodeExactly(type: typeof packetRecordType, value: Buffer): unknown {
  try {
    const { value: v, offset } = type.decode(value, 0);
    return offset === value.length ? v : undefined;
  } catch {
    return undefined; // avsc throws plain Errors on bytes that do not fit (bad union index, bad UTF-8 …)
  }
}

/**
 * Avro input (schemas/packet-record.avsc or packet-batch.avsc, binary, no framing). When the
 * shape is not known from a header, the batch schema is tried first: a single record cannot
 * parse as a batch that ends exactly at the end of the buffer, because a record opens with its
 * timestamp, which would read as an array of ~10^15 packets.
 */
export function decodeAvroPackets(value: Buffer, shape?: AvroShape): PacketRecord[] {
  try {
    // The hand-written reader first; what it does not cover goes to avsc (same schema, same result).
    if (shape !== 'record') {
      const fast = readPacketBatch(value);
      if (fast) {
        for (const p of fast) if (!inRange(p)) validatePacketRecord(p); // throws, naming the field
        return fast;
      }
      const batch = plausibleBatch(value) ? (decodeExactly(packetBatchType, value) as { packets: Record<string, unknown>[] } | undefined) : undefined;
      if (batch) return batch.packets.map(fromAvro);
      if (shape === 'batch') throw new InputError('not an Avro PacketBatch (schemas/packet-batch.avsc)');
    }
    const fast = readPacketRecord(value);
    if (fast) return [inRange(fast) ? fast : validatePacketRecord(fast)];
    const one = decodeExactly(packetRecordType, value) as Record<string, unknown> | undefined;
    if (one) return [fromAvro(one)];
  } catch (err) {
    if (err instanceof PacketRecordError) throw new InputError(err.message);
    throw err;
  }
  throw new InputError(
    shape === 'record'
      ? 'not an Avro PacketRecord (schemas/packet-record.avsc)'
      : 'neither an Avro PacketRecord nor a PacketBatch (schemas/packet-record.avsc, packet-batch.avsc)',
  );
}
