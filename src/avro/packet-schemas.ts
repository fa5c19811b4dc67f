import type { PacketRecord } from '../model/packet-record';
import { plausibleBatch, readPacketBatch, readPacketRecord } from './packet-reader';
import { loadSchema } from './schema-files';

/** Avro type of one PacketRecord (schemas/packet-record.avsc). */
export const packetRecordType = loadSchema('packet-record.avsc');
/** Avro type of a batch of PacketRecords (schemas/packet-batch.avsc). */
export const packetBatchType = loadSchema('packet-batch.avsc');

/** The record avsc decodes: PacketRecord with every field present, the optional ones null. */
type AvroPacket = { [K in keyof PacketRecord]-?: undefined extends PacketRecord[K] ? Exclude<PacketRecord[K], undefined> | null : PacketRecord[K] };

/**
 * Avro nulls become absent fields, so decoded records look like the JSON ones (fields in schema
 * order). Written out field by field: copying by Object.keys made a differently shaped object per
 * packet, several times slower on the consumer's hot path.
 */
export function fromAvro(o: Record<string, unknown>): PacketRecord {
  const a = o as unknown as AvroPacket;
  const r: PacketRecord = { ts: a.ts, src: a.src, dst: a.dst, sport: a.sport, dport: a.dport, flags: a.flags, seq: a.seq, ack: a.ack, len: a.len };
  if (a.win !== null) r.win = a.win;
  if (a.vlan !== null) r.vlan = a.vlan;
  if (a.sensor !== null) r.sensor = a.sensor;
  if (a.frame !== null) r.frame = a.frame;
  if (a.icmpQuote !== null) r.icmpQuote = a.icmpQuote;
  return r;
}

export function encodePacket(p: PacketRecord): Buffer {
  return packetRecordType.toBuffer({ win: null, vlan: null, sensor: null, frame: null, icmpQuote: null, ...p });
}

export function decodePacket(buf: Buffer): PacketRecord {
  return readPacketRecord(buf) ?? fromAvro(packetRecordType.fromBuffer(buf) as Record<string, unknown>);
}

export function encodeBatch(packets: PacketRecord[]): Buffer {
  return packetBatchType.toBuffer({ packets: packets.map((p) => ({ win: null, vlan: null, sensor: null, frame: null, icmpQuote: null, ...p })) });
}

export function decodeBatch(buf: Buffer): PacketRecord[] {
  const fast = readPacketBatch(buf);
  if (fast) return fast;
  if (!plausibleBatch(buf)) throw new Error('not an Avro PacketBatch (a block declares more packets than the bytes hold)');
  return (packetBatchType.fromBuffer(buf) as { packets: Record<string, unknown>[] }).packets.map(fromAvro);
}
