import { encodeEvent, REGISTERED_EVENT_SCHEMA } from '../avro/event-schemas';
import { formatEvent, hasPlaceIn, isSiemFormat, isSiemJsonFormat, SIEM_JSON_WRITERS } from '../formats/siem-format';
import { severityBelow, type Severity, type TcpReuseEvent } from '../model/events';
import { packEventRecord, topicOf, type OutputFormat, type OutputTopics } from './event-records';
import type { MessagePacker } from './message-pack';
import type { Metrics } from './metrics';
import { wireHeader, type SchemaRegistryClient } from './schema-registry';

/**
 * Which events a consumer writes, where and how, for both consume services: the severity filter,
 * the topic per event type, the output format, and a counter for each event not written (below
 * --min-severity; no place in the chosen SIEM schema) and each CEF line shortened to fit.
 */
export class EventOutput {
  private readonly belowSeverity: (n?: number, l?: Record<string, string>) => void;
  private readonly notInFormat: (n?: number, l?: Record<string, string>) => void;
  private readonly truncated: (n?: number, l?: Record<string, string>) => void;

  constructor(
    metrics: Metrics,
    private readonly options: { readonly outputTopics: OutputTopics; readonly outputFormat: OutputFormat; readonly minSeverity?: Severity },
  ) {
    this.belowSeverity = metrics.counter('reuses_not_written_total', 'port.reuse events below --min-severity, not written, by severity.');
    this.notInFormat = metrics.counter('events_not_in_format_total', 'Events the --output-format schema has no place for (OCSF: reuse.stats, packet; CEF: all but alerts), not written, by type.');
    this.truncated = metrics.counter('cef_lines_shortened_total', 'CEF lines whose message was shortened to fit the syslog line limit.');
  }

  /** Avro output in the Schema Registry wire format: the 5-byte header (the event schema's id) per output topic. */
  private registryHeaders: ReadonlyMap<string, Buffer> | null = null;

  /** Registers the event schema under `<topic>-value` for each output topic; avro records are framed with its id from then on. */
  async useRegistry(registry: SchemaRegistryClient, topics: readonly string[]): Promise<void> {
    const headers = new Map<string, Buffer>();
    for (const topic of topics) headers.set(topic, wireHeader(await registry.register(`${topic}-value`, REGISTERED_EVENT_SCHEMA)));
    this.registryHeaders = headers;
  }

  /** Packs `e` as an output record into `outbox` if it is to be written; whether it was. */
  write(outbox: MessagePacker, e: TcpReuseEvent): boolean {
    if (e.type === 'port.reuse' && severityBelow(e.severity, this.options.minSeverity ?? 'info')) {
      this.belowSeverity(1, { severity: e.severity });
      return false;
    }
    const topic = topicOf(e, this.options.outputTopics);
    if (topic === null) return false;
    const format = this.options.outputFormat;
    if (format === 'avro' && this.registryHeaders) {
      packEventRecord(outbox, e, topic, Buffer.concat([this.registryHeaders.get(topic)!, encodeEvent(e)]));
      return true;
    }
    if (!isSiemFormat(format)) {
      packEventRecord(outbox, e, topic, format);
      return true;
    }
    if (!hasPlaceIn(format, e)) {
      this.notInFormat(1, { type: e.type });
      return false;
    }
    if (isSiemJsonFormat(format)) {
      packEventRecord(outbox, e, topic, SIEM_JSON_WRITERS[format]);
      return true;
    }
    const f = formatEvent(format, e)!;
    if (f.truncated) this.truncated();
    packEventRecord(outbox, e, topic, Buffer.from(f.text));
    return true;
  }
}
