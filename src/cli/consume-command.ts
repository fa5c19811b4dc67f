import { hostname } from 'node:os';
import { ConsumeService, type ConsumeOptions } from '../kafka/consume-service';
import { ScaledConsumeService } from '../kafka/scaled/scaled-consume-service';
import type { Compression } from '../kafka/codecs';
import type { OutputFormat } from '../kafka/event-records';
import { ConnectionHealth } from '../kafka/connection-health';
import { createKafkaClient } from '../kafka/kafka-client';
import { Metrics } from '../kafka/metrics';
import { DEFAULT_MAX_FUTURE_S, type InputFormat } from '../ingest/input-decoder';
import type { PcapTimestampSource } from '../ingest/pcap-record';
import { SEVERITIES, type Severity } from '../model/events';
import { createLogger, type LogLevel } from '../util/logger';
import { UsageError } from './args';
import { ANALYZE_SETTINGS, COMPRESSIONS, CONNECTION_SETTINGS, connectionOf, INPUT_FORMATS, OUTPUT_FORMATS, REGISTRY_SETTINGS, registryOf, TRANSACTION_SETTINGS, transactionOf } from './kafka-settings';
import { runService } from './run-service';
import { resolveSettings, settingsHelp, type Setting } from './settings';

const SETTINGS: readonly Setting[] = [
  { name: 'topic', kind: 'list', help: 'input topic(s) of packet-decoded messages (required)', topic: true },
  { name: 'group', kind: 'string', default: 'tcpreuse', help: 'consumer group id' },
  { name: 'from-beginning', kind: 'boolean', default: true, help: 'a group without committed offsets starts at the oldest message (--no-from-beginning: newest)' },
  { name: 'input-format', kind: 'enum', values: INPUT_FORMATS, default: 'avro', help: 'how messages encode packets' },
  { name: 'link-type', kind: 'integer', default: 1, help: 'pcap-record: LINKTYPE of the frames (1 Ethernet, 101 raw IP, 113 SLL, 276 SLL2)' },
  { name: 'max-future', kind: 'number', min: 0, default: DEFAULT_MAX_FUTURE_S, help: 'dead-letter a message with a packet stamped this many seconds ahead of the wall clock or more (a sensor clock fault); 0: no check' },
  { name: 'pcap-timestamp', kind: 'enum', values: ['header', 'kafka'], default: 'header', help: 'pcap-record: time from a 16-byte pcap record header or the message timestamp' },
  { name: 'flows-topic', kind: 'string', default: 'tcpreuse.flows', help: 'flow.open / flow.close events', topic: true },
  { name: 'alerts-topic', kind: 'string', default: 'tcpreuse.alerts', help: 'port.reuse, port.cycle, port.pressure, reuse.stats events', topic: true },
  { name: 'packets-topic', kind: 'string', help: 'also write every packet enriched with stream, flowId, reused (off unless set)', topic: true },
  { name: 'dlq-topic', kind: 'string', default: 'tcpreuse.dlq', help: 'dead-letter topic for messages that cannot be decoded', topic: true },
  { name: 'output-format', kind: 'enum', values: OUTPUT_FORMATS, default: 'json', help: 'json or avro (schemas/tcpreuse-event.avsc): every event; or a SIEM schema: ecs (every event), ocsf (flows and alerts), cef (alerts); events a schema has no place for are counted (events_not_in_format_total), not written' },
  { name: 'compression', kind: 'enum', values: COMPRESSIONS, default: 'none', help: 'compression of the produced batches' },
  { name: 'min-severity', kind: 'enum', values: SEVERITIES, default: 'info', help: 'port.reuse events less severe than this are not written (counted in tcpreuse_reuses_not_written_total; reuse.stats still count them)' },
  ...ANALYZE_SETTINGS,
  { name: 'until-end', kind: 'boolean', default: false, help: 'stop at the end of the input: close open flows (eof), commit, exit' },
  { name: 'metrics-port', kind: 'integer', default: 9464, help: 'HTTP port of /metrics (Prometheus) and /healthz; 0 picks one, --no-metrics disables' },
  { name: 'metrics', kind: 'boolean', default: true, help: 'serve /metrics and /healthz' },
  { name: 'merge-idle-ms', kind: 'integer', min: 1, default: 2000, help: 'a partition silent this long is checked with the broker: at its end, it stops holding back the event-time merge (wall time alone never does)' },
  { name: 'rebuild-window', kind: 'number', help: 'event-time seconds of ended connections a restart replays to rebuild reuse memory (default: --window); 0 rebuilds open flows only' },
  { name: 'session-timeout-ms', kind: 'integer', min: 1000, default: 30000, help: 'consumer group session timeout: how long the group waits for a killed instance before moving its partitions (e.g. 10000 under a supervisor that restarts at once; see docs/kafka.md)' },
  { name: 'app-id', kind: 'string', help: 'run scaled (docs/scale-out.md): state per partition, checkpointed to <app-id>.state; names the group and internal topics; run N instances with one app id' },
  { name: 'checkpoint-interval', kind: 'number', min: 0.05, default: 5, help: 'scaled: seconds of processing between two checkpoints of a busy partition (what a restart re-reads)' },
  { name: 'internal-replication', kind: 'integer', min: 1, help: 'scaled: replication factor of the internal topics (default: the broker\'s)' },
  ...TRANSACTION_SETTINGS,
  ...CONNECTION_SETTINGS,
  ...REGISTRY_SETTINGS,
];

export const CONSUME_HELP = `tcpreuse consume - analyse packet-decoded Kafka messages, write events back to Kafka

Usage: tcpreuse consume --topic <topic> [options]

Reads packets (one or a batch per message) from the input topic(s) as a consumer group, runs the
same analysis as \`tcpreuse analyze\`, and writes flow events, reuse alerts and (optionally)
enriched packets to output topics. Messages that cannot be decoded go to the dead-letter topic
with headers naming their source topic, partition, offset and the error.

Delivery is at-least-once: an input offset is committed only after every event it produced was
acknowledged by the broker (acks=all, idempotent producer) and no open or remembered flow still
depends on it. After a crash the consumer replays from there; duplicates are possible, losses are not.
With --app-id (scaled) and --exactly-once, output, checkpoints and offsets commit together in Kafka
transactions: readers with isolation.level=read_committed see every event once, crashes or not.

Every option can also come from the environment (TCPREUSE_<NAME>, e.g. TCPREUSE_BROKERS) or a JSON
file (--config file.json, keys in camelCase, e.g. {"brokers": ["k1:9092"], "timeWait": 240});
flags win over the environment, which wins over the file.

Options:
  --config <file>                 JSON config file (or TCPREUSE_CONFIG)
${settingsHelp(SETTINGS)}

Examples:
  tcpreuse consume --brokers 127.0.0.1:9092 --topic sensor.packets --input-format avro
  TCPREUSE_BROKERS=k1:9092 tcpreuse consume --topic tap1.ek --input-format tshark-ek --time-wait 240
  tcpreuse consume --topic replayed --until-end --output-format avro --compression zstd
  tcpreuse consume --topic sensor.packets --schema-registry http://registry:8081 --output-format avro
      (Avro in and out in the Confluent wire format; the output schema registered as <topic>-value)
  tcpreuse consume --topic sensor.packets --app-id tap1 --exactly-once --transactional-id tap1.node-a
      (one of N instances sharing the work; each instance its own --transactional-id)

Signals: SIGINT/SIGTERM/SIGHUP stop gracefully (stop fetching, flush, commit, leave the group).
Exit status: 0 stopped or input consumed, 1 Kafka failure, 2 usage error.`;

export async function consumeCommand(argv: string[]): Promise<number> {
  const { values: v, help } = resolveSettings('consume', SETTINGS, argv);
  if (help) {
    process.stdout.write(CONSUME_HELP + '\n');
    return 0;
  }
  if (!v.topic) throw new UsageError('consume needs --topic <topic> (or TCPREUSE_TOPIC)');
  const connection = connectionOf(v);
  const log = createLogger(v.logLevel as LogLevel);
  const options: ConsumeOptions = {
    groupId: v.group as string,
    topics: v.topic as string[],
    fromBeginning: v.fromBeginning as boolean,
    inputFormat: v.inputFormat as InputFormat,
    pcapRecord: { linkType: v.linkType as number, timestamp: v.pcapTimestamp as PcapTimestampSource, sensor: undefined },
    maxFutureS: v.maxFuture as number,
    outputTopics: { flows: v.flowsTopic as string, alerts: v.alertsTopic as string, packets: (v.packetsTopic as string | null) ?? null },
    outputFormat: v.outputFormat as OutputFormat,
    compression: v.compression as Compression,
    dlqTopic: v.dlqTopic as string,
    minSeverity: v.minSeverity as Severity,
    registry: registryOf(v),
    analyze: {
      sensor: v.sensor as string,
      timeWaitS: v.timeWait as number,
      flows: {
        establishedTimeoutS: v.establishedTimeout as number,
        halfOpenTimeoutS: v.halfOpenTimeout as number,
        closedTimeoutS: v.closedTimeout as number,
        maxFlows: v.maxFlows as number,
        maxRemembered: v.maxRemembered as number,
        communityIdSeed: v.communityIdSeed as number,
      },
      reuse: { windowS: v.window as number, maxEntries: v.maxRemembered as number },
      cycles: { maxClients: v.maxClients as number },
      stats: { windowS: v.statsWindow as number, maxClients: v.maxClients as number },
    },
    untilEnd: v.untilEnd as boolean,
    mergeIdleMs: v.mergeIdleMs as number,
    rebuildWindowS: (v.rebuildWindow as number | null) ?? undefined,
    sessionTimeoutMs: v.sessionTimeoutMs as number,
  };
  const metrics = new Metrics();
  const client = createKafkaClient(connection, log, new ConnectionHealth(connection.connectionTimeoutMs));
  const appId = v.appId as string | null;
  if (v.exactlyOnce && !appId) throw new UsageError('--exactly-once needs --app-id (transactions are for the scaled consumer; docs/scale-out.md)');
  const exactlyOnce = v.exactlyOnce && appId ? transactionOf(v, `${appId}.${hostname()}`, v.checkpointInterval as number) : undefined;
  const service = appId
    ? new ScaledConsumeService(
        {
          ...options,
          appId,
          checkpointIntervalMs: (v.checkpointInterval as number) * 1000,
          internalReplication: (v.internalReplication as number | null) ?? undefined,
          connection,
          exactlyOnce,
        },
        client,
        log,
        metrics,
      )
    : new ConsumeService(options, client, log, metrics);
  return runService(service, metrics, { log, metricsPort: v.metrics ? (v.metricsPort as number) : null, name: 'consume' });
}

