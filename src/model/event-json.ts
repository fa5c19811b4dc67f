import { ByteWriter } from '../util/byte-writer';
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

const bytes = (s: string): Uint8Array => Buffer.from(s, 'latin1');
const OPEN = bytes('{"type":"flow.open","ts":');
const CLOSE = bytes('{"type":"flow.close","ts":');
const REUSE = bytes('{"type":"port.reuse","ts":');
const SENSOR = bytes(',"sensor":');
const FLOW_ID = bytes(',"flowId":');
const COMMUNITY_ID = bytes(',"communityId":');
const PREVIOUS_FLOW_ID = bytes(',"previousFlowId":');
const STREAM = bytes(',"stream":');
const PREVIOUS_STREAM = bytes(',"previousStream":');
const CLIENT = bytes(',"client":{"ip":');
const SERVER = bytes(',"server":{"ip":');
const PORT = bytes(',"port":');
const CLIENT_BY = bytes(',"clientBy":');
const OPENED_BY = bytes(',"openedBy":');
const REUSED = [bytes(',"reused":false'), bytes(',"reused":true')];
const WIRESHARK = [bytes(',"wireshark":false'), bytes(',"wireshark":true')];
const FRAME = bytes(',"frame":');
const VLAN = bytes(',"vlan":');
const START_TS = bytes(',"startTs":');
const END_TS = bytes(',"endTs":');
const DURATION = bytes(',"durationS":');
const CLOSED_BY = bytes(',"closedBy":');
const ACTIVE_CLOSER = bytes(',"activeCloser":');
const STATE = bytes(',"state":');
const HISTORY = bytes(',"history":');
const PACKETS = bytes(',"packets":{"c2s":');
const S2C = bytes(',"s2c":');
const BYTES = bytes('},"bytes":{"c2s":');
const KIND = bytes(',"kind":');
const PREVIOUS_END = bytes(',"previousEnd":');
const GAP = bytes(',"gapS":');
const TIME_WAIT = bytes(',"timeWaitS":');
const SEVERITY = bytes(',"severity":');
const REASON = bytes(',"reason":');
const NULL = bytes('null');

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
  at = lit(b, at, REUSED[+e.reused]);
  at = lit(b, at, WIRESHARK[+e.wireshark]);
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
  at = lit(b, at, WIRESHARK[+e.wireshark]);
  b[at++] = 0x7d;
  return at;
}

/** `"ip",port}` after the caller's `{"ip":`. */
function endpoint(b: Buffer, at: number, p: Endpoint): number {
  at = num(b, lit(b, str(b, at, p.ip), PORT), p.port);
  b[at++] = 0x7d;
  return at;
}

function lit(b: Buffer, at: number, piece: Uint8Array): number {
  for (let i = 0; i < piece.length; i++) b[at + i] = piece[i];
  return at + piece.length;
}

/** A number as JSON.stringify writes it: integers digit by digit, others through String(). */
function num(b: Buffer, at: number, v: number): number {
  if (!Number.isInteger(v) || v > 9007199254740991 || v < -9007199254740991) {
    const s = Number.isFinite(v) ? String(v) : 'null';
    for (let i = 0; i < s.length; i++) b[at + i] = s.charCodeAt(i);
    return at + s.length;
  }
  if (v < 0) {
    b[at++] = 0x2d; // '-'
    v = -v;
  }
  if (v < E8) return digits(b, at, v);
  // Timestamps (16 digits) as two int32 halves: integer division by 10 is a multiply on int32s,
  // where on a double it is a real division per digit.
  const hi = Math.floor(v / E8);
  at = digits(b, at, hi);
  return eightDigits(b, at, v - hi * E8);
}

const E8 = 100_000_000;

/** The decimal digits of an integer 0 ≤ x < 2^31. */
function digits(b: Buffer, at: number, x: number): number {
  let n = 1;
  for (let p = 10; p <= x; p *= 10) n++;
  return digitsEndingAt(b, at + n, x);
}

/** 0 ≤ x < 10^8 as exactly eight digits (leading zeros). */
function eightDigits(b: Buffer, at: number, x: number): number {
  for (let i = at; i < at + 8; i++) b[i] = 0x30; // leading zeros; the digits overwrite the rest
  return digitsEndingAt(b, at + 8, x);
}

/** Writes x's digits backwards, ending just before `end`; returns `end`. */
function digitsEndingAt(b: Buffer, end: number, x: number): number {
  let i = end;
  do {
    const q = (x / 10) | 0;
    b[--i] = 0x30 + (x - q * 10);
    x = q;
  } while (x > 0);
  return end;
}

function optNum(b: Buffer, at: number, v: number | null): number {
  return v === null ? lit(b, at, NULL) : num(b, at, v);
}

function optStr(b: Buffer, at: number, s: string | null): number {
  return s === null ? lit(b, at, NULL) : str(b, at, s);
}

/**
 * A JSON string literal. Printable ASCII without `"` or `\` (the usual case) is copied as it is
 * scanned; anything else is written as JSON.stringify quotes it (escapes, UTF-8, lone surrogates).
 */
function str(b: Buffer, at: number, s: string): number {
  b[at] = 0x22;
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || c >= 0x7f) return at + b.write(JSON.stringify(s), at, 'utf8');
    b[at + 1 + i] = c;
  }
  b[at + 1 + n] = 0x22;
  return at + n + 2;
}
