import { join } from 'node:path';
import type { TcpReuseEvent } from '../../src/model/events';
import { cli, createTopic, describeKafka, kafka, readTopic, uniqueName, BROKERS } from '../helpers/kafka';
import { collect, helper, load, nodeModule, startServer, stopServer, until } from '../helpers/node-red';
import { analyzeCapture, CAPTURES } from '../helpers/run';

const nodes = ['tcpreuse-kafka', 'tcpreuse-kafka-in', 'tcpreuse-kafka-out', 'tcpreuse-flows', 'tcpreuse-reuse'].map(nodeModule);
const CAPTURE = join(CAPTURES, 'fast-reuse-timewait.pcap.gz');

beforeEach(startServer);
afterEach(stopServer);

/** The test broker's SASL and TLS listeners (globalSetup); absent with an external broker. */
const SASL = process.env.TCPREUSE_KAFKA_SASL_BROKERS || null;
const SSL = process.env.TCPREUSE_KAFKA_SSL_BROKERS || null;
const CONNECTIONS: [string, Record<string, unknown>, Record<string, string> | undefined][] = [
  ['plain TCP', { brokers: BROKERS }, undefined],
  ...(SASL ? [['SASL SCRAM-SHA-512', { brokers: SASL, saslMechanism: 'scram-sha-512' }, { username: process.env.TCPREUSE_KAFKA_SASL_USER!, password: process.env.TCPREUSE_KAFKA_SASL_PASSWORD! }] as [string, Record<string, unknown>, Record<string, string>]] : []),
  ...(SSL ? [['TLS, trusting the broker certificate', { brokers: SSL, ssl: true, sslCa: process.env.TCPREUSE_KAFKA_SSL_CA }, undefined] as [string, Record<string, unknown>, undefined]] : []),
];
if (BROKERS && (!SASL || !SSL) && process.env.CI) throw new Error('CI must run the Kafka node tests over SASL and TLS too (globalSetup sets TCPREUSE_KAFKA_SASL_*/SSL_*)');

describeKafka('Kafka nodes against the real broker', () => {
  test.each(CONNECTIONS)('kafka in → tcp flows → port reuse → kafka out gives the reuses analyze finds (%s)', async (_how, kafkaConfig, credentials) => {
    const id = uniqueName('nr');
    await cli(['replay', CAPTURE, '--topic', `${id}.in`, '--partitions', '1', '--batch-size', '20', '--log-level', 'warn']);
    await load(nodes, [
      { id: 'k', type: 'tcpreuse-kafka', ...kafkaConfig },
      { id: 'in', type: 'tcpreuse-kafka-in', kafka: 'k', topic: `${id}.in`, group: `${id}.g`, format: 'avro', output: 'batch', wires: [['flows']] },
      { id: 'flows', type: 'tcpreuse-flows', sensor: 'cap', wires: [['reuse'], ['reuse'], []] },
      { id: 'reuse', type: 'tcpreuse-reuse', wires: [['out'], [], [], []] },
      { id: 'out', type: 'tcpreuse-kafka-out', kafka: 'k', topic: `${id}.alerts`, format: 'json' },
    ], credentials ? { k: credentials } : undefined);
    const want = (await analyzeCapture(CAPTURE, { sensor: 'cap' })).filter((e) => e.type === 'port.reuse');
    let got: TcpReuseEvent[] = [];
    const t0 = Date.now();
    while (got.length < want.length && Date.now() - t0 < 30000) {
      got = (await readTopic(`${id}.alerts`)).map((m) => JSON.parse(m.value.toString()) as TcpReuseEvent);
      if (got.length < want.length) await new Promise((r) => setTimeout(r, 300));
    }
    expect(got.map((e) => JSON.stringify(e)).sort()).toEqual(want.map((e) => JSON.stringify(e)).sort());
  });

  (process.env.TCPREUSE_REGISTRY_URL ? test : test.skip)('through the Schema Registry: packets from kafka reads the wire format, events to kafka registers and frames; a registry client reads back the reuses analyze finds', async () => {
    const registryUrl = process.env.TCPREUSE_REGISTRY_URL!;
    const id = uniqueName('nrsr');
    await cli(['replay', CAPTURE, '--topic', `${id}.in`, '--partitions', '1', '--batch-size', '20', '--schema-registry', registryUrl, '--log-level', 'warn']);
    await load(nodes, [
      { id: 'k', type: 'tcpreuse-kafka', brokers: BROKERS, schemaRegistry: registryUrl },
      { id: 'in', type: 'tcpreuse-kafka-in', kafka: 'k', topic: `${id}.in`, group: `${id}.g`, format: 'avro', output: 'batch', wires: [['flows']] },
      { id: 'flows', type: 'tcpreuse-flows', sensor: 'cap', wires: [['reuse'], ['reuse'], []] },
      { id: 'reuse', type: 'tcpreuse-reuse', wires: [['out'], [], [], []] },
      { id: 'out', type: 'tcpreuse-kafka-out', kafka: 'k', topic: `${id}.alerts`, format: 'avro' },
    ]);
    const want = (await analyzeCapture(CAPTURE, { sensor: 'cap' })).filter((e) => e.type === 'port.reuse');
    const { SchemaRegistry } = await import('@kafkajs/confluent-schema-registry');
    const registry = new SchemaRegistry({ host: registryUrl });
    let got = await readTopic(`${id}.alerts`);
    for (const t0 = Date.now(); got.length < want.length && Date.now() - t0 < 30000; got = await readTopic(`${id}.alerts`)) await new Promise((r) => setTimeout(r, 300));
    const events = await Promise.all(got.map(async (m) => Object.values(((await registry.decode(m.value)) as { event: Record<string, unknown> }).event)[0]));
    expect(events.map((e) => JSON.stringify(e)).sort()).toEqual(want.map((e) => JSON.stringify(e)).sort());
  });

  test('kafka out writes events only: the flows node\'s flow.interleave evidence and watermarks stay out of the topic', async () => {
    const id = uniqueName('nrplumb');
    await createTopic(`${id}.out`, 1);
    await load(nodes, [
      { id: 'k', type: 'tcpreuse-kafka', brokers: BROKERS },
      { id: 'out', type: 'tcpreuse-kafka-out', kafka: 'k', topic: `${id}.out`, format: 'avro' },
    ]);
    const [event] = (await analyzeCapture(CAPTURE, { sensor: 'cap' })).filter((e) => e.type === 'flow.close');
    const out = helper.getNode('out');
    out.receive({ payload: { type: 'flow.interleave', ts: event.ts, sensor: 'cap', flowId: 'a', previousFlowId: 'b', frame: 3 } });
    out.receive({ payload: { type: 'watermark', ts: event.ts } });
    out.receive({ payload: event });
    // One producer, one partition: anything written before the event would be read before it.
    let got = await readTopic(`${id}.out`);
    for (const t0 = Date.now(); got.length < 1 && Date.now() - t0 < 30000; got = await readTopic(`${id}.out`)) await new Promise((r) => setTimeout(r, 300));
    expect(got).toHaveLength(1);
    expect(got[0].key?.toString()).toMatch(/^cap\|/);
  });

  test('undecodable Kafka messages reach a Catch node with their origin; the rest flows on', async () => {
    const id = uniqueName('nrbad');
    await createTopic(`${id}.in`, 1);
    const producer = kafka().producer();
    await producer.connect();
    const good = { ts: 1, src: '10.0.0.1', dst: '10.0.0.2', sport: 1025, dport: 80, flags: 2, seq: 1, ack: 0, len: 0 };
    await producer.send({ topic: `${id}.in`, messages: [{ value: JSON.stringify(good) }, { value: 'not json {' }, { value: JSON.stringify({ ...good, ts: 2 }) }] });
    await producer.disconnect();
    await load(nodes, [
      { id: 'k', type: 'tcpreuse-kafka', brokers: BROKERS },
      { id: 'in', type: 'tcpreuse-kafka-in', kafka: 'k', topic: `${id}.in`, group: `${id}.g`, format: 'json', wires: [['pk']] },
      { id: 'pk', type: 'helper' },
      { id: 'c', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper' },
    ]);
    const [pk, caught] = ['pk', 'caught'].map(collect);
    await until(() => pk.length === 2 && caught.length === 1, 30000);
    expect((caught[0].error as { message: string }).message).toMatch(new RegExp(`${id}\\.in/0@1: not JSON`));
    expect(pk.map((m) => (m.payload as { ts: number }).ts)).toEqual([1, 2]);
  });
});

describeKafka('kafka in: back-pressure and clean shutdown', () => {
  test('a queue limit below the batch pauses the consumer, resumes it, and loses nothing', async () => {
    const id = uniqueName('nrq');
    await createTopic(`${id}.in`, 1);
    const producer = kafka().producer();
    await producer.connect();
    const good = { ts: 1, src: '10.0.0.1', dst: '10.0.0.2', sport: 1025, dport: 80, flags: 2, seq: 1, ack: 0, len: 0 };
    await producer.send({ topic: `${id}.in`, messages: Array.from({ length: 300 }, (_, i) => ({ value: JSON.stringify({ ...good, ts: i + 1 }) })) });
    await producer.disconnect();
    await load(nodes, [
      { id: 'k', type: 'tcpreuse-kafka', brokers: BROKERS },
      { id: 'in', type: 'tcpreuse-kafka-in', kafka: 'k', topic: `${id}.in`, group: `${id}.g`, format: 'json', maxQueue: '20', wires: [['pk']] },
      { id: 'pk', type: 'helper' },
    ]);
    const statuses: string[] = [];
    const inNode = helper.getNode('in') as unknown as { status(s: { text?: string }): void };
    const realStatus = inNode.status.bind(inNode);
    inNode.status = (st) => {
      statuses.push(st.text ?? '');
      realStatus(st);
    };
    const pk = collect('pk');
    await until(() => pk.length === 300, 30000);
    expect(pk.map((m) => (m.payload as { ts: number }).ts)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    expect(statuses.some((t) => /paused/.test(t))).toBe(true);
  });

  test('closing the flow leaves no consumer in the group', async () => {
    const id = uniqueName('nrc');
    await createTopic(`${id}.in`, 1);
    await load(nodes, [
      { id: 'k', type: 'tcpreuse-kafka', brokers: BROKERS },
      { id: 'in', type: 'tcpreuse-kafka-in', kafka: 'k', topic: `${id}.in`, group: `${id}.g`, format: 'json', wires: [[]] },
    ]);
    const admin = kafka().admin();
    await admin.connect();
    try {
      const members = async () => (await admin.describeGroups([`${id}.g`])).groups[0].members.length;
      const t0 = Date.now();
      while ((await members()) === 0 && Date.now() - t0 < 30000) await new Promise((r) => setTimeout(r, 200));
      expect(await members()).toBe(1);
      await helper.unload();
      expect(await members()).toBe(0);
    } finally {
      await admin.disconnect();
    }
  });
});

describe('Kafka nodes with the broker down or misconfigured', () => {
  test('kafka in: an unreachable broker turns the status red and it keeps retrying', async () => {
    await load(nodes, [
      { id: 'k', type: 'tcpreuse-kafka', brokers: '127.0.0.1:1' },
      { id: 'in', type: 'tcpreuse-kafka-in', kafka: 'k', topic: 't', format: 'json', wires: [[]] },
    ]);
    const statuses: { fill?: string; text?: string }[] = [];
    const inNode = helper.getNode('in') as unknown as { status(s: { fill?: string; text?: string }): void };
    const realStatus = inNode.status.bind(inNode);
    inNode.status = (st) => {
      statuses.push(st);
      realStatus(st);
    };
    await until(() => statuses.some((st) => st.fill === 'red' && /disconnected/.test(st.text ?? '')), 60000);
  }, 90000);

  test('kafka out: a write to an unreachable broker fails through done(err) to a Catch node', async () => {
    await load(nodes, [
      { id: 'k', type: 'tcpreuse-kafka', brokers: '127.0.0.1:1' },
      { id: 'out', type: 'tcpreuse-kafka-out', kafka: 'k', topic: 't' },
      { id: 'c', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper' },
    ]);
    const caught = collect('caught');
    helper.getNode('out').receive({ payload: 'hello' });
    await until(() => caught.length === 1, 60000);
    expect((caught[0].error as { message: string }).message).toMatch(/connect|ECONNREFUSED|broker/i);
  }, 90000);

  test('kafka out without a topic, and a config with a bad broker address, are clear errors', async () => {
    await load(nodes, [
      { id: 'k', type: 'tcpreuse-kafka', brokers: 'nocolon' },
      { id: 'out', type: 'tcpreuse-kafka-out', kafka: 'k' },
      { id: 'out2', type: 'tcpreuse-kafka-out', kafka: 'k', topic: 't' },
      { id: 'c', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper' },
    ]);
    const caught = collect('caught');
    helper.getNode('out').receive({ payload: 'x' });
    helper.getNode('out2').receive({ payload: 'x' });
    await until(() => caught.length === 2);
    const messages = caught.map((m) => (m.error as { message: string }).message).sort();
    expect(messages[0]).toMatch(/no topic/);
    expect(messages[1]).toMatch(/broker "nocolon" is not host:port/);
  });
});
