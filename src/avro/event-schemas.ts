import type * as avro from 'avsc';
import type { TcpReuseEvent } from '../model/events';
import { packetRecordType } from './packet-schemas';
import { loadSchema } from './schema-files';

// The event union names io.tcpreuse.PacketRecord, so that schema must be registered first.
void packetRecordType;

/** Avro type of every output event: a union with one record per event type (schemas/tcpreuse-event.avsc). */
export const eventType = loadSchema('tcpreuse-event.avsc');

/**
 * The event schema as registered: a record whose one field is the event union. A registry wants a
 * named schema (a bare union has no name for its subject's tools), and a record of one field is
 * encoded as that field alone, so the bytes are exactly encodeEvent's.
 */
export const REGISTERED_EVENT_SCHEMA = {
  type: 'record',
  name: 'TcpreuseEvent',
  namespace: 'io.tcpreuse',
  doc: 'One tcpreuse event: the union branch names its type (schemas/tcpreuse-event.avsc)',
  fields: [{ name: 'event', type: eventType.schema() as object }],
};

const BRANCH: Record<TcpReuseEvent['type'], string> = {
  'flow.open': 'io.tcpreuse.FlowOpen',
  'flow.close': 'io.tcpreuse.FlowClose',
  'port.reuse': 'io.tcpreuse.PortReuse',
  'port.cycle': 'io.tcpreuse.PortCycle',
  'port.pressure': 'io.tcpreuse.PortPressure',
  'reuse.stats': 'io.tcpreuse.ReuseStats',
  packet: 'io.tcpreuse.PacketAnnotation',
};

/** Absent optional fields become Avro nulls. */
function withNulls(o: Record<string, unknown>, type: avro.Type): Record<string, unknown> {
  const out: Record<string, unknown> = { ...o };
  for (const f of (type as unknown as { fields: { name: string; type: avro.Type }[] }).fields) {
    const v = out[f.name];
    if (v === undefined) out[f.name] = null;
    else if (v !== null && typeof v === 'object' && f.type.typeName === 'record') out[f.name] = withNulls(v as Record<string, unknown>, f.type);
  }
  return out;
}

const branchTypes = new Map<string, avro.Type>(
  (eventType as unknown as { types: avro.Type[] }).types.map((t) => [t.name as string, t]),
);

/** Encodes one event with the union schema (the branch index says which event type follows). */
export function encodeEvent(e: TcpReuseEvent): Buffer {
  const name = BRANCH[e.type];
  const t = branchTypes.get(name)!;
  return eventType.toBuffer({ [name]: withNulls(e as unknown as Record<string, unknown>, t) });
}

/** Nulls back to absent only inside `packet` (the PacketRecord's optional fields); events keep their nulls. */
export function decodeEvent(buf: Buffer): TcpReuseEvent {
  const wrapped = eventType.fromBuffer(buf) as Record<string, Record<string, unknown>>;
  const e = Object.values(wrapped)[0];
  if (e.type === 'packet') {
    const p = e.packet as Record<string, unknown>;
    for (const k of Object.keys(p)) if (p[k] === null) delete p[k];
  }
  return e as unknown as TcpReuseEvent;
}
