import type { PacketRecord } from '../../src/model/packet-record';

/**
 * A packet as a message payload, without the fields it does not have. The frame decoder gives
 * every record every field, absent ones undefined (one object shape keeps V8's optimised code
 * valid across VLAN-tagged frames and ICMP quotes); the editor's debug sidebar would show each
 * of those as "undefined" on every packet.
 */
export function packetPayload(p: PacketRecord, sensor?: string): PacketRecord {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(p)) if (v !== undefined) out[k] = v;
  if (sensor && !p.sensor) out.sensor = sensor;
  return out as unknown as PacketRecord;
}
