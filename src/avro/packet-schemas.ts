import type { PacketRecord } from '../model/packet-record';
import { loadSchema } from './schema-files';

/** Avro type of one PacketRecord (schemas/packet-record.avsc). */
export const packetRecordType = loadSchema('packet-record.avsc');
/** Avro type of a batch of PacketRecords (schemas/packet-batch.avsc). */
export const packetBatchType = loadSchema('packet-batch.avsc');

/** Avro nulls become absent fields, so decoded records look like the JSON ones. */
export function fromAvro(o: Record<string, unknown>): PacketRecord {
  const r: Record<string, unknown> = {};
  for (const k of Object.keys(o)) if (o[k] !== null) r[k] = o[k];
  return r as unknown as PacketRecord;
}

export function encodePacket(p: PacketRecord): Buffer {
  return packetRecordType.toBuffer({ win: null, vlan: null, sensor: null, frame: null, icmpQuote: null, ...p });
}

export function decodePacket(buf: Buffer): PacketRecord {
  return fromAvro(packetRecordType.fromBuffer(buf) as Record<string, unknown>);
}

export function encodeBatch(packets: PacketRecord[]): Buffer {
  return packetBatchType.toBuffer({ packets: packets.map((p) => ({ win: null, vlan: null, sensor: null, frame: null, icmpQuote: null, ...p })) });
}

export function decodeBatch(buf: Buffer): PacketRecord[] {
  return (packetBatchType.fromBuffer(buf) as { packets: Record<string, unknown>[] }).packets.map(fromAvro);
}
