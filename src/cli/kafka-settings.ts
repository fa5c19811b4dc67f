import { existsSync } from 'node:fs';
import { INPUT_FORMATS } from '../ingest/input-decoder';
import { COMPRESSIONS } from '../kafka/codecs';
import { OUTPUT_FORMATS } from '../kafka/event-records';
import type { KafkaConnection } from '../kafka/client';
import type { RegistrySettings } from '../kafka/schema-registry';
import { LOG_LEVELS } from '../util/logger';
import { UsageError } from './args';
import type { Setting, SettingValue } from './settings';

/** Connection settings shared by `consume` and `replay`. */
export const CONNECTION_SETTINGS: readonly Setting[] = [
  { name: 'brokers', kind: 'list', default: ['127.0.0.1:9092'], help: 'Kafka bootstrap brokers, host:port,...' },
  { name: 'client-id', kind: 'string', default: 'tcpreuse', help: 'Kafka client id' },
  { name: 'ssl', kind: 'boolean', default: false, help: 'connect with TLS (system CAs unless --ssl-ca)' },
  { name: 'ssl-ca', kind: 'string', help: 'PEM file of the CA that signed the brokers\' certificates', placeholder: 'file' },
  { name: 'ssl-cert', kind: 'string', help: 'PEM client certificate (mutual TLS)', placeholder: 'file' },
  { name: 'ssl-key', kind: 'string', help: 'PEM client key (mutual TLS)', placeholder: 'file' },
  { name: 'ssl-insecure', kind: 'boolean', default: false, help: 'accept any broker certificate (testing only)' },
  { name: 'sasl-mechanism', kind: 'enum', values: ['plain', 'scram-sha-256', 'scram-sha-512'], help: 'SASL authentication' },
  { name: 'sasl-username', kind: 'string', help: 'SASL user' },
  { name: 'sasl-password', kind: 'string', help: 'SASL password; prefer TCPREUSE_SASL_PASSWORD to keep it out of ps', placeholder: 'secret' },
  { name: 'producer', kind: 'enum', values: ['wire', 'kafkajs'], default: 'wire', help: "Kafka producer: wire (tcpreuse's own; a fraction of kafkajs's CPU per record) or kafkajs" },
  { name: 'broker-timeout', kind: 'number', min: 1, default: 120, help: 'seconds the brokers may stay unreachable (a restart, a leader election) before writing or reading gives up with exit 1, as the Java client\'s delivery.timeout.ms' },
  { name: 'log-level', kind: 'enum', values: LOG_LEVELS, default: 'info', help: 'structured (JSON) log lines on stderr at this level and above' },
];

export const ANALYZE_SETTINGS: readonly Setting[] = [
  { name: 'sensor', kind: 'string', default: 'default', help: 'sensor id for packets that do not carry one' },
  { name: 'time-wait', kind: 'number', default: 60, help: 'TIME_WAIT the reuse severity is judged against (240 for Windows)' },
  { name: 'window', kind: 'number', default: 14400, help: 'seconds an ended connection is remembered per 4-tuple' },
  { name: 'stats-window', kind: 'number', min: 0.001, default: 60, help: 'tumbling window of reuse.stats, seconds' },
  { name: 'established-timeout', kind: 'number', min: 0.001, default: 300, help: 'idle seconds closing an established flow' },
  { name: 'half-open-timeout', kind: 'number', min: 0.001, default: 30, help: 'idle seconds closing a flow in its handshake' },
  { name: 'closed-timeout', kind: 'number', default: 10, help: 'linger of a flow after FIN/FIN or RST, seconds' },
  { name: 'max-flows', kind: 'integer', min: 1, default: 1000000, help: 'flow table limit (least recently seen evicted); with the next two it bounds the memory (docs/limits.md)' },
  { name: 'max-remembered', kind: 'integer', min: 1, default: 1000000, help: 'ended connections remembered per 4-tuple for reuse detection (oldest forgotten)' },
  { name: 'max-clients', kind: 'integer', min: 1, default: 100000, help: 'clients tracked for port cycles, pressure and reuse.stats windows' },
  { name: 'community-id-seed', kind: 'integer', min: 0, max: 65535, default: 0, help: 'seed of the events\' Community ID (the one your other sensors use)' },
];

/** Avro through a Schema Registry (Confluent wire format), for consume and replay. */
export const REGISTRY_SETTINGS: readonly Setting[] = [
  { name: 'schema-registry', kind: 'string', help: 'avro in the Schema Registry wire format: the registry\'s URL (Confluent API, e.g. http://registry:8081 or Apicurio\'s .../apis/ccompat/v7)', placeholder: 'url' },
  { name: 'schema-registry-username', kind: 'string', help: 'registry basic-auth user' },
  { name: 'schema-registry-password', kind: 'string', help: 'registry basic-auth password; prefer TCPREUSE_SCHEMA_REGISTRY_PASSWORD', placeholder: 'secret' },
  { name: 'schema-registry-ca', kind: 'string', help: 'PEM file of the CA that signed an https registry\'s certificate', placeholder: 'file' },
  { name: 'schema-registry-insecure', kind: 'boolean', default: false, help: 'accept any registry certificate (testing only)' },
  { name: 'schema-registry-retry', kind: 'number', min: 0, default: 30, help: 'seconds a registry that does not answer is retried before the messages needing it are dead-lettered' },
];

export function registryOf(v: Record<string, SettingValue>): RegistrySettings | null {
  const url = v.schemaRegistry as string | null;
  if (!url) return null;
  if (!/^https?:\/\/[^\s/]+/.test(url)) throw new UsageError(`--schema-registry: "${url}" is not an http(s) URL`);
  if (v.schemaRegistryCa && !existsSync(v.schemaRegistryCa as string)) throw new UsageError(`--schema-registry-ca: no file ${v.schemaRegistryCa as string}`);
  return {
    url,
    username: v.schemaRegistryUsername as string | null,
    password: v.schemaRegistryPassword as string | null,
    caFile: v.schemaRegistryCa as string | null,
    insecure: v.schemaRegistryInsecure as boolean,
    retryS: v.schemaRegistryRetry as number,
  };
}

export { INPUT_FORMATS, OUTPUT_FORMATS, COMPRESSIONS };

export function connectionOf(v: Record<string, SettingValue>): KafkaConnection {
  for (const b of v.brokers as string[]) {
    if (!/^[^\s:]+:\d{1,5}$/.test(b) && !/^\[[0-9a-fA-F:.]+\]:\d{1,5}$/.test(b)) throw new UsageError(`--brokers: "${b}" is not host:port`);
  }
  const sslFiles = v.sslCa || v.sslCert || v.sslKey || v.sslInsecure;
  if ((v.sslCert === null) !== (v.sslKey === null)) throw new UsageError('--ssl-cert and --ssl-key go together (mutual TLS needs both)');
  const sasl = v.saslMechanism as 'plain' | 'scram-sha-256' | 'scram-sha-512' | null;
  if (sasl && (!v.saslUsername || !v.saslPassword)) {
    throw new UsageError(`--sasl-mechanism ${sasl} needs --sasl-username and a password (TCPREUSE_SASL_PASSWORD or --sasl-password)`);
  }
  return {
    brokers: v.brokers as string[],
    clientId: v.clientId as string,
    ssl: sslFiles
      ? { caFile: (v.sslCa as string | null) ?? undefined, certFile: (v.sslCert as string | null) ?? undefined, keyFile: (v.sslKey as string | null) ?? undefined, rejectUnauthorized: !v.sslInsecure }
      : v.ssl === true,
    sasl: sasl ? { mechanism: sasl, username: v.saslUsername as string, password: v.saslPassword as string } : undefined,
    producer: v.producer as 'wire' | 'kafkajs',
    connectionTimeoutMs: (v.brokerTimeout as number) * 1000,
  };
}

/** --exactly-once and its transactional id (consume --app-id and repartition). */
export const TRANSACTION_SETTINGS: readonly Setting[] = [
  { name: 'exactly-once', kind: 'boolean', default: false, help: 'output, checkpoints and input offsets commit together in Kafka transactions: read the outputs with isolation.level=read_committed and a crash neither loses nor repeats anything (docs/scale-out.md)' },
  { name: 'transactional-id', kind: 'string', help: '--exactly-once: this instance\'s transactional id, kept across its restarts and unlike every other instance\'s (default: <app-id>.<host name>, repartition <app-id>.repartition.<host name>; set it when several instances share a host)' },
  { name: 'transaction-timeout', kind: 'number', min: 1, default: 10, help: '--exactly-once: seconds the broker lets a transaction stay open; a killed instance\'s open transaction holds read_committed readers back this long unless it restarts with its transactional id' },
];

/**
 * --exactly-once's transaction settings, checked: the wire producer writes transactions, and a
 * transaction must be able to last `lastsS` (a checkpoint interval) well within the timeout.
 */
export function transactionOf(v: Record<string, SettingValue>, defaultId: string, lastsS: number): { transactionalId: string; transactionTimeoutMs: number } {
  if (v.producer === 'kafkajs') throw new UsageError('--exactly-once writes with the wire producer: drop --producer kafkajs');
  const timeoutS = v.transactionTimeout as number;
  if (timeoutS < 2 * lastsS) {
    throw new UsageError(`--transaction-timeout ${timeoutS} is too short for --checkpoint-interval ${lastsS}: a transaction lasts one interval, so give it at least ${2 * lastsS} s`);
  }
  return { transactionalId: (v.transactionalId as string | null) ?? defaultId, transactionTimeoutMs: Math.round(timeoutS * 1000) };
}
