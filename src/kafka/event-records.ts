import { encodeEvent } from '../avro/event-schemas';
import type { Endpoint, TcpReuseEvent } from '../model/events';
import { eventJson } from '../model/event-json';
import type { OutgoingMessage } from './client';

export const OUTPUT_FORMATS = ['json', 'avro'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export interface OutputTopics {
  /** flow.open and flow.close. */
  readonly flows: string;
  /** port.reuse, port.cycle, port.pressure and reuse.stats. */
  readonly alerts: string;
  /** Per-packet enrichment (the input packet plus stream, flowId, reused); none when null. */
  readonly packets: string | null;
}

/** Kafka header carrying the event type, so consumers can filter without decoding the value. */
export const EVENT_TYPE_HEADER = 'tcpreuse-type';

/** `sensor|lowIp|lowPort|highIp|highPort`: the same for both directions of a connection. */
export function canonicalFlowKey(sensor: string, a: Endpoint, b: Endpoint): string {
  const aFirst = a.ip < b.ip || (a.ip === b.ip && a.port <= b.port);
  const [lo, hi] = aFirst ? [a, b] : [b, a];
  return `${sensor}|${lo.ip}|${lo.port}|${hi.ip}|${hi.port}`;
}

/** The record key: all events of one connection share it, so they land on one partition, in order. */
export function eventKey(e: TcpReuseEvent): string {
  switch (e.type) {
    case 'flow.open':
    case 'flow.close':
    case 'port.reuse':
      return canonicalFlowKey(e.sensor, e.client, e.server);
    case 'packet':
      return canonicalFlowKey(e.sensor, { ip: e.packet.src, port: e.packet.sport }, { ip: e.packet.dst, port: e.packet.dport });
    case 'port.cycle':
    case 'reuse.stats':
      return `${e.sensor}|${e.client}`;
    case 'port.pressure':
      return `${e.sensor}|${e.client}|${e.server.ip}|${e.server.port}`;
  }
}

export function topicOf(e: TcpReuseEvent, topics: OutputTopics): string | null {
  if (e.type === 'flow.open' || e.type === 'flow.close') return topics.flows;
  if (e.type === 'packet') return topics.packets;
  return topics.alerts;
}

/** One output record: key, value in the chosen format, timestamp = event time (ms). */
export function eventRecord(e: TcpReuseEvent, topic: string, format: OutputFormat): OutgoingMessage {
  return {
    topic,
    key: eventKey(e),
    value: format === 'avro' ? encodeEvent(e) : eventJson(e),
    timestampMs: Math.floor(e.ts / 1000),
    headers: { [EVENT_TYPE_HEADER]: e.type },
  };
}
