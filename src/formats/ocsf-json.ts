import type { Endpoint, FlowCloseEvent, FlowOpenEvent, PortReuseEvent, Severity, TcpReuseEvent } from '../model/events';
import type { ByteWriter } from '../util/byte-writer';
import { jsonRoom, lit, num, piece, str } from '../util/json-bytes';
import { eventId, PRODUCT, PRODUCT_VERSION, ruleName, SEVERITY_ID, summary } from './event-facts';
import { namespaceWriter } from './namespace-json';
import { classFields, MAPPED, OCSF_VERSION, SEVERITY_NAME, toOcsf } from './ocsf';

/**
 * `JSON.stringify(toOcsf(e))` as UTF-8, written straight into `w` for the three events there is one
 * of per connection (flow.open, flow.close, port.reuse); the rest through toOcsf. Why, and the
 * contract, as for writeEcsJson: a test holds the output byte-equal to the document's JSON on
 * every event of the fixture captures. Only for events OCSF has a class for (hasOcsfClass).
 */
export function writeOcsfJson(w: ByteWriter, e: TcpReuseEvent): void {
  if (e.type !== 'flow.open' && e.type !== 'flow.close' && e.type !== 'port.reuse') {
    const doc = toOcsf(e);
    if (doc === null) throw new Error(`OCSF has no class for a ${e.type} event`); // callers ask hasOcsfClass first
    return w.text(JSON.stringify(doc));
  }
  const message = summary(e);
  const id = eventId(e);
  // Room for the worst case: each string escaped to \uXXXX, as often as the document repeats it.
  let strings = 2 * jsonRoom(message) + 2 * jsonRoom(id) + 2 * jsonRoom(e.flowId) + jsonRoom(e.sensor) + jsonRoom(e.communityId) + jsonRoom(e.client.ip) + jsonRoom(e.server.ip);
  if (e.type === 'flow.close') strings += jsonRoom(e.history);
  else if (e.type === 'port.reuse') strings += jsonRoom(e.previousFlowId) + jsonRoom(e.reason);
  w.room(3072 + strings);
  const b = w.buf;
  let at = w.at;
  if (e.type === 'port.reuse') {
    at = lit(b, at, FINDING_HEAD[SEVERITY_ID[e.severity]]);
    at = head(b, at, e.ts, message, id, e.sensor);
    at = str(b, lit(b, at, FINDING_INFO), id);
    at = lit(b, at, reuseTitle(e.kind, e.severity));
    at = str(b, at, message);
    at = lit(b, at, rule(e));
    at = endpoint(b, lit(b, at, EVIDENCE_SRC), e.client, null);
    at = endpoint(b, lit(b, at, DST), e.server, null);
    at = connectionInfo(b, at, e);
    at = lit(b, at, EVIDENCE_END);
    at = UNMAPPED(b, at, e);
  } else {
    at = lit(b, at, e.type === 'flow.open' ? OPEN_HEAD : e.closedBy === 'rst' ? RESET_HEAD : CLOSE_HEAD);
    at = head(b, at, e.ts, message, id, e.sensor);
    at = endpoint(b, lit(b, at, SRC), e.client, e.vlan);
    at = endpoint(b, lit(b, at, DST), e.server, e.vlan);
    at = connectionInfo(b, at, e);
    if (e.type === 'flow.close') {
      at = str(b, lit(b, at, FLAG_HISTORY), e.history);
      at = num(b, lit(b, at, START_TIME), Math.floor(e.startTs / 1000));
      at = num(b, lit(b, at, END_TIME), Math.floor(e.endTs / 1000));
      at = num(b, lit(b, at, DURATION), Math.round((e.endTs - e.startTs) / 1000));
      at = traffic(b, at, e);
    } else b[at++] = 0x7d;
    at = UNMAPPED(b, at, e);
  }
  b[at++] = 0x7d;
  b[at++] = 0x7d;
  b[at++] = 0x7d;
  w.at = at;
}

const PRODUCT_JSON = JSON.stringify({ name: PRODUCT, vendor_name: PRODUCT, version: PRODUCT_VERSION });

/** The class and activity fields, up to `"time":`. */
const classHead = (...args: Parameters<typeof classFields>): Uint8Array => piece(JSON.stringify(classFields(...args)).slice(0, -1) + ',"time":');

const activity = (id: number, name: string): Uint8Array => classHead(4001, 'Network Activity', 4, 'Network Activity', id, name, SEVERITY_ID.info);
const OPEN_HEAD = activity(1, 'Open');
const CLOSE_HEAD = activity(2, 'Close');
const RESET_HEAD = activity(3, 'Reset');
const FINDING_HEAD = SEVERITY_NAME.map((_, severityId) => classHead(2004, 'Detection Finding', 2, 'Findings', 1, 'Create', severityId));

const MESSAGE = piece(',"message":');
const METADATA = piece(`,"metadata":{"version":"${OCSF_VERSION}","uid":`);
const LOGGERS = piece(`,"product":${PRODUCT_JSON},"loggers":[{"name":`);
const LOGGERS_END = piece(`,"product":${PRODUCT_JSON}}]}`);
const SRC = piece(',"src_endpoint":{"ip":');
const DST = piece(',"dst_endpoint":{"ip":');
const PORT = piece(',"port":');
const VLAN_UID = piece(',"vlan_uid":"');
const CONNECTION_INFO = piece(',"connection_info":{"uid":');
const PROTOCOL = [piece(',"protocol_num":6,"protocol_name":"tcp","protocol_ver_id":4,"community_uid":'), piece(',"protocol_num":6,"protocol_name":"tcp","protocol_ver_id":6,"community_uid":')];
const DIRECTION = piece(',"direction_id":0,"direction":"Unknown"');
const FLAG_HISTORY = piece(',"flag_history":');
const START_TIME = piece('},"start_time":');
const END_TIME = piece(',"end_time":');
const DURATION = piece(',"duration":');
const TRAFFIC = piece(',"traffic":{"packets_out":');
const PACKETS_IN = piece(',"packets_in":');
const PACKETS = piece(',"packets":');
const BYTES_OUT = piece(',"bytes_out":');
const BYTES_IN = piece(',"bytes_in":');
const BYTES = piece(',"bytes":');
const FINDING_INFO = piece(',"is_alert":true,"status_id":1,"status":"New","finding_info":{"uid":');
const EVIDENCE_SRC = piece(',"evidences":[{"src_endpoint":{"ip":');
const EVIDENCE_END = piece('}]');
/** Our fields OCSF has no place for, under unmapped.tcpreuse (see MAPPED in ocsf.ts). */
const UNMAPPED = namespaceWriter(',"unmapped":{"tcpreuse":{', MAPPED);

/** Per rule name: the finding's types and analytic (a handful of rules). */
const RULES = new Map<string, Uint8Array>();
function rule(e: PortReuseEvent): Uint8Array {
  const name = ruleName(e)!;
  let r = RULES.get(name);
  if (r === undefined) {
    const n = JSON.stringify(name);
    RULES.set(name, (r = piece(`,"types":[${n}],"analytic":{"name":${n},"type_id":1,"type":"Rule","uid":${n}}}`)));
  }
  return r;
}

/** `,"title":"…","desc":` per kind and severity. */
const TITLES = new Map<string, Uint8Array>();
function reuseTitle(kind: string, severity: Severity): Uint8Array {
  const key = `${kind}/${severity}`;
  let t = TITLES.get(key);
  if (t === undefined) TITLES.set(key, (t = piece(`,"title":${JSON.stringify(`TCP port reuse (${kind}, ${severity})`)},"desc":`)));
  return t;
}

/** time, message and metadata (its uid, the sensor as the first logger). */
function head(b: Buffer, at: number, ts: number, message: string, id: string, sensor: string): number {
  at = num(b, at, Math.floor(ts / 1000));
  at = str(b, lit(b, at, MESSAGE), message);
  at = str(b, lit(b, at, METADATA), id);
  at = str(b, lit(b, at, LOGGERS), sensor);
  return lit(b, at, LOGGERS_END);
}

/** `"ip",port[,vlan_uid]}` after the caller's `{"ip":`. */
function endpoint(b: Buffer, at: number, p: Endpoint, vlan: number | null): number {
  at = num(b, lit(b, str(b, at, p.ip), PORT), p.port);
  if (vlan !== null) {
    at = num(b, lit(b, at, VLAN_UID), vlan);
    b[at++] = 0x22;
  }
  b[at++] = 0x7d;
  return at;
}

/** connection_info without its closing brace (a closed flow's flag_history follows). */
function connectionInfo(b: Buffer, at: number, e: FlowOpenEvent | FlowCloseEvent | PortReuseEvent): number {
  at = str(b, lit(b, at, CONNECTION_INFO), e.flowId);
  at = str(b, lit(b, at, PROTOCOL[+e.client.ip.includes(':')]), e.communityId);
  at = lit(b, at, DIRECTION);
  if (e.type === 'port.reuse') b[at++] = 0x7d;
  return at;
}

function traffic(b: Buffer, at: number, e: FlowCloseEvent): number {
  at = num(b, lit(b, at, TRAFFIC), e.packets.c2s);
  at = num(b, lit(b, at, PACKETS_IN), e.packets.s2c);
  at = num(b, lit(b, at, PACKETS), e.packets.c2s + e.packets.s2c);
  at = num(b, lit(b, at, BYTES_OUT), e.bytes.c2s);
  at = num(b, lit(b, at, BYTES_IN), e.bytes.s2c);
  at = num(b, lit(b, at, BYTES), e.bytes.c2s + e.bytes.s2c);
  b[at++] = 0x7d;
  return at;
}
