import { hostname } from 'node:os';
import type { InputFormat } from '../ingest/input-decoder';
import { DEFAULT_MAX_FUTURE_S } from '../ingest/input-decoder';
import type { PcapTimestampSource } from '../ingest/pcap-record';
import type { Compression } from '../kafka/codecs';
import { ConnectionHealth } from '../kafka/connection-health';
import { createKafkaClient } from '../kafka/kafka-client';
import { Metrics } from '../kafka/metrics';
import { RepartitionService } from '../kafka/repartition';
import { createLogger, type LogLevel } from '../util/logger';
import { UsageError } from './args';
import { COMPRESSIONS, CONNECTION_SETTINGS, connectionOf, INPUT_FORMATS, REGISTRY_SETTINGS, registryOf, TRANSACTION_SETTINGS, transactionOf } from './kafka-settings';
import { runService } from './run-service';
import { resolveSettings, settingsHelp, type Setting } from './settings';

const SETTINGS: readonly Setting[] = [
  { name: 'topic', kind: 'list', help: 'input topic(s) of packet-decoded messages, keyed any way (required)', topic: true },
  { name: 'app-id', kind: 'string', help: 'the scaled consumer\'s app id: output <app-id>.packets-repartition, group <app-id>.repartition (required)' },
  { name: 'partitions', kind: 'integer', min: 1, help: 'partitions of the output topic when it is created (default: the largest input topic\'s)' },
  { name: 'batch-size', kind: 'integer', min: 1, default: 500, help: 'packets per output message' },
  { name: 'from-beginning', kind: 'boolean', default: true, help: 'a group without committed offsets starts at the oldest message (--no-from-beginning: newest)' },
  { name: 'input-format', kind: 'enum', values: INPUT_FORMATS, default: 'avro', help: 'how input messages encode packets (the output is always avro batches)' },
  { name: 'link-type', kind: 'integer', default: 1, help: 'pcap-record: LINKTYPE of the frames (1 Ethernet, 101 raw IP, 113 SLL, 276 SLL2)' },
  { name: 'max-future', kind: 'number', min: 0, default: DEFAULT_MAX_FUTURE_S, help: 'dead-letter a message with a packet stamped this many seconds ahead of the wall clock or more; 0: no check' },
  { name: 'pcap-timestamp', kind: 'enum', values: ['header', 'kafka'], default: 'header', help: 'pcap-record: time from a 16-byte pcap record header or the message timestamp' },
  { name: 'dlq-topic', kind: 'string', default: 'tcpreuse.dlq', help: 'dead-letter topic for messages that cannot be decoded', topic: true },
  { name: 'compression', kind: 'enum', values: COMPRESSIONS, default: 'none', help: 'compression of the produced batches' },
  { name: 'until-end', kind: 'boolean', default: false, help: 'stop once every input partition is re-keyed up to its end (by whichever instance)' },
  { name: 'session-timeout-ms', kind: 'integer', min: 1000, default: 30000, help: 'consumer group session timeout' },
  { name: 'metrics-port', kind: 'integer', default: 9465, help: 'HTTP port of /metrics and /healthz; 0 picks one, --no-metrics disables' },
  { name: 'metrics', kind: 'boolean', default: true, help: 'serve /metrics and /healthz' },
  ...TRANSACTION_SETTINGS,
  ...CONNECTION_SETTINGS,
  ...REGISTRY_SETTINGS,
];

export const REPARTITION_HELP = `tcpreuse repartition - re-key packets by address pair for the scaled consumer

Usage: tcpreuse repartition --topic <topic> --app-id <app-id> [options]

The scaled consumer (consume --app-id) needs every packet of one sensor and address pair in one
partition, in capture order (docs/scale-out.md). Sensors that publish otherwise (e.g. whatever
they saw in one message, keyed by sensor) go through this step: it reads the input as group
<app-id>.repartition and writes each packet to the partition of <app-id>.packets-repartition its
sensor and address pair hash to, as avro batches, in the order each input partition gave them.
Packets of one pair must come through one input partition (keying by sensor does that).

Delivery is at-least-once: an input offset is committed once the packets of every message before
it are acknowledged; after a crash the packets since the last commit are written again. With
--exactly-once each write and the offsets it covers are one Kafka transaction (the consumer reads
the repartition topic read_committed): nothing is written twice. Run as many instances as the
input has partitions; they share the work through the group.

Options (also from TCPREUSE_<NAME> or --config file.json, as for consume):
  --config <file>                 JSON config file (or TCPREUSE_CONFIG)
${settingsHelp(SETTINGS)}

Examples:
  tcpreuse repartition --topic sensor.batches --app-id tap1 --brokers 127.0.0.1:9092
  tcpreuse consume --topic tap1.packets-repartition --app-id tap1 --brokers 127.0.0.1:9092

Signals: SIGINT/SIGTERM/SIGHUP stop gracefully (write what is read, commit, leave the group).
Exit status: 0 stopped or input consumed, 1 Kafka failure, 2 usage error.`;

export async function repartitionCommand(argv: string[]): Promise<number> {
  const { values: v, help } = resolveSettings('repartition', SETTINGS, argv);
  if (help) {
    process.stdout.write(REPARTITION_HELP + '\n');
    return 0;
  }
  if (!v.topic) throw new UsageError('repartition needs --topic <topic> (or TCPREUSE_TOPIC)');
  if (!v.appId) throw new UsageError('repartition needs --app-id <app-id> (the scaled consumer\'s; or TCPREUSE_APP_ID)');
  const connection = connectionOf(v);
  const log = createLogger(v.logLevel as LogLevel);
  const metrics = new Metrics();
  const client = createKafkaClient(connection, log, new ConnectionHealth(connection.connectionTimeoutMs));
  const service = new RepartitionService(
    {
      appId: v.appId as string,
      topics: v.topic as string[],
      partitions: (v.partitions as number | null) ?? undefined,
      batchSize: v.batchSize as number,
      fromBeginning: v.fromBeginning as boolean,
      inputFormat: v.inputFormat as InputFormat,
      pcapRecord: { linkType: v.linkType as number, timestamp: v.pcapTimestamp as PcapTimestampSource, sensor: undefined },
      maxFutureS: v.maxFuture as number,
      compression: v.compression as Compression,
      dlqTopic: v.dlqTopic as string,
      untilEnd: v.untilEnd as boolean,
      sessionTimeoutMs: v.sessionTimeoutMs as number,
      registry: registryOf(v),
      // A transaction lasts one write (well under a second).
      exactlyOnce: v.exactlyOnce ? transactionOf(v, `${v.appId as string}.repartition.${hostname()}`, 0) : undefined,
    },
    client,
    log,
    metrics,
  );
  return runService(service, metrics, { log, metricsPort: v.metrics ? (v.metricsPort as number) : null, name: 'repartition' });
}
