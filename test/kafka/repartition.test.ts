/**
 * `tcpreuse repartition` against the real broker: input published the way a sensor that batches
 * everything it saw would publish it (one partition, every address pair mixed in each message, a
 * bad message among them) is re-keyed by two instances into `<app-id>.packets-repartition`; the
 * scaled consumer on that topic then gives what `analyze --json` gives on the capture, nothing
 * twice, and the bad message is dead-lettered.
 *
 * One sensor: sensors whose packets share a partition must share a clock and publish in step
 * (docs/scale-out.md, "Clocks"), and two captures replayed one after the other are the opposite.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeBatch } from '../../src/avro/packet-schemas';
import { addressPairKey, partitionOf } from '../../src/kafka/replay';
import type { TcpReuseEvent } from '../../src/model/events';
import { cli, createTopic, describeKafka, kafka, killChildren, readTopicDirect, runCli, uniqueName } from '../helpers/kafka';
import { expectEquivalent, pcapOfPackets, spreadClientScenario } from '../helpers/scaled-analysis';

const dir = mkdtempSync(join(tmpdir(), 'tcpreuse-repartition-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => killChildren());

const parseLines = (text: string): TcpReuseEvent[] =>
  text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as TcpReuseEvent);

describeKafka('repartition: input keyed any way, re-keyed for the scaled consumer', () => {
  test.each([
    ['', false],
    [' (--exactly-once, read committed)', true],
  ])('two repartition instances, then the scaled consumer%s: equal to analyze --json, nothing twice, the bad message dead-lettered', async (_label, eos) => {
    const id = uniqueName(eos ? 'rpx' : 'rp');
    const exactlyOnce = (who: string): string[] => (eos ? ['--exactly-once', '--transactional-id', `${id}.${who}`] : []);
    const read = (t: string): Promise<{ partition: number; value: Buffer }[]> => readTopicDirect(t, undefined, eos);
    // A client whose connections (and port cycle) spread over many servers, with reuses.
    const capture = join(dir, 'spread.pcap');
    writeFileSync(capture, pcapOfPackets(spreadClientScenario(6000)));
    // One partition: every message mixes whatever address pairs the sensor saw.
    const topic = `${id}.in`;
    await createTopic(topic, 1);
    await cli(['replay', capture, '--topic', topic, '--sensor', 'edge', '--batch-size', '300', '--log-level', 'warn', '--quiet']);
    const want = parseLines((await cli(['analyze', capture, '--json', '--sensor', 'edge'])).stdout);
    const producer = kafka().producer();
    await producer.connect();
    await producer.send({ topic, messages: [{ value: Buffer.from('not avro at all') }] });
    await producer.disconnect();

    const common = ['--app-id', `${id}.app`, '--until-end', '--no-metrics', '--session-timeout-ms', '10000', '--log-level', 'info'];
    const repartitioned = await Promise.all([0, 1].map((i) => runCli(['repartition', '--topic', topic, '--partitions', '12', '--dlq-topic', `${id}.dlq`, ...common, ...exactlyOnce(`rp${i}`)]).done));
    for (const r of repartitioned) expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr.slice(-3000) }).toEqual({ code: 0, stderr: '' });
    // One of them had the input partition; the other ended too once it was re-keyed to its end.
    const packetsOf = (stderr: string): number => Number(/"msg":"stopped".*?"packets":(\d+)/.exec(stderr)?.[1] ?? -1);
    expect(repartitioned.map((r) => packetsOf(r.stderr)).reduce((a, b) => a + b)).toBe(want.filter((e) => e.type === 'flow.close').reduce((n, e) => n + (e.type === 'flow.close' ? e.packets.c2s + e.packets.s2c : 0), 0));
    expect((await read(`${id}.dlq`)).length).toBe(1);
    // Every packet is in the partition its sensor and address pair hash to, and they spread.
    const out = await read(`${id}.app.packets-repartition`);
    const misplaced = out.flatMap((m) => decodeBatch(m.value).filter((p) => partitionOf(`${p.sensor ?? ''}|${addressPairKey(p)}`, 12) !== m.partition));
    expect(misplaced).toEqual([]);
    expect(new Set(out.map((m) => m.partition)).size).toBe(12);

    const consumed = await runCli(['consume', '--topic', `${id}.app.packets-repartition`, '--flows-topic', `${id}.flows`, '--alerts-topic', `${id}.alerts`, '--dlq-topic', `${id}.dlq2`, '--checkpoint-interval', '0.5', ...common, ...exactlyOnce('c')]).done;
    expect({ code: consumed.code, stderr: consumed.code === 0 ? '' : consumed.stderr.slice(-3000) }).toEqual({ code: 0, stderr: '' });
    const events = [...(await read(`${id}.flows`)), ...(await read(`${id}.alerts`))].map((m) => JSON.parse(m.value.toString()) as TcpReuseEvent);
    const keys = events.map((e) => JSON.stringify(e));
    expect(keys.length - new Set(keys).size).toBe(0);
    expectEquivalent(events, want);
    expect(want.some((e) => e.type === 'port.cycle') && want.some((e) => e.type === 'port.reuse')).toBe(true);
  }, 300_000);

  test('without --app-id it says what is missing (exit 2, no stack trace)', async () => {
    const r = await runCli(['repartition', '--topic', 'x']).done;
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe("tcpreuse: repartition needs --app-id <app-id> (the scaled consumer's; or TCPREUSE_APP_ID)");
  });
});
