import type { Endpoint, TcpReuseEvent } from '../model/events';
import { eventId, isoMicros, PRODUCT, PRODUCT_VERSION, ruleName, SEVERITY_ID, summary } from './event-facts';
import { snakeCased } from './snake-case';

/**
 * Elastic Common Schema (9.x) documents: the ECS fields a SIEM's network dashboards and detection
 * rules read (`@timestamp`, `event.*`, `source.*`, `destination.*`, `network.*`, `observer.*`,
 * `rule.*`), and every other field of the tcpreuse event, snake_cased, under the one custom
 * namespace `tcpreuse` (ECS's rule for custom fields: nothing of ours outside it). A field ECS
 * already carries is not repeated there (the documents are written per event on the consumer's
 * hot path, and twice the size costs twice the encoding).
 */
export const MAPPED: ReadonlySet<string> = new Set(['type', 'ts', 'sensor', 'client', 'server', 'communityId', 'vlan', 'startTs', 'endTs', 'durationS', 'packets', 'bytes', 'reason']);
export const ECS_VERSION = '9.4.0';

type Doc = Record<string, unknown>;

export function toEcs(e: TcpReuseEvent): Doc {
  const event: Doc = {
    kind: kindOf(e),
    category: ['network'],
    type: typesOf(e),
    action: e.type,
    module: PRODUCT,
    dataset: `${PRODUCT}.${e.type.replace('.', '_')}`,
    id: eventId(e),
  };
  const doc: Doc = {
    '@timestamp': isoMicros(e.ts),
    ecs: { version: ECS_VERSION },
    message: summary(e),
    event,
    observer: { name: e.sensor, product: PRODUCT, vendor: PRODUCT, version: PRODUCT_VERSION, type: 'sensor' },
  };
  const rule = ruleName(e);
  if (rule) doc.rule = { name: rule, ruleset: PRODUCT };
  switch (e.type) {
    case 'flow.open':
    case 'flow.close':
    case 'port.reuse':
      connection(doc, e.client, e.server, e.communityId, e.type === 'port.reuse' ? null : e.vlan);
      break;
    case 'port.cycle':
    case 'port.pressure':
    case 'reuse.stats':
      doc.source = { ip: e.client };
      if (e.type !== 'reuse.stats' && e.server) doc.destination = { ip: e.server.ip, port: e.server.port };
      doc.network = { transport: 'tcp', type: ipType(e.client), iana_number: '6' };
      doc.related = { ip: e.type !== 'reuse.stats' && e.server ? pair(e.client, e.server.ip) : [e.client] };
      break;
    case 'packet':
      connection(doc, { ip: e.packet.src, port: e.packet.sport }, { ip: e.packet.dst, port: e.packet.dport }, e.communityId, e.packet.vlan ?? null);
      break;
  }
  if (e.type === 'flow.close') {
    event.start = isoMicros(e.startTs);
    event.end = isoMicros(e.endTs);
    event.duration = (e.endTs - e.startTs) * 1000; // ns
    Object.assign(doc.source as Doc, { packets: e.packets.c2s, bytes: e.bytes.c2s });
    Object.assign(doc.destination as Doc, { packets: e.packets.s2c, bytes: e.bytes.s2c });
    Object.assign(doc.network as Doc, { packets: e.packets.c2s + e.packets.s2c, bytes: e.bytes.c2s + e.bytes.s2c });
  }
  if (e.type === 'port.reuse' || e.type === 'port.pressure') event.severity = SEVERITY_ID[e.severity];
  if (e.type === 'port.cycle') event.severity = SEVERITY_ID.info;
  if (e.type === 'port.reuse') event.reason = e.reason;
  // port.cycle/pressure/stats: `client` is an address and `server` may be absent; the ECS fields say both.
  doc.tcpreuse = snakeCased(e, MAPPED);
  return doc;
}

function kindOf(e: TcpReuseEvent): string {
  if (e.type === 'port.reuse' || e.type === 'port.cycle' || e.type === 'port.pressure') return 'alert';
  if (e.type === 'reuse.stats') return 'metric';
  return 'event';
}

/** event.type: ECS's expected types of the network category. */
function typesOf(e: TcpReuseEvent): string[] {
  if (e.type === 'flow.open') return ['connection', 'start'];
  if (e.type === 'flow.close') return ['connection', 'end'];
  if (e.type === 'port.reuse') return ['connection'];
  if (e.type === 'packet') return ['protocol'];
  return ['info'];
}

function connection(doc: Doc, client: Endpoint, server: Endpoint, communityId: string | null, vlan: number | null): void {
  doc.source = { ip: client.ip, port: client.port };
  doc.destination = { ip: server.ip, port: server.port };
  const network: Doc = { transport: 'tcp', type: ipType(client.ip), iana_number: '6' };
  if (communityId !== null) network.community_id = communityId;
  if (vlan !== null) network.vlan = { id: String(vlan) };
  doc.network = network;
  doc.related = { ip: pair(client.ip, server.ip) };
}

const ipType = (ip: string): string => (ip.includes(':') ? 'ipv6' : 'ipv4');
const pair = (a: string, b: string): string[] => (a === b ? [a] : [a, b]);
