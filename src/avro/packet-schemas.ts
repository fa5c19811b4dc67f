import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as avro from 'avsc';
import type { PacketRecord } from '../model/packet-record';

/** schemas/ sits at the package root, two levels above src/avro (three from dist/src/avro). */
function schemaPath(name: string): string {
  for (const up of ['../..', '../../..']) {
    const p = join(__dirname, up, 'schemas', name);
    try {
      readFileSync(p);
      return p;
    } catch {
      // try the next location
    }
  }
  throw new Error(`schema ${name} not found next to the package`);
}

const registry: Record<string, avro.Type> = {};
/** Avro type of one PacketRecord (schemas/packet-record.avsc). */
export const packetRecordType = avro.Type.forSchema(JSON.parse(readFileSync(schemaPath('packet-record.avsc'), 'utf8')), { registry });
/** Avro type of a batch of PacketRecords (schemas/packet-batch.avsc). */
export const packetBatchType = avro.Type.forSchema(JSON.parse(readFileSync(schemaPath('packet-batch.avsc'), 'utf8')), { registry });

/** Avro nulls become absent fields, so decoded records look like the JSON ones. */
function fromAvro(o: Record<string, unknown>): PacketRecord {
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
