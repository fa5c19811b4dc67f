/**
 * The wire producer's encoders against independent references: the CRC-32C check value, kafkajs's
 * murmur2 (Java-compatible), and kafkajs's record-batch decoder reading our batches back.
 */
import { randomBytes } from 'node:crypto';
import type { OutgoingMessage } from '../src/kafka/client';
import { registerCodecs } from '../src/kafka/codecs';
import { varintSize, Writer } from '../src/kafka/wire/bytes';
import { crc32c } from '../src/kafka/wire/crc32c';
import { keyPartition, murmur2 } from '../src/kafka/wire/murmur2';
import { encodeRecordBatch } from '../src/kafka/wire/record-batch';

/* eslint-disable @typescript-eslint/no-require-imports */
const kafkajsMurmur2 = require('kafkajs/src/producer/partitioners/default/murmur2') as (key: Buffer) => number;
const kafkajsDecoder = require('kafkajs/src/protocol/decoder') as new (b: Buffer) => unknown;
const kafkajsRecordBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder') as (d: unknown) => Promise<{
  firstOffset: string;
  firstTimestamp: string;
  maxTimestamp: string;
  producerId: string;
  producerEpoch: number;
  firstSequence: number;
  lastOffsetDelta: number;
  records: { key: Buffer | null; value: Buffer; timestamp: string; offset: string; headers: Record<string, Buffer> }[];
}>;

describe('crc32c', () => {
  test('the Castagnoli check value, and every start/end alignment against a bytewise reference', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    const bytewise = (b: Buffer, s: number, e: number): number => {
      let c = ~0;
      for (let i = s; i < e; i++) {
        c ^= b[i];
        for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
      }
      return ~c >>> 0;
    };
    const data = randomBytes(100);
    for (let s = 0; s < 9; s++) for (let e = s; e <= 100; e += 7) expect(crc32c(data, s, e)).toBe(bytewise(data, s, e));
  });
});

describe('murmur2 partitioner', () => {
  test('matches kafkajs (the Java client) on keys of every length', () => {
    for (let n = 0; n < 64; n++) {
      const key = randomBytes(n);
      expect(murmur2(key)).toBe(kafkajsMurmur2(key) | 0);
    }
    const key = Buffer.from('default|10.0.0.1|1025|10.0.0.2|80');
    expect(keyPartition(key, 7)).toBe((kafkajsMurmur2(key) & 0x7fffffff) % 7);
  });
});

describe('zig-zag varints', () => {
  test.each([0, 1, -1, 63, 64, -64, -65, 2 ** 30, -(2 ** 30), 2 ** 31, 2 ** 40 + 3, -(2 ** 45)])('%d round-trips with its size', (v) => {
    const w = new Writer(Buffer.alloc(16));
    w.varint(v);
    expect(w.at).toBe(varintSize(v));
    let z = 0;
    let mul = 1;
    for (let i = 0; i < w.at; i++) {
      z += (w.buf[i] & 0x7f) * mul;
      mul *= 128;
    }
    expect(z % 2 === 0 ? z / 2 : -(z + 1) / 2).toBe(v);
  });
});

describe('record batches', () => {
  const messages: OutgoingMessage[] = [
    { topic: 't', key: 'flow-1', value: '{"type":"flow.open"}', timestampMs: 1_700_000_000_000 },
    { topic: 't', key: null, value: Buffer.from([0, 1, 2, 255]), timestampMs: 1_699_999_999_000 },
    { topic: 't', key: Buffer.from('k€y'), value: 'välue'.repeat(40), timestampMs: 1_700_000_100_500, headers: { 'tcpreuse-error': 'bad ☃', x: '' } },
    { topic: 't', key: 'task@1#0', value: null, timestampMs: 1_700_000_000_001 }, // a tombstone
  ];
  const stamp = { producerId: 4242n, producerEpoch: 3, baseSequence: 17 };

  test.each(['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const)('%s: kafkajs decodes every field back, and the CRC covers the batch', async (compression) => {
    registerCodecs();
    const batch = await encodeRecordBatch(messages, stamp, compression);
    expect(batch.readUInt32BE(17)).toBe(crc32c(batch, 21, batch.length));
    expect(batch.readInt32BE(8)).toBe(batch.length - 12);
    const decoded = await kafkajsRecordBatch(new kafkajsDecoder(batch));
    expect(decoded.producerId).toBe('4242');
    expect(decoded.producerEpoch).toBe(3);
    expect(decoded.firstSequence).toBe(17);
    expect(decoded.lastOffsetDelta).toBe(3);
    expect(decoded.firstTimestamp).toBe('1700000000000');
    expect(decoded.maxTimestamp).toBe('1700000100500');
    expect(decoded.records.map((r) => [r.key?.toString() ?? null, r.value === null ? null : r.value.toString('latin1'), r.timestamp, r.offset])).toEqual(
      messages.map((m, i) => [m.key === null ? null : m.key.toString(), m.value === null ? null : Buffer.from(m.value).toString('latin1'), String(m.timestampMs), String(i)]),
    );
    expect(Object.fromEntries(Object.entries(decoded.records[2].headers).map(([k, v]) => [k, v.toString()]))).toEqual(messages[2].headers);
  });

  test('an empty batch is refused', async () => {
    await expect(encodeRecordBatch([], stamp, 'none')).rejects.toThrow(/at least one record/);
  });
});
