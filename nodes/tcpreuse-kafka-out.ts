import { encodeEvent, REGISTERED_EVENT_SCHEMA } from '../src/avro/event-schemas';
import { wireHeader, type SchemaRegistryClient } from '../src/kafka/schema-registry';
import type { Sink } from '../src/kafka/client';
import { eventKey, EVENT_TYPE_HEADER } from '../src/kafka/event-records';
import { choiceField, textField } from './lib/config-values';
import { EVENT_TYPES, isEvent } from './lib/event-payload';
import { disconnectThen, failConfiguration } from './lib/event-time-node';
import type { Node, NodeAPI, NodeMessage } from './lib/node-red';
import type { KafkaConfigNode } from './tcpreuse-kafka';

interface OutConfig {
  kafka?: string;
  topic?: string;
  format?: string;
}

/** Evidence and event-time marks that pass between tcpreuse nodes; not events of the contract. */
const PLUMBING = new Set(['flow.interleave', 'watermark']);
const isPlumbing = (p: unknown): boolean => typeof p === 'object' && p !== null && PLUMBING.has((p as { type?: string }).type ?? '');

/**
 * tcpreuse-kafka-out: writes msg.payload to a topic (msg.topic when none is configured). tcpreuse
 * events are keyed by their flow key (or msg.key) and timestamped with event time; avro encodes
 * them with schemas/tcpreuse-event.avsc, json as JSON; any other payload is written as it is
 * (Buffer, string, or JSON for objects). done() waits for the broker's acknowledgement.
 */
module.exports = function register(RED: NodeAPI): void {
  function TcpreuseKafkaOutNode(this: Node, config: OutConfig): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const c = config as unknown as Record<string, unknown>;
    let sink: Sink | null = null;
    let connecting: Promise<Sink> | null = null;
    let format: 'json' | 'avro';
    try {
      format = choiceField(c, 'format', 'format', ['json', 'avro'] as const, 'json');
    } catch (err) {
      failConfiguration(node, err);
      return;
    }
    const kafka = RED.nodes.getNode(config.kafka ?? '') as KafkaConfigNode | null;

    const connect = (): Promise<Sink> => {
      if (sink) return Promise.resolve(sink);
      if (!connecting) {
        connecting = (async () => {
          if (!kafka) throw new Error('no Kafka configuration selected');
          const s = kafka.client().sink({ compression: 'none' });
          await s.connect();
          sink = s;
          node.status({ fill: 'green', shape: 'dot', text: `connected to ${kafka.brokers}` });
          return s;
        })().catch((err: Error) => {
          connecting = null;
          node.status({ fill: 'red', shape: 'ring', text: `disconnected: ${err.message}`.slice(0, 80) });
          throw err;
        });
      }
      return connecting;
    };

    let written = 0;
    // Avro through the config's Schema Registry: the event schema registered once per topic, records framed with its id.
    let registry: SchemaRegistryClient | null = null;
    try {
      registry = kafka?.registry() ?? null;
    } catch (err) {
      failConfiguration(node, err);
      return;
    }
    const headerOf = new Map<string, Promise<Buffer>>();
    const registered = (topic: string): Promise<Buffer> => {
      let h = headerOf.get(topic);
      if (!h) {
        h = registry!.register(`${topic}-value`, REGISTERED_EVENT_SCHEMA).then(wireHeader);
        h.catch(() => headerOf.delete(topic)); // asked again with the next message
        headerOf.set(topic, h);
      }
      return h;
    };
    node.on('input', (msg: NodeMessage, _send, done) => {
      // tcp flows sends flow.interleave (NAT-collision evidence for port reuse) on its close output;
      // wired straight to Kafka it must not land on an event topic.
      if (isPlumbing(msg.payload)) {
        done();
        return;
      }
      const topic = textField(c, 'topic') ?? (typeof msg.topic === 'string' && !EVENT_TYPES.has(msg.topic) ? msg.topic : undefined);
      if (!topic) {
        done(new Error('no topic: set one in the node or send msg.topic'));
        return;
      }
      const p = msg.payload;
      let value: string | Buffer;
      let key: string | null = typeof msg.key === 'string' ? msg.key : null;
      let timestampMs = Date.now();
      const headers: Record<string, string> = {};
      let framing: Promise<Buffer> | null = null;
      try {
        if (isEvent(p)) {
          value = format === 'avro' ? encodeEvent(p) : JSON.stringify(p);
          if (format === 'avro' && registry) framing = registered(topic);
          key ??= eventKey(p);
          timestampMs = Math.floor(p.ts / 1000);
          headers[EVENT_TYPE_HEADER] = p.type;
        } else {
          value = Buffer.isBuffer(p) || typeof p === 'string' ? p : JSON.stringify(p);
          // A SIEM document from siem format keeps its event's key, time and type header.
          const origin = isEvent(msg.event) ? msg.event : null;
          if (origin) {
            key ??= eventKey(origin);
            timestampMs = Math.floor(origin.ts / 1000);
            headers[EVENT_TYPE_HEADER] = origin.type;
          }
        }
      } catch (err) {
        done(err as Error);
        return;
      }
      const frame = framing;
      connect()
        .then(async (s) => s.send([{ topic, key, value: frame ? Buffer.concat([await frame, value as Buffer]) : value, timestampMs, headers }]))
        .then(() => {
          kafka?.health.ok();
          written++;
          node.status({ fill: 'green', shape: 'dot', text: `${written} written to ${topic}` });
          done();
        })
        .catch((err: Error) => done(err));
    });

    node.on('close', (_removed, done) => {
      const s = sink;
      sink = null;
      connecting = null;
      node.status({});
      disconnectThen(s, done);
    });
  }
  RED.nodes.registerType('tcpreuse-kafka-out', TcpreuseKafkaOutNode as never);
};
