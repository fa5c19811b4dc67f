import { ByteWriter } from '../util/byte-writer';
import { bool, lit, num, optNum, optStr, piece, str } from '../util/json-bytes';
import type { Endpoint, FlowCloseEvent, FlowOpenEvent, PortReuseEvent, TcpReuseEvent } from './events';

/**
 * `JSON.stringify(event)` as UTF-8 bytes, written out by hand for the three events there is one of
 * per connection (flow.open, flow.close, port.reuse), the others through JSON.stringify. The
 * generic stringifier walks each object's shape at run time; this writes straight into the
 * destination (the Kafka consumer's outbox) with one bounds check per event and makes no
 * garbage: building a string by concatenation left ~60 short-lived string pieces per event for the
 * collector, then a copy to flatten them.
 *
 * Only for events as the operators make them: fields are written in the operators' order and
 * fields an event does not declare are not written. A test holds the output byte-equal to
 * JSON.stringify on every event of the fixture captures.
 */
export function writeEventJson(w: ByteWriter, e: TcpReuseEvent): void {
  if (e.type !== 'flow.open' && e.type !== 'flow.close' && e.type !== 'port.reuse') return w.text(JSON.stringify(e));
  // Room for the worst case: every string escaped to \uXXXX (6 bytes per UTF-16 unit), every number at full length.
  let strings = e.sensor.length + e.flowId.length + e.communityId.length + e.client.ip.length + e.server.ip.length;
  if (e.type === 'flow.close') strings += e.history.length;
  else if (e.type === 'port.reuse') strings += e.previousFlowId.length + e.reason.length;
  w.room(2048 + 6 * strings);
  const b = w.buf;
  let at = w.at;
  if (e.type === 'port.reuse') at = reuse(b, at, e);
  else {
    at = lit(b, at, e.type === 'flow.open' ? OPEN : CLOSE);
    at = connection(b, at, e);
    if (e.type === 'flow.close') at = close(b, at, e);
    b[at++] = 0x7d;
  }
  w.at = at;
}

const scratch = new ByteWriter(4096);

/** The event's JSON text (what JSON.stringify gives). */
export function eventJson(e: TcpReuseEvent): string {
  scratch.at = 0;
  writeEventJson(scratch, e);
  return scratch.buf.toString('utf8', 0, scratch.at);
}

const OPEN = piece('{"type":"flow.open","ts":');
const CLOSE = piece('{"type":"flow.close","ts":');
const REUSE = piece('{"type":"port.reuse","ts":');
const SENSOR = piece(',"sensor":');
const FLOW_ID = piece(',"flowId":');
const COMMUNITY_ID = piece(',"communityId":');
const PREVIOUS_FLOW_ID = piece(',"previousFlowId":');
const STREAM = piece(',"stream":');
const PREVIOUS_STREAM = piece(',"previousStream":');
const CLIENT = piece(',"client":{"ip":');
const SERVER = piece(',"server":{"ip":');
const PORT = piece(',"port":');
const CLIENT_BY = piece(',"clientBy":');
const OPENED_BY = piece(',"openedBy":');
const REUSED = piece(',"reused":');
const WIRESHARK = piece(',"wireshark":');
const FRAME = piece(',"frame":');
const VLAN = piece(',"vlan":');
const START_TS = piece(',"startTs":');
const END_TS = piece(',"endTs":');
const DURATION = piece(',"durationS":');
const CLOSED_BY = piece(',"closedBy":');
const ACTIVE_CLOSER = piece(',"activeCloser":');
const STATE = piece(',"state":');
const HISTORY = piece(',"history":');
const PACKETS = piece(',"packets":{"c2s":');
const S2C = piece(',"s2c":');
const BYTES = piece('},"bytes":{"c2s":');
const KIND = piece(',"kind":');
const PREVIOUS_END = piece(',"previousEnd":');
const GAP = piece(',"gapS":');
const TIME_WAIT = piece(',"timeWaitS":');
const SEVERITY = piece(',"severity":');
const REASON = piece(',"reason":');

function connection(b: Buffer, at: number, e: FlowOpenEvent | FlowCloseEvent): number {
  at = num(b, at, e.ts);
  at = str(b, lit(b, at, SENSOR), e.sensor);
  at = str(b, lit(b, at, FLOW_ID), e.flowId);
  at = str(b, lit(b, at, COMMUNITY_ID), e.communityId);
  at = num(b, lit(b, at, STREAM), e.stream);
  at = endpoint(b, lit(b, at, CLIENT), e.client);
  at = endpoint(b, lit(b, at, SERVER), e.server);
  at = str(b, lit(b, at, CLIENT_BY), e.clientBy);
  at = str(b, lit(b, at, OPENED_BY), e.openedBy);
  at = bool(b, lit(b, at, REUSED), e.reused);
  at = bool(b, lit(b, at, WIRESHARK), e.wireshark);
  at = optNum(b, lit(b, at, FRAME), e.frame);
  return optNum(b, lit(b, at, VLAN), e.vlan);
}

function close(b: Buffer, at: number, e: FlowCloseEvent): number {
  at = num(b, lit(b, at, START_TS), e.startTs);
  at = num(b, lit(b, at, END_TS), e.endTs);
  at = num(b, lit(b, at, DURATION), e.durationS);
  at = str(b, lit(b, at, CLOSED_BY), e.closedBy);
  at = optStr(b, lit(b, at, ACTIVE_CLOSER), e.activeCloser);
  at = str(b, lit(b, at, STATE), e.state);
  at = str(b, lit(b, at, HISTORY), e.history);
  at = num(b, lit(b, at, PACKETS), e.packets.c2s);
  at = num(b, lit(b, at, S2C), e.packets.s2c);
  at = num(b, lit(b, at, BYTES), e.bytes.c2s);
  at = num(b, lit(b, at, S2C), e.bytes.s2c);
  b[at++] = 0x7d;
  return at;
}

function reuse(b: Buffer, at: number, e: PortReuseEvent): number {
  at = num(b, lit(b, at, REUSE), e.ts);
  at = str(b, lit(b, at, SENSOR), e.sensor);
  at = str(b, lit(b, at, FLOW_ID), e.flowId);
  at = str(b, lit(b, at, COMMUNITY_ID), e.communityId);
  at = str(b, lit(b, at, PREVIOUS_FLOW_ID), e.previousFlowId);
  at = num(b, lit(b, at, STREAM), e.stream);
  at = num(b, lit(b, at, PREVIOUS_STREAM), e.previousStream);
  at = optNum(b, lit(b, at, FRAME), e.frame);
  at = endpoint(b, lit(b, at, CLIENT), e.client);
  at = endpoint(b, lit(b, at, SERVER), e.server);
  at = str(b, lit(b, at, KIND), e.kind);
  at = str(b, lit(b, at, PREVIOUS_END), e.previousEnd);
  at = optStr(b, lit(b, at, ACTIVE_CLOSER), e.activeCloser);
  at = num(b, lit(b, at, GAP), e.gapS);
  at = num(b, lit(b, at, TIME_WAIT), e.timeWaitS);
  at = str(b, lit(b, at, SEVERITY), e.severity);
  at = str(b, lit(b, at, REASON), e.reason);
  at = bool(b, lit(b, at, WIRESHARK), e.wireshark);
  b[at++] = 0x7d;
  return at;
}

/** `"ip",port}` after the caller's `{"ip":`. */
function endpoint(b: Buffer, at: number, p: Endpoint): number {
  at = num(b, lit(b, str(b, at, p.ip), PORT), p.port);
  b[at++] = 0x7d;
  return at;
}
