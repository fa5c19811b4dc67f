/**
 * Our wire producer against the real broker, read back with kafkajs: partitions as the Java
 * client's partitioner picks them, every field intact, order kept, every compression, requests
 * split under the broker's size limit, and the broker's refusals surfaced with their names.
 */
import { createKafkaClient } from '../../src/kafka/kafka-client';
import type { OutgoingMessage } from '../../src/kafka/client';
import { COMPRESSIONS } from '../../src/kafka/codecs';
import { packMessages } from '../../src/kafka/message-pack';
import { WireProducer } from '../../src/kafka/wire/producer';
import { createLogger } from '../../src/util/logger';
import { BROKERS, createTopic, describeKafka, kafka, readTopic, uniqueName } from '../helpers/kafka';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const javaMurmur2 = require('kafkajs/src/producer/partitioners/default/murmur2') as (key: Buffer) => number;

const producer = (): WireProducer => new WireProducer({ brokers: [BROKERS!], clientId: 'wire-test' }, { compression: 'none' }, createLogger('warn'));

describeKafka('wire producer against a real broker', () => {
  test.each(COMPRESSIONS)('%s: keyed, unkeyed and explicit-partition records arrive intact, where the Java partitioner puts them, in order', async (compression) => {
    const topic = uniqueName('wire');
    await createTopic(topic, 4);
    const sink = createKafkaClient({ brokers: [BROKERS!], clientId: 'wire-test' }, createLogger('warn')).sink({ compression });
    await sink.connect();
    const messages: OutgoingMessage[] = [];
    for (let i = 0; i < 3000; i++) {
      const kind = i % 3;
      messages.push({
        topic,
        key: kind === 0 ? `default|10.0.${i % 50}.1|${1024 + i}|10.9.9.9|443` : kind === 1 ? null : Buffer.from(`bytes-${i % 7}`),
        partition: kind === 2 ? i % 4 : undefined,
        value: kind === 1 ? Buffer.from([i >> 8, i & 255, 0, 255]) : JSON.stringify({ i, text: 'ünïcode ☃'.repeat(i % 5) }),
        timestampMs: 1_700_000_000_000 + i * 1000,
        headers: i % 10 === 0 ? { 'tcpreuse-type': 'flow.open', n: String(i) } : undefined,
      });
    }
    // Half as objects, half packed: a sink takes both.
    await sink.send(messages.slice(0, 1500));
    await sink.send(packMessages(messages.slice(1500)));
    await sink.disconnect();

    const got = await readTopic(topic);
    expect(got).toHaveLength(messages.length);
    const byValue = new Map(got.map((m) => [m.value.toString('latin1'), m]));
    for (const m of messages) {
      const r = byValue.get(Buffer.from(m.value!).toString('latin1'))!;
      expect(r).toBeDefined();
      expect(r.key).toBe(m.key === null ? null : m.key.toString());
      expect(Number(r.timestamp)).toBe(m.timestampMs);
      expect(r.headers).toEqual(m.headers ?? {});
      if (m.partition !== undefined) expect(r.partition).toBe(m.partition);
      else if (m.key !== null) expect(r.partition).toBe((javaMurmur2(Buffer.from(m.key)) & 0x7fffffff) % 4);
    }
    // Within a partition, the order of the sends.
    for (let p = 0; p < 4; p++) {
      const order = got.filter((m) => m.partition === p).map((m) => messages.findIndex((x) => Buffer.from(x.value!).toString('latin1') === m.value.toString('latin1')));
      expect(order).toEqual([...order].sort((a, b) => a - b));
    }
    // Unkeyed records are spread over the partitions (round robin), not piled on one.
    expect(new Set(got.filter((m) => m.key === null).map((m) => m.partition)).size).toBe(4);
  });

  test('a send larger than a request may carry goes out in several, complete and in order; a new topic is created on first write', async () => {
    const topic = uniqueName('wire-big'); // not created: the broker auto-creates it
    const p = producer();
    await p.connect();
    const value = 'x'.repeat(1000);
    const messages: OutgoingMessage[] = Array.from({ length: 5000 }, (_, i) => ({ topic, key: 'one-key', value: `${i}:${value}`, timestampMs: i }));
    await p.send(messages); // ~5 MB to one partition: 7 requests under the 1 MiB batch limit
    await p.disconnect();
    const got = await readTopic(topic);
    expect(got.map((m) => Number(m.value.toString().split(':')[0]))).toEqual(messages.map((_, i) => i));
  });

  test('sends fired concurrently (as a Node-RED node does) all arrive, in call order', async () => {
    const topic = uniqueName('wire-concurrent');
    await createTopic(topic, 1);
    // gzip: encoding yields to the event loop, where two sends could otherwise take one sequence number.
    const p = new WireProducer({ brokers: [BROKERS!], clientId: 'wire-test' }, { compression: 'gzip' }, createLogger('warn'));
    await p.connect();
    await Promise.all(Array.from({ length: 200 }, (_, i) => p.send([{ topic, key: 'k', value: String(i), timestampMs: i }])));
    await p.disconnect();
    expect((await readTopic(topic)).map((m) => Number(m.value.toString()))).toEqual(Array.from({ length: 200 }, (_, i) => i));
  });

  test("a record over the broker's size limit is refused with the broker's reason, naming the partition", async () => {
    const topic = uniqueName('wire-too-big');
    await createTopic(topic, 1);
    const p = producer();
    await p.connect();
    await expect(p.send([{ topic, key: null, value: Buffer.alloc(2 * 1024 * 1024), timestampMs: 0 }])).rejects.toMatchObject({
      name: 'KafkaProtocolError',
      message: expect.stringMatching(new RegExp(`writing to ${topic.replace('.', '\\.')}/0 failed with (MESSAGE_TOO_LARGE|RECORD_LIST_TOO_LARGE)`)),
    });
    // The producer is still usable for what the broker accepts.
    await p.send([{ topic, key: null, value: 'fine', timestampMs: 0 }]);
    await p.disconnect();
    expect((await readTopic(topic)).map((m) => m.value.toString())).toEqual(['fine']);
  });

  test('partitions added to a topic are used once its metadata is older than metadataMaxAgeMs', async () => {
    const topic = uniqueName('wire-grow');
    await createTopic(topic, 1);
    const p = new WireProducer({ brokers: [BROKERS!], clientId: 'wire-test' }, { compression: 'none' }, createLogger('warn'), 0);
    await p.connect();
    const unkeyed = (n: number): OutgoingMessage[] => Array.from({ length: n }, (_, i) => ({ topic, key: null, value: String(i), timestampMs: i }));
    await p.send(unkeyed(10));
    const admin = kafka().admin();
    await admin.connect();
    await admin.createPartitions({ topicPartitions: [{ topic, count: 3 }] });
    await admin.disconnect();
    for (let i = 0; i < 5; i++) await p.send(unkeyed(10));
    await p.disconnect();
    expect(new Set((await readTopic(topic)).map((m) => m.partition))).toEqual(new Set([0, 1, 2]));
  });

  test('an explicit partition the topic does not have is an error, not a silent drop', async () => {
    const topic = uniqueName('wire-part');
    await createTopic(topic, 2);
    const p = producer();
    await p.connect();
    await expect(p.send([{ topic, partition: 5, key: null, value: 'x', timestampMs: 0 }])).rejects.toThrow(`topic ${topic} has no partition 5 (it has 2)`);
    await p.disconnect();
  });
});
