import type { Endpoint, FlowCloseEvent, PortReuseEvent, TcpReuseEvent } from '../model/events';
import type { ByteWriter } from '../util/byte-writer';
import { jsonRoom, lit, num, piece, str } from '../util/json-bytes';
import { eventId, isoMicrosJson, PRODUCT_VERSION, ruleName, SEVERITY_ID, summary } from './event-facts';
import { ECS_VERSION, MAPPED, toEcs } from './ecs';
import { namespaceWriter } from './namespace-json';

/**
 * `JSON.stringify(toEcs(e))` as UTF-8, written straight into `w` for the three events there is one
 * of per connection (flow.open, flow.close, port.reuse); the rest through toEcs. Building the
 * document object and stringifying it cost the consumer ~6 µs an event, four times its own JSON.
 * Same contract as writeEventJson: events as the operators make them (their fields in the
 * operators' order); a test holds the output byte-equal to JSON.stringify(toEcs(e)) on every event
 * of the fixture captures.
 */
export function writeEcsJson(w: ByteWriter, e: TcpReuseEvent): void {
  if (e.type !== 'flow.open' && e.type !== 'flow.close' && e.type !== 'port.reuse') return w.text(JSON.stringify(toEcs(e)));
  const message = summary(e);
  const id = eventId(e);
  // Room for the worst case: each string escaped to \uXXXX, as often as the document repeats it.
  let strings = jsonRoom(message) + jsonRoom(id) + 2 * jsonRoom(e.flowId) + jsonRoom(e.sensor) + jsonRoom(e.communityId) + 2 * (jsonRoom(e.client.ip) + jsonRoom(e.server.ip));
  if (e.type === 'flow.close') strings += jsonRoom(e.history);
  else if (e.type === 'port.reuse') strings += jsonRoom(e.previousFlowId) + 2 * jsonRoom(e.reason);
  w.room(2048 + strings);
  const b = w.buf;
  let at = isoMicrosJson(b, lit(b, w.at, TIMESTAMP), e.ts);
  at = str(b, lit(b, at, MESSAGE), message);
  if (e.type === 'port.reuse') {
    at = lit(b, at, EVENT_REUSE);
    at = str(b, at, id);
    at = num(b, lit(b, at, SEVERITY), SEVERITY_ID[e.severity]);
    at = str(b, lit(b, at, REASON), e.reason);
    at = str(b, lit(b, at, OBSERVER), e.sensor);
    at = lit(b, at, OBSERVER_END);
    at = lit(b, at, rule(e));
    at = connection(b, at, e.client, e.server, e.communityId, null, null);
    at = TCPREUSE(b, at, e);
  } else {
    at = lit(b, at, e.type === 'flow.open' ? EVENT_OPEN : EVENT_CLOSE);
    at = str(b, at, id);
    if (e.type === 'flow.close') {
      at = isoMicrosJson(b, lit(b, at, START), e.startTs);
      at = isoMicrosJson(b, lit(b, at, END), e.endTs);
      at = num(b, lit(b, at, DURATION), (e.endTs - e.startTs) * 1000);
    }
    at = str(b, lit(b, at, OBSERVER), e.sensor);
    at = lit(b, at, OBSERVER_END);
    at = connection(b, at, e.client, e.server, e.communityId, e.vlan, e.type === 'flow.close' ? e : null);
    at = TCPREUSE(b, at, e);
  }
  b[at++] = 0x7d;
  b[at++] = 0x7d;
  w.at = at;
}

const TIMESTAMP = piece('{"@timestamp":');
const MESSAGE = piece(`,"ecs":{"version":"${ECS_VERSION}"},"message":`);
const eventHead = (kind: string, types: string, type: string): Uint8Array =>
  piece(`,"event":{"kind":"${kind}","category":["network"],"type":${types},"action":"${type}","module":"tcpreuse","dataset":"tcpreuse.${type.replace('.', '_')}","id":`);
const EVENT_OPEN = eventHead('event', '["connection","start"]', 'flow.open');
const EVENT_CLOSE = eventHead('event', '["connection","end"]', 'flow.close');
const EVENT_REUSE = eventHead('alert', '["connection"]', 'port.reuse');
const START = piece(',"start":');
const END = piece(',"end":');
const DURATION = piece(',"duration":');
const SEVERITY = piece(',"severity":');
const REASON = piece(',"reason":');
const OBSERVER = piece('},"observer":{"name":');
const OBSERVER_END = piece(`,"product":"tcpreuse","vendor":"tcpreuse","version":${JSON.stringify(PRODUCT_VERSION)},"type":"sensor"}`);
/** The rule object of each rule name (a handful: one per reuse kind). */
const RULES = new Map<string, Uint8Array>();
function rule(e: PortReuseEvent): Uint8Array {
  const name = ruleName(e)!;
  let r = RULES.get(name);
  if (r === undefined) RULES.set(name, (r = piece(`,"rule":{"name":${JSON.stringify(name)},"ruleset":"tcpreuse"}`)));
  return r;
}
const SOURCE = piece(',"source":{"ip":');
const DESTINATION = piece(',"destination":{"ip":');
const PORT = piece(',"port":');
const PACKETS = piece(',"packets":');
const BYTES = piece(',"bytes":');
const NETWORK = [piece(',"network":{"transport":"tcp","type":"ipv4","iana_number":"6"'), piece(',"network":{"transport":"tcp","type":"ipv6","iana_number":"6"')];
const COMMUNITY_ID = piece(',"community_id":');
const VLAN = piece(',"vlan":{"id":"');
const RELATED = piece('},"related":{"ip":[');
/** Our fields ECS has no place for, under the custom namespace (see MAPPED in ecs.ts). */
const TCPREUSE = namespaceWriter(',"tcpreuse":{', MAPPED);

/** source, destination, network and related; with the per-direction counts of a closed flow. */
function connection(b: Buffer, at: number, client: Endpoint, server: Endpoint, communityId: string | null, vlan: number | null, closed: FlowCloseEvent | null): number {
  at = endpoint(b, lit(b, at, SOURCE), client, closed?.packets.c2s, closed?.bytes.c2s);
  at = endpoint(b, lit(b, at, DESTINATION), server, closed?.packets.s2c, closed?.bytes.s2c);
  at = lit(b, at, NETWORK[+client.ip.includes(':')]);
  if (communityId !== null) at = str(b, lit(b, at, COMMUNITY_ID), communityId);
  if (vlan !== null) {
    at = num(b, lit(b, at, VLAN), vlan);
    b[at++] = 0x22;
    b[at++] = 0x7d;
  }
  if (closed) {
    at = num(b, lit(b, at, PACKETS), closed.packets.c2s + closed.packets.s2c);
    at = num(b, lit(b, at, BYTES), closed.bytes.c2s + closed.bytes.s2c);
  }
  at = str(b, lit(b, at, RELATED), client.ip);
  if (server.ip !== client.ip) {
    b[at++] = 0x2c;
    at = str(b, at, server.ip);
  }
  b[at++] = 0x5d;
  b[at++] = 0x7d;
  return at;
}

function endpoint(b: Buffer, at: number, p: Endpoint, packets: number | undefined, bytes: number | undefined): number {
  at = num(b, lit(b, str(b, at, p.ip), PORT), p.port);
  if (packets !== undefined && bytes !== undefined) at = num(b, lit(b, num(b, lit(b, at, PACKETS), packets), BYTES), bytes);
  b[at++] = 0x7d;
  return at;
}
