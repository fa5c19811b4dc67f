import { encodeEvent } from '../avro/event-schemas';
import type { TcpReuseEvent } from '../model/events';
import { writeEventJson } from '../model/event-json';
import { ByteWriter } from '../util/byte-writer';
import type { MessagePacker } from './message-pack';

export const OUTPUT_FORMATS = ['json', 'avro', 'ecs', 'ocsf', 'cef'] as const;
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
function writeFlowKey(w: ByteWriter, sensor: string, aIp: string, aPort: number, bIp: string, bPort: number): void {
  const aFirst = aIp < bIp || (aIp === bIp && aPort <= bPort);
  w.text(sensor);
  w.u8(PIPE);
  w.text(aFirst ? aIp : bIp);
  w.u8(PIPE);
  w.number(aFirst ? aPort : bPort);
  w.u8(PIPE);
  w.text(aFirst ? bIp : aIp);
  w.u8(PIPE);
  w.number(aFirst ? bPort : aPort);
}

const PIPE = 0x7c;

/** The record key, as UTF-8: all events of one connection share it, so they land on one partition, in order. */
export function writeEventKey(w: ByteWriter, e: TcpReuseEvent): void {
  switch (e.type) {
    case 'flow.open':
    case 'flow.close':
    case 'port.reuse':
      return writeFlowKey(w, e.sensor, e.client.ip, e.client.port, e.server.ip, e.server.port);
    case 'packet':
      return writeFlowKey(w, e.sensor, e.packet.src, e.packet.sport, e.packet.dst, e.packet.dport);
    case 'port.cycle':
    case 'reuse.stats':
      w.text(e.sensor);
      w.u8(PIPE);
      return w.text(e.client);
    case 'port.pressure':
      w.text(`${e.sensor}|${e.client}|${e.server.ip}|`);
      return w.number(e.server.port);
  }
}

const scratch = new ByteWriter(1024);

/** The record key of an event as a string (see writeEventKey). */
export function eventKey(e: TcpReuseEvent): string {
  scratch.at = 0;
  writeEventKey(scratch, e);
  return scratch.buf.toString('utf8', 0, scratch.at);
}

export function topicOf(e: TcpReuseEvent, topics: OutputTopics): string | null {
  if (e.type === 'flow.open' || e.type === 'flow.close') return topics.flows;
  if (e.type === 'packet') return topics.packets;
  return topics.alerts;
}

/** Writes an event's value bytes in some format (a SIEM schema's JSON) straight into the record. */
export type ValueWriter = (w: ByteWriter, e: TcpReuseEvent) => void;

/**
 * One output record, written straight into `packer`: key (writeEventKey), value in the chosen
 * format (tcpreuse's JSON or Avro, a writer of another format's bytes, or a value already formatted),
 * timestamp = event time (ms), the event-type header; labelled with the event type.
 */
export function packEventRecord(packer: MessagePacker, e: TcpReuseEvent, topic: string, format: 'json' | 'avro' | Buffer | ValueWriter): void {
  packer.begin(topic, undefined, Math.floor(e.ts / 1000), true);
  writeEventKey(packer.open(), e);
  packer.close();
  if (Buffer.isBuffer(format)) packer.field(format);
  else if (format === 'avro') packer.field(encodeEvent(e));
  else {
    (format === 'json' ? writeEventJson : format)(packer.open(), e);
    packer.close();
  }
  packer.writer.u16(1);
  packer.field(EVENT_TYPE_HEADER);
  packer.field(e.type);
  packer.label(e.type);
}
