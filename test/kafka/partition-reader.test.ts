/**
 * The partition reader (wire ListOffsets + Fetch + record batch decoding) against the real broker:
 * what our producer and kafkajs wrote comes back record for record, with every codec, from any
 * offset, across fetches smaller than a batch, from a compacted topic, and without what an
 * aborted transaction wrote when reading committed data only.
 */
import type { OutgoingMessage } from '../../src/kafka/client';
import { COMPRESSIONS } from '../../src/kafka/codecs';
import { createKafkaClient } from '../../src/kafka/kafka-client';
import { PartitionReader, type ReadRecord } from '../../src/kafka/wire/partition-reader';
import { createLogger } from '../../src/util/logger';
import { BROKERS, createTopic, describeKafka, kafka, uniqueName } from '../helpers/kafka';

const connection = (): { brokers: string[]; clientId: string } => ({ brokers: [BROKERS!], clientId: 'reader-test' });

async function write(messages: OutgoingMessage[], compression: (typeof COMPRESSIONS)[number] = 'none'): Promise<void> {
  const sink = createKafkaClient(connection(), createLogger('warn')).sink({ compression });
  await sink.connect();
  await sink.send(messages);
  await sink.disconnect();
}

async function readAll(topic: string, partition: number, options: Parameters<PartitionReader['read']>[3] = {}): Promise<{ records: ReadRecord[]; endOffset: bigint; fetches: number }> {
  const reader = new PartitionReader(connection(), createLogger('warn'));
  const records: ReadRecord[] = [];
  let fetches = 0;
  try {
    const r = await reader.read(topic, partition, (rs) => (fetches++, records.push(...rs)), options);
    expect(r.records).toBe(records.length);
    return { records, endOffset: r.endOffset, fetches };
  } finally {
    reader.close();
  }
}

const message = (topic: string, i: number): OutgoingMessage => ({
  topic,
  partition: 0,
  key: i % 4 === 0 ? null : `key-${i % 13}`,
  // Empty values and tombstones (no value: what a compacted changelog drops keys with) are different things.
  value: i % 7 === 3 ? null : i % 5 === 0 ? Buffer.alloc(0) : Buffer.from(`value ${i} ${'x'.repeat(i % 300)} ☃`),
  timestampMs: 1_700_000_000_000 + i,
  headers: i % 3 === 0 ? { 'tcpreuse-seq': String(i), empty: '' } : undefined,
});

describeKafka('partition reader against a real broker', () => {
  test.each(COMPRESSIONS)('%s: every record back with its offset, key, value, timestamp and headers', async (compression) => {
    const topic = uniqueName('reader');
    await createTopic(topic, 2);
    const messages = Array.from({ length: 2500 }, (_, i) => message(topic, i));
    await write(messages.slice(0, 1200), compression);
    await write(messages.slice(1200), compression);
    const { records, endOffset } = await readAll(topic, 0);
    expect(endOffset).toBe(2500n);
    expect(records.map((r) => Number(r.offset))).toEqual(messages.map((_, i) => i));
    records.forEach((r, i) => {
      const m = messages[i];
      expect(r.key === null ? null : r.key.toString()).toBe(m.key);
      if (m.value === null) expect(r.value).toBeNull();
      else expect(r.value!.equals(Buffer.from(m.value))).toBe(true);
      expect(r.timestampMs).toBe(m.timestampMs);
      expect(r.headers).toEqual(m.headers ?? {});
    });
    expect((await readAll(topic, 1)).records).toEqual([]); // an empty partition
  });

  test('from an offset, in fetches smaller than one batch', async () => {
    const topic = uniqueName('reader');
    await createTopic(topic, 1);
    for (let i = 0; i < 3000; i += 100) await write(Array.from({ length: 100 }, (_, k) => message(topic, i + k)));
    const { records, fetches } = await readAll(topic, 0, { from: 1234n, fetchBytes: 4096 });
    expect(records.map((r) => Number(r.offset))).toEqual(Array.from({ length: 3000 - 1234 }, (_, i) => 1234 + i));
    expect(fetches).toBeGreaterThan(1);
  });

  test('only committed transactions with readCommitted; everything without', async () => {
    const topic = uniqueName('reader');
    await createTopic(topic, 1);
    const k = kafka();
    const producer = k.producer({ transactionalId: uniqueName('txn'), idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const send = async (commit: boolean, from: number): Promise<void> => {
      const txn = await producer.transaction();
      await txn.send({ topic, messages: Array.from({ length: 10 }, (_, i) => ({ key: 'k', value: `v${from + i}` })) });
      if (commit) await txn.commit();
      else await txn.abort();
    };
    await send(true, 0);
    await send(false, 100);
    await send(true, 200);
    await producer.disconnect();
    const committed = (await readAll(topic, 0, { readCommitted: true })).records.map((r) => r.value!.toString());
    expect(committed).toEqual([...Array.from({ length: 10 }, (_, i) => `v${i}`), ...Array.from({ length: 10 }, (_, i) => `v${200 + i}`)]);
    expect((await readAll(topic, 0)).records).toHaveLength(30);
  });

  test('an unknown topic is an error that names it', async () => {
    const reader = new PartitionReader({ ...connection(), connectionTimeoutMs: 2000 }, createLogger('warn'));
    try {
      await expect(reader.read(uniqueName('missing'), 0, () => undefined)).rejects.toThrow(/missing\.[0-9a-f]+/);
    } finally {
      reader.close();
    }
  });
});
