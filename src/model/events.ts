/**
 * The events tcpreuse emits. JSON field names are the contract (schemas/*.avsc mirror them).
 * Every event has `type`, `ts` (µs since the epoch, event time) and `sensor`.
 */
import type { PacketRecord } from './packet-record';

export interface Endpoint {
  ip: string;
  port: number;
}

export type OpenedBy = 'syn' | 'synack' | 'midstream';
/** How the client was decided: it sent the first SYN, it received the first SYN-ACK, or it has the higher port. */
export type ClientBy = 'syn' | 'synack' | 'port';
export type ClosedBy = 'fin' | 'rst' | 'idle' | 'reused' | 'evicted' | 'eof';
export type Side = 'client' | 'server';
export type Severity = 'info' | 'low' | 'medium' | 'high';
export const SEVERITIES: readonly Severity[] = ['info', 'low', 'medium', 'high'];

/** Whether `s` is less severe than `min` (what a minimum-severity filter leaves out). */
export function severityBelow(s: Severity, min: Severity): boolean {
  return SEVERITIES.indexOf(s) < SEVERITIES.indexOf(min);
}

export interface FlowOpenEvent {
  type: 'flow.open';
  ts: number;
  sensor: string;
  /** Stable id of this connection: the same input always gives the same id. */
  flowId: string;
  /** Community ID v1 of the connection's 4-tuple (Zeek, Suricata, Wireshark and Elastic compute the same). */
  communityId: string;
  /** Wireshark's tcp.stream of the packet that opened the flow (numbered per sensor). */
  stream: number;
  client: Endpoint;
  server: Endpoint;
  clientBy: ClientBy;
  openedBy: OpenedBy;
  /** The flow replaced an earlier connection on the same 4-tuple that the flow table still held. */
  reused: boolean;
  /** Wireshark flags the opening packet with [TCP Port numbers reused]. */
  wireshark: boolean;
  /** Capture frame number of the opening packet, when known. */
  frame: number | null;
  /** 802.1Q VLAN id of the opening packet, when it had one. */
  vlan: number | null;
}

export interface FlowCloseEvent extends Omit<FlowOpenEvent, 'type'> {
  type: 'flow.close';
  /** Time of the flow's first packet (`ts` of its flow.open). */
  startTs: number;
  /** Time of the flow's last packet; `ts` equals it. */
  endTs: number;
  durationS: number;
  closedBy: ClosedBy;
  /** Who sent the first FIN or RST, if anyone did. */
  activeCloser: Side | null;
  /** Zeek conn_state (S0, S1, SF, REJ, S2, S3, RSTO, RSTR, RSTOS0, RSTRH, SH, SHR, OTH). */
  state: string;
  /** Zeek history letters (upper case: client, lower case: server). */
  history: string;
  packets: { c2s: number; s2c: number };
  bytes: { c2s: number; s2c: number };
}

export type ReuseKind = 'after-close' | 'while-open' | 'after-idle';
export type PreviousEnd = 'fin' | 'rst' | 'open' | 'idle';

export interface PortReuseEvent {
  type: 'port.reuse';
  ts: number;
  sensor: string;
  flowId: string;
  /** Community ID v1 of the 4-tuple (the old and the new connection share it). */
  communityId: string;
  previousFlowId: string;
  stream: number;
  previousStream: number;
  /** Frame of the SYN (or SYN-ACK) that opened the new connection. */
  frame: number | null;
  client: Endpoint;
  server: Endpoint;
  kind: ReuseKind;
  previousEnd: PreviousEnd;
  activeCloser: Side | null;
  /** Seconds from the previous connection's last packet to the new SYN. */
  gapS: number;
  /** TIME_WAIT threshold the severity was judged against. */
  timeWaitS: number;
  severity: Severity;
  reason: string;
  /** Wireshark would flag this SYN with [TCP Port numbers reused]. */
  wireshark: boolean;
}

export type Allocation = 'sequential' | 'random';

export interface PortCycleEvent {
  type: 'port.cycle';
  ts: number;
  sensor: string;
  client: string;
  server: Endpoint | null;
  rangeLow: number;
  rangeHigh: number;
  allocation: Allocation;
  /** Seconds for the allocator to come back to the same port. */
  cycleS: number;
  /** Connections observed from this client (to this server, when `server` is set). */
  connections: number;
  osHint: string | null;
}

export interface PortPressureEvent {
  type: 'port.pressure';
  ts: number;
  sensor: string;
  client: string;
  server: Endpoint;
  connectionsPerS: number;
  timeWaitS: number;
  rangeSize: number;
  /** connectionsPerS × timeWaitS / rangeSize: the share of the port range held in TIME_WAIT. */
  utilisation: number;
  severity: Severity;
}

export interface ReuseStatsEvent {
  type: 'reuse.stats';
  ts: number;
  sensor: string;
  windowStart: number;
  windowEnd: number;
  client: string;
  counts: Record<Severity, number>;
  connections: number;
}

/** Per-packet annotation: the Wireshark view (stream, reused) plus tcpreuse's connection id. */
export interface PacketAnnotation {
  type: 'packet';
  ts: number;
  sensor: string;
  frame: number | null;
  /** Wireshark tcp.stream, or null where Wireshark gives none (ICMP quoting only 8 bytes). */
  stream: number | null;
  flowId: string | null;
  /**
   * Community ID v1 of the packet's TCP 4-tuple; null for an ICMP error quoting a TCP header (the
   * frame's own flow is the ICMP one, which the packet record does not describe).
   */
  communityId: string | null;
  /** Wireshark's tcp.analysis.reused_ports on this packet. */
  reused: boolean;
  packet: PacketRecord;
}

/**
 * Event-time progress: everything up to `ts` has been seen. Operators use it to expire state
 * and close windows, and forward it so the next operator can do the same.
 */
export interface Watermark {
  type: 'watermark';
  ts: number;
  sensor?: string;
}

/**
 * Between trackFlows and detectPortReuse (analyze drops it, as it drops watermarks): the client
 * side of a connection that a new SYN replaced while it was open kept sending after that SYN, so
 * two hosts are using one 4-tuple at once (typically a NAT mapping collision).
 */
export interface FlowInterleave {
  type: 'flow.interleave';
  ts: number;
  sensor: string;
  /** The new connection (the one the SYN opened). */
  flowId: string;
  /** The replaced connection whose packet this was. */
  previousFlowId: string;
  frame: number | null;
}

export type FlowEvent = FlowOpenEvent | FlowCloseEvent;
export type DetectionEvent = PortReuseEvent | PortCycleEvent | PortPressureEvent | ReuseStatsEvent;
export type TcpReuseEvent = FlowEvent | DetectionEvent | PacketAnnotation;
export type StreamItem = TcpReuseEvent | Watermark | FlowInterleave;
