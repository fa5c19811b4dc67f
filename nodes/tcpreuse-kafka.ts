import type { KafkaClient } from '../src/kafka/client';
import type { KafkaConnection } from '../src/kafka/client';
import { createKafkaClient } from '../src/kafka/kafka-client';
import { SchemaRegistryClient } from '../src/kafka/schema-registry';
import { createLogger, type Logger } from '../src/util/logger';
import { choiceField, NodeConfigError, textField } from './lib/config-values';
import { ConnectionHealth } from '../src/kafka/connection-health';
import type { Node, NodeAPI } from './lib/node-red';

interface KafkaConfig {
  name?: string;
  brokers?: string;
  clientId?: string;
  ssl?: boolean;
  sslInsecure?: boolean;
  sslCa?: string;
  saslMechanism?: string;
  schemaRegistry?: string;
}

/** What the in/out nodes get from the config node. */
export interface KafkaConfigNode extends Node {
  /** A client for this broker; throws a NodeConfigError when the configuration is not usable. */
  client(): KafkaClient;
  readonly brokers: string;
  /** Whether the cluster answers, shared by the nodes using this config (their status follows it). */
  readonly health: ConnectionHealth;
  /** The Schema Registry Avro goes through on this cluster, or null (bare Avro). */
  registry(): SchemaRegistryClient | null;
}

/**
 * Routes kafkajs's and our own log lines to the node's log (warnings as node warnings); of the
 * connection failures of one outage only the first is logged (see ConnectionHealth).
 */
function nodeLogger(node: Node, health: ConnectionHealth): Logger {
  return createLogger('warn', (line) => {
    try {
      const { level, msg, error } = JSON.parse(line) as { level: string; msg: string; error?: string };
      const text = error ? `${msg}: ${error}` : msg;
      if (level !== 'error' && level !== 'warn') node.log(text);
      else if (!ConnectionHealth.isTrouble(text)) node.warn(text);
      else if (health.failed(text)) node.warn(`Kafka unreachable (${text}); retrying, further attempts not logged until it answers again`);
    } catch {
      node.log(line.trim());
    }
  });
}

/**
 * tcpreuse-kafka (config node): brokers, client id, TLS and SASL. The SASL user and password are
 * Node-RED credentials, stored apart from the flow file and never exported with it.
 */
module.exports = function register(RED: NodeAPI): void {
  function TcpreuseKafkaNode(this: KafkaConfigNode, config: KafkaConfig): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const c = config as unknown as Record<string, unknown>;
    (node as { brokers: string }).brokers = textField(c, 'brokers') ?? '';
    const health = new ConnectionHealth();
    (node as { health: ConnectionHealth }).health = health;
    let client: KafkaClient | null = null;
    node.client = (): KafkaClient => {
      if (client) return client;
      const brokers = (textField(c, 'brokers') ?? '').split(',').map((b) => b.trim()).filter(Boolean);
      if (brokers.length === 0) throw new NodeConfigError('Kafka config: no brokers (host:port, comma-separated)');
      for (const b of brokers) if (!/^[^\s:]+:\d{1,5}$/.test(b)) throw new NodeConfigError(`Kafka config: broker "${b}" is not host:port`);
      const mechanism = choiceField(c, 'saslMechanism', 'SASL mechanism', ['none', 'plain', 'scram-sha-256', 'scram-sha-512'] as const, 'none');
      const username = node.credentials?.username;
      const password = node.credentials?.password;
      if (mechanism !== 'none' && (!username || !password)) throw new NodeConfigError(`Kafka config: SASL ${mechanism} needs a username and a password`);
      const connection: KafkaConnection = {
        brokers,
        clientId: textField(c, 'clientId') ?? 'node-red-tcpreuse',
        ssl: config.ssl ? (config.sslInsecure || textField(c, 'sslCa') ? { caFile: textField(c, 'sslCa'), rejectUnauthorized: !config.sslInsecure } : true) : false,
        sasl: mechanism === 'none' ? undefined : { mechanism, username: username!, password: password! },
        connectionTimeoutMs: 10000,
      };
      client = createKafkaClient(connection, nodeLogger(node, health));
      return client;
    };
    let registry: SchemaRegistryClient | null | undefined;
    node.registry = (): SchemaRegistryClient | null => {
      if (registry !== undefined) return registry;
      const url = textField(c, 'schemaRegistry');
      if (url && !/^https?:\/\/\S+$/.test(url)) throw new NodeConfigError(`Kafka config: schema registry "${url}" is not an http(s) URL`);
      const username = node.credentials?.registryUsername;
      registry = url ? new SchemaRegistryClient({ url, username: username || null, password: node.credentials?.registryPassword ?? null }, nodeLogger(node, health)) : null;
      return registry;
    };
  }
  RED.nodes.registerType('tcpreuse-kafka', TcpreuseKafkaNode as never, {
    credentials: { username: { type: 'text' }, password: { type: 'password' }, registryUsername: { type: 'text' }, registryPassword: { type: 'password' } },
  });
};
