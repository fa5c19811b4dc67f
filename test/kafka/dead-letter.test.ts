import { join } from 'node:path';
import { lastValueFrom, toArray } from 'rxjs';
import { encodeBatch, encodePacket } from '../../src/avro/packet-schemas';
import { readCapture, type CapturedFrame } from '../../src/capture/pcap-reader';
import { FrameDecoder } from '../../src/decode/frame-decoder';
import { encodePcapRecord } from '../../src/ingest/pcap-record';
import { DLQ_HEADERS } from '../../src/kafka/dead-letter';
import { addressPairKey, partitionOf } from '../../src/kafka/replay';
import type { TcpReuseEvent } from '../../src/model/events';
import type { PacketRecord } from '../../src/model/packet-record';
import { cli, createTopic, describeKafka, kafka, readTopic, uniqueName } from '../helpers/kafka';
import { analyzeCapture, CAPTURES } from '../helpers/run';

const CAPTURE = join(CAPTURES, 'rst-then-reuse.pcap.gz');
const PARTITIONS = 3;

type Format = 'json' | 'avro' | 'pcap-record';
interface Msg {
  partition: number;
  key: string | null;
  value: Buffer | string | null;
  headers: Record<string, string>;
}

const sample: PacketRecord = { ts: 1, src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 2, flags: 2, seq: 0, ack: 0, len: 0 };
/** Five years ahead of now: a sensor clock fault, which would move event time for every flow. */
const FUTURE_US = Date.now() * 1000 + 5 * 365 * 86_400_000_000;

/** Garbage of every kind a format can receive, each tagged so its dead-letter record can be matched. */
function garbage(format: Format, frame: CapturedFrame): (Buffer | string | null)[] {
  const common = [null, '', Buffer.from([0xff, 0x00, 0x13, 0x37, 0x42])];
  if (format === 'json') {
    return [...common, 'not json {', '{"ts":"yesterday","src":"a","dst":"b","sport":1,"dport":2,"flags":2,"seq":0,"ack":0,"len":0}', '{}', `[${JSON.stringify(sample)}, 5]`, '42', JSON.stringify({ ...sample, sport: 70000 }), JSON.stringify({ ...sample, ts: FUTURE_US })];
  }
  if (format === 'avro') {
    const batch = encodeBatch([sample, sample]);
    return [...common, batch.subarray(0, batch.length - 4), Buffer.concat([encodePacket(sample), Buffer.from([7])]), encodePacket({ ...sample, sport: 70000 }), Buffer.from('{"json":"not avro"}'), encodeBatch([sample, { ...sample, ts: FUTURE_US }])];
  }
  const whole = encodePcapRecord(frame.ts, frame.data);
  return [...common, whole.subarray(0, 30), encodePcapRecord(frame.ts, frame.data.subarray(0, 20)), Buffer.concat([whole, Buffer.from([1, 2, 3])]), encodePcapRecord(FUTURE_US, frame.data)];
}

async function salt(topic: string, format: Format): Promise<{ bad: Set<string> }> {
  const frames = await lastValueFrom(readCapture(CAPTURE).pipe(toArray()));
  const decoder = new FrameDecoder();
  const msgs: Msg[] = [];
  const bad = new Set<string>();
  let g = 0;
  const junk = garbage(format, frames[0]);
  frames.forEach((f, i) => {
    const p = decoder.decode(f);
    if (!p) return;
    const key = addressPairKey(p);
    const value = format === 'json' ? JSON.stringify(p) : format === 'avro' ? encodePacket(p) : encodePcapRecord(f.ts, f.data);
    msgs.push({ partition: partitionOf(key, PARTITIONS), key, value, headers: {} });
    if (i % 7 === 3) {
      const id = `junk-${g}`;
      bad.add(id);
      msgs.push({ partition: g % PARTITIONS, key: null, value: junk[g % junk.length], headers: { 'test-id': id } });
      g++;
    }
  });
  await createTopic(topic, PARTITIONS);
  const producer = kafka().producer();
  await producer.connect();
  for (let i = 0; i < msgs.length; i += 200) {
    await producer.send({ topic, acks: -1, messages: msgs.slice(i, i + 200).map((m) => ({ ...m, value: m.value as Buffer | string | null })) });
  }
  await producer.disconnect();
  return { bad };
}

describeKafka('bad input goes to the dead-letter topic, the rest is analysed', () => {
  test.each(['json', 'avro', 'pcap-record'] as Format[])('%s topic salted with garbage of every kind', async (format) => {
    const id = uniqueName('dlq');
    const { bad } = await salt(`${id}.in`, format);
    await cli(['consume', '--topic', `${id}.in`, '--group', `${id}.g`, '--input-format', format, '--until-end', '--no-metrics', '--sensor', 'cap',
      '--flows-topic', `${id}.flows`, '--alerts-topic', `${id}.alerts`, '--dlq-topic', `${id}.dlq`, '--log-level', 'error']);
    const dlq = await readTopic(`${id}.dlq`);
    // Exactly the garbage, each with its origin and a reason.
    expect(new Set(dlq.map((m) => m.headers['test-id']))).toEqual(bad);
    expect(dlq).toHaveLength(bad.size);
    for (const m of dlq) {
      expect(m.headers[DLQ_HEADERS.topic]).toBe(`${id}.in`);
      expect(Number(m.headers[DLQ_HEADERS.partition])).toBeGreaterThanOrEqual(0);
      expect(Number(m.headers[DLQ_HEADERS.offset])).toBeGreaterThanOrEqual(0);
      expect(m.headers[DLQ_HEADERS.error].length).toBeGreaterThan(5);
      expect(m.headers[DLQ_HEADERS.format]).toBe(format);
    }
    expect(dlq.filter((m) => /s ahead of this machine's clock/.test(m.headers[DLQ_HEADERS.error])).length).toBeGreaterThan(0);
    // Every reason is one printable line (decoder messages can quote payload bytes and newlines).
    for (const m of dlq) expect(m.headers[DLQ_HEADERS.error]).toMatch(/^[^\u0000-\u001f\u007f]+$/);
    // The good messages give exactly what analyze gives on the capture.
    let want = await analyzeCapture(CAPTURE, { sensor: 'cap' });
    const got = [...(await readTopic(`${id}.flows`)), ...(await readTopic(`${id}.alerts`))].map((m) => JSON.parse(m.value.toString()) as TcpReuseEvent);
    // Messages built here carry no frame number for pcap-record (raw frames have none).
    if (format === 'pcap-record') want = want.map((e) => ('frame' in e ? ({ ...e, frame: null } as TcpReuseEvent) : e));
    expect(got.map((e) => JSON.stringify(e)).sort()).toEqual(want.map((e) => JSON.stringify(e)).sort());
  });
});

describeKafka('an oversized bad message never stops consuming', () => {
  async function withHugeMessage(topic: string): Promise<void> {
    await createTopic(topic, 1, { 'max.message.bytes': String(10 * 1024 * 1024) });
    const producer = kafka().producer();
    await producer.connect();
    const good = (i: number): string => JSON.stringify({ ...sample, ts: 1_700_000_000_000_000 + i, sport: 1000 + i });
    await producer.send({ topic, acks: -1, messages: [{ value: good(0) }, { value: Buffer.alloc(5 * 1024 * 1024, 0x41), headers: { 'test-id': 'huge' } }, { value: good(1) }] });
    await producer.disconnect();
  }

  test.each([[false], [true]])('a 5 MB message in a topic that allows 10 MB (scaled: %s): dead-lettered whole, the rest analysed', async (scaled) => {
    const id = uniqueName('big');
    await withHugeMessage(`${id}.in`);
    const mode = scaled ? ['--app-id', `${id}.app`] : ['--group', `${id}.g`];
    await cli(['consume', '--topic', `${id}.in`, ...mode, '--input-format', 'json', '--until-end', '--no-metrics', '--flows-topic', `${id}.flows`, '--alerts-topic', `${id}.alerts`,
      '--dlq-topic', `${id}.dlq`, '--log-level', 'error']);
    const dlq = await readTopic(`${id}.dlq`);
    expect(dlq.map((m) => [m.headers['test-id'], m.value.length, m.headers[DLQ_HEADERS.truncated]])).toEqual([['huge', 5 * 1024 * 1024, undefined]]);
    expect((await readTopic(`${id}.flows`)).length).toBe(4); // both good SYNs: an open and a close each
  });

  test('a dead-letter topic that exists with a smaller limit gets a copy cut to fit, with the original size in a header', async () => {
    const id = uniqueName('big');
    await withHugeMessage(`${id}.in`);
    await createTopic(`${id}.dlq`, 1); // the broker's default limit, 1 MB
    await cli(['consume', '--topic', `${id}.in`, '--group', `${id}.g`, '--input-format', 'json', '--until-end', '--no-metrics', '--flows-topic', `${id}.flows`,
      '--alerts-topic', `${id}.alerts`, '--dlq-topic', `${id}.dlq`, '--log-level', 'error']);
    const [m, ...more] = await readTopic(`${id}.dlq`);
    expect(more).toHaveLength(0);
    expect(m.headers['test-id']).toBe('huge');
    expect(m.headers[DLQ_HEADERS.truncated]).toBe(String(5 * 1024 * 1024));
    expect(m.value.length).toBeLessThan(1024 * 1024);
    expect(m.value.length).toBeGreaterThan(900 * 1024);
    expect((await readTopic(`${id}.flows`)).length).toBe(4);
  });
});
