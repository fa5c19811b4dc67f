import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { join } from 'node:path';
import type { TcpReuseEvent } from '../../src/model/events';
import { cli, describeKafka, kafka, readTopic, uniqueName, BROKERS } from '../helpers/kafka';
import { analyzeCapture, ROOT } from '../helpers/run';

/**
 * Avro through the real Schema Registry (Apicurio Registry 3.0.9, its Confluent-compatible API,
 * started by docker/registry/registry.sh in jest's global setup): replay registers the packet
 * schema and frames its messages, consume reads them by schema id and writes events framed with
 * the event schema it registered; an independent registry client decodes the output topics.
 */
const REGISTRY = process.env.TCPREUSE_REGISTRY_URL || null;
if (BROKERS && !REGISTRY && process.env.CI) throw new Error('CI must run the Schema Registry tests (globalSetup starts the registry)');
const describeRegistry = BROKERS && REGISTRY ? describeKafka : describe.skip;
const CAPTURE = join(ROOT, 'samples', 'sample.pcap');

/** An output record as the registry client decodes it ({ event: { <branch>: event } }): the event. */
function unwrap(decoded: { event: Record<string, unknown> }): TcpReuseEvent {
  const branches = Object.keys(decoded.event);
  expect(branches).toHaveLength(1);
  expect(branches[0]).toMatch(/^io\.tcpreuse\./);
  return decoded.event[branches[0]] as TcpReuseEvent;
}

const canonical = (events: TcpReuseEvent[]): string[] => events.map((e) => JSON.stringify(e)).sort();

async function consume(id: string, extra: string[]): Promise<string> {
  const r = await cli(['consume', '--topic', `${id}.in`, '--group', `${id}.g`, '--until-end', '--no-metrics', '--sensor', 'cap',
    '--flows-topic', `${id}.flows`, '--alerts-topic', `${id}.alerts`, '--dlq-topic', `${id}.dlq`, '--log-level', 'info', ...extra]);
  return r.stderr;
}

describeRegistry('Avro through the Schema Registry', () => {
  test.each([
    ['batches of 50', '50', false],
    ['one record per message', '1', false],
    ['scaled consumer (--app-id)', '50', true],
  ])('replay → consume → a registry client reads back what analyze --json prints (%s)', async (_how, batch, scaled) => {
    const id = uniqueName('sr');
    await cli(['replay', CAPTURE, '--topic', `${id}.in`, '--batch-size', batch, '--schema-registry', REGISTRY!, '--log-level', 'warn']);
    await consume(id, ['--schema-registry', REGISTRY!, '--output-format', 'avro', ...(scaled ? ['--app-id', `${id}.app`] : [])]);
    const registry = new SchemaRegistry({ host: REGISTRY! });
    const read = async (topic: string): Promise<TcpReuseEvent[]> => Promise.all((await readTopic(topic)).map(async (m) => unwrap(await registry.decode(m.value))));
    const [flows, alerts, dlq] = [await read(`${id}.flows`), await read(`${id}.alerts`), await readTopic(`${id}.dlq`)];
    // Scaled mode numbers Wireshark streams per partition (the contract says so): compared without them.
    const view = (events: TcpReuseEvent[]): TcpReuseEvent[] => (scaled ? events.map((e) => ({ ...e, stream: 0, previousStream: 0 }) as TcpReuseEvent) : events);
    const want = await analyzeCapture(CAPTURE, { sensor: 'cap' });
    const isFlow = (e: TcpReuseEvent) => e.type === 'flow.open' || e.type === 'flow.close';
    expect(dlq).toHaveLength(0);
    expect(canonical(view(flows))).toEqual(canonical(view(want.filter(isFlow))));
    expect(canonical(view(alerts))).toEqual(canonical(view(want.filter((e) => !isFlow(e)))));
    // TopicNameStrategy: the input's and each output's value schema under <topic>-value.
    for (const topic of [`${id}.in`, `${id}.flows`, `${id}.alerts`]) expect(await registry.getLatestSchemaId(`${topic}-value`)).toBeGreaterThan(0);
  });

  test('an unknown schema id, and a message not in the wire format, are dead-lettered with the reason; the rest is consumed', async () => {
    const id = uniqueName('srbad');
    await cli(['replay', CAPTURE, '--topic', `${id}.in`, '--partitions', '1', '--schema-registry', REGISTRY!, '--log-level', 'warn']);
    const producer = kafka().producer();
    await producer.connect();
    await producer.send({ topic: `${id}.in`, messages: [{ value: Buffer.from([0, 0x7f, 0xff, 0xff, 0x01, 1, 2, 3]) }, { value: Buffer.from('plain avro, no header') }] });
    await producer.disconnect();
    const log = await consume(id, ['--schema-registry', REGISTRY!]);
    const dlq = await readTopic(`${id}.dlq`);
    expect(dlq.map((m) => String(m.headers?.['tcpreuse-dlq-error'])).sort()).toEqual([
      expect.stringMatching(/not in the Schema Registry wire format/),
      expect.stringMatching(/schema id 2147483393 is unknown to the registry/),
    ]);
    const want = await analyzeCapture(CAPTURE, { sensor: 'cap' });
    expect((await readTopic(`${id}.alerts`)).length).toBe(want.filter((e) => !(e.type === 'flow.open' || e.type === 'flow.close')).length);
    expect(log).toMatch(/"msg":"stopped".*"deadLettered":2/);
  });

  test('a registry that does not answer: retried, then the messages are dead-lettered with why; consuming does not stop', async () => {
    const id = uniqueName('srdown');
    await cli(['replay', CAPTURE, '--topic', `${id}.in`, '--partitions', '1', '--batch-size', '100', '--schema-registry', REGISTRY!, '--log-level', 'warn']);
    const t0 = Date.now();
    const log = await consume(id, ['--schema-registry', 'http://127.0.0.1:9/apis/ccompat/v7', '--schema-registry-retry', '1']);
    const dlq = await readTopic(`${id}.dlq`);
    expect(dlq.length).toBeGreaterThan(0);
    for (const m of dlq) expect(String(m.headers?.['tcpreuse-dlq-error'])).toMatch(/schema registry at http:\/\/127\.0\.0\.1:9\/apis\/ccompat\/v7 did not answer for schema id \d+ within 1 s/);
    expect(log).toMatch(/schema registry not answering, retrying/);
    expect(log).toMatch(new RegExp(`"msg":"stopped".*"deadLettered":${dlq.length}`));
    expect(Date.now() - t0).toBeLessThan(60_000);
  });
});
