import type { ConsumedBatch, Source, TopicPartition } from '../src/kafka/client';
import { InputDecoder, InputError, INPUT_FORMATS } from '../src/ingest/input-decoder';
import { choiceField, numberField, textField } from './lib/config-values';
import { disconnectThen } from './lib/event-time-node';
import type { Node, NodeAPI, NodeMessage } from './lib/node-red';
import { packetPayload } from './lib/packet-payload';
import type { SchemaRegistryClient } from '../src/kafka/schema-registry';
import type { KafkaConfigNode } from './tcpreuse-kafka';

interface InConfig {
  kafka?: string;
  topic?: string;
  group?: string;
  fromBeginning?: boolean;
  format?: string;
  output?: string;
  linkType?: string;
  pcapTimestamp?: string;
  maxQueue?: string;
}

/**
 * tcpreuse-kafka-in: consumes packet-decoded messages (the consumer's input formats) from a topic
 * with a consumer group, and sends one message per packet or per Kafka message. Messages wait in a
 * bounded queue that is sent a slice per event-loop turn; when it is full the partitions are
 * paused and resumed once it has drained, so a slow flow holds the consumer back instead of
 * growing memory. Offsets are committed once their packets have been sent into the flow.
 */
module.exports = function register(RED: NodeAPI): void {
  function TcpreuseKafkaInNode(this: Node, config: InConfig): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const c = config as unknown as Record<string, unknown>;
    let source: Source | null = null;
    let closing = false;
    const queue: { msg: NodeMessage; commit?: TopicPartition & { offset: string } }[] = [];
    const paused = new Set<string>();
    let pumping: NodeJS.Immediate | null = null;
    let sent = 0;
    let decoder: InputDecoder;
    let registry: SchemaRegistryClient | null = null;
    let topic: string;
    let perBatch: boolean;
    let maxQueue: number;
    const kafka = RED.nodes.getNode(config.kafka ?? '') as KafkaConfigNode | null;
    try {
      topic = textField(c, 'topic') ?? '';
      if (!topic) throw new Error('no topic configured');
      const format = choiceField(c, 'format', 'format', INPUT_FORMATS, 'avro');
      registry = format === 'avro' ? (kafka?.registry() ?? null) : null;
      decoder = new InputDecoder({
        format,
        registry: registry ?? undefined,
        pcapRecord: { linkType: numberField(c, 'linkType', 'link type') ?? 1, timestamp: choiceField(c, 'pcapTimestamp', 'pcap timestamp', ['header', 'kafka'] as const, 'header') },
      });
      perBatch = choiceField(c, 'output', 'output', ['packet', 'batch'] as const, 'packet') === 'batch';
      maxQueue = numberField(c, 'maxQueue', 'queue limit', 1) ?? 10000;
    } catch (err) {
      node.status({ fill: 'red', shape: 'ring', text: (err as Error).message });
      node.error(err);
      return;
    }
    if (!kafka) {
      node.status({ fill: 'red', shape: 'ring', text: 'no Kafka configuration selected' });
      node.error(new Error('no Kafka configuration selected'));
      return;
    }

    const status = (): void => {
      if (closing) return;
      const trouble = kafka.health.current;
      if (trouble !== null) {
        node.status({ fill: 'yellow', shape: 'ring', text: `reconnecting: ${trouble}`.slice(0, 80) });
        return;
      }
      const p = paused.size > 0 ? ', paused (flow busy)' : '';
      node.status({ fill: paused.size ? 'yellow' : 'green', shape: 'dot', text: `connected: ${sent} msgs${p}` });
    };

    /** Sends a slice of the queue per turn, so the runtime delivers them before more arrive. */
    const pump = (): void => {
      pumping = null;
      const commits = new Map<string, TopicPartition & { offset: string }>();
      for (let n = 0; n < 200 && queue.length > 0; n++) {
        const item = queue.shift()!;
        if (item.msg.payload !== undefined) {
          node.send(item.msg);
          sent++;
        }
        if (item.commit) commits.set(`${item.commit.topic}/${item.commit.partition}`, item.commit);
      }
      if (commits.size && source) source.commit([...commits.values()]).catch((err: Error) => node.warn(`commit failed: ${err.message}`));
      if (queue.length < maxQueue / 2 && paused.size && source) {
        source.resume([...paused].map((k) => ({ topic: k.slice(0, k.lastIndexOf('/')), partition: Number(k.slice(k.lastIndexOf('/') + 1)) })));
        paused.clear();
      }
      status();
      if (queue.length > 0) pumping = setImmediate(pump);
    };

    const onBatch = async (batch: ConsumedBatch): Promise<void> => {
      if (closing) return;
      kafka.health.ok();
      await registry?.prepare(batch.messages.map((m) => m.value)); // writer schemas by id, before the synchronous decoding
      for (const m of batch.messages) {
        const base: NodeMessage = { topic: batch.topic, partition: batch.partition, offset: m.offset, key: m.key?.toString() ?? null, timestamp: m.timestampMs };
        const commit = { topic: batch.topic, partition: batch.partition, offset: String(Number(m.offset) + 1) };
        try {
          const packets = decoder.decode(m);
          if (perBatch) queue.push({ msg: { ...base, payload: packets.map((p) => packetPayload(p)) }, commit });
          else if (packets.length === 0) queue.push({ msg: {}, commit });
          else packets.forEach((p, i) => queue.push({ msg: { ...base, payload: packetPayload(p) }, commit: i === packets.length - 1 ? commit : undefined }));
        } catch (err) {
          if (!(err instanceof InputError)) throw err;
          // Undecodable: reported to Catch nodes with where it came from; consuming goes on.
          node.error(new Error(`${batch.topic}/${batch.partition}@${m.offset}: ${err.message}`), { ...base, payload: m.value });
          queue.push({ msg: {}, commit });
        }
      }
      const key = `${batch.topic}/${batch.partition}`;
      if (queue.length >= maxQueue && !paused.has(key)) {
        paused.add(key);
        source?.pause([{ topic: batch.topic, partition: batch.partition }]);
      }
      if (!pumping) pumping = setImmediate(pump);
    };

    let retry: NodeJS.Timeout | null = null;
    const RETRY_MS = 5000;
    /** Connects, waits for the topic, consumes; on failure says why and tries again, until closed. */
    const start = async (): Promise<void> => {
      retry = null;
      node.status({ fill: 'yellow', shape: 'ring', text: `connecting to ${kafka.brokers}` });
      const client = kafka.client();
      const admin = client.admin();
      await admin.connect();
      try {
        // Subscribing to a topic that does not exist yet fails in kafkajs; wait for it instead.
        while (!closing && !(await admin.listTopics()).has(topic)) {
          node.status({ fill: 'yellow', shape: 'ring', text: `waiting for topic ${topic}` });
          await new Promise((r) => setTimeout(r, 1000));
        }
      } finally {
        await admin.disconnect().catch(() => undefined);
      }
      if (closing) return;
      const s = client.source({ groupId: textField(c, 'group') ?? 'node-red-tcpreuse', topics: [topic], fromBeginning: config.fromBeginning !== false });
      // A (re)join means the cluster answers again.
      s.onAssignment(() => kafka.health.ok());
      s.onCrash((err) => {
        if (closing) return;
        node.status({ fill: 'red', shape: 'ring', text: `disconnected: ${err.message}`.slice(0, 80) });
        node.error(err);
        source = null;
        s.disconnect().catch(() => undefined);
        retry = setTimeout(() => void start().catch(failed), RETRY_MS);
      });
      await s.connect();
      if (closing) {
        await s.disconnect();
        return;
      }
      source = s;
      await s.run(onBatch);
      status();
    };
    const failed = (err: Error): void => {
      if (closing) return;
      node.status({ fill: 'red', shape: 'ring', text: `disconnected: ${err.message}`.slice(0, 80) });
      node.error(err);
      retry = setTimeout(() => void start().catch(failed), RETRY_MS);
    };
    // The status follows the cluster's reachability as the config node's client reports it.
    const unsubscribe = kafka.health.subscribe(() => {
      if (source) status();
    });
    void start().catch(failed);

    node.on('close', (_removed, done) => {
      closing = true;
      unsubscribe();
      if (retry) clearTimeout(retry);
      retry = null;
      if (pumping) clearImmediate(pumping);
      pumping = null;
      queue.length = 0;
      const s = source;
      source = null;
      node.status({});
      disconnectThen(s, done);
    });
  }
  RED.nodes.registerType('tcpreuse-kafka-in', TcpreuseKafkaInNode as never);
};
