import type { OutgoingMessage } from '../src/kafka/client';
import { packMessages, unpackMessages } from '../src/kafka/message-pack';
import { produceSlices } from '../src/kafka/produce-slices';

describe('message-pack (to the producer thread)', () => {
  test('keys, values, partitions, timestamps and headers survive, as bytes, in order', () => {
    const big = 'x'.repeat(100_000); // grows the buffer past its first size
    const messages: OutgoingMessage[] = [
      { topic: 'flows', key: 'default|10.0.0.1|1|10.0.0.2|2', value: '{"type":"flow.open"}', timestampMs: 1_700_000_000_123, headers: { 'tcpreuse-type': 'flow.open' } },
      { topic: 'dlq', key: null, value: Buffer.from([0, 255, 1]), timestampMs: 0, partition: 2, headers: { 'tcpreuse-dlq-error': 'bad ü "quote"' } },
      { topic: 'flows', key: Buffer.from('k'), value: big, timestampMs: 5 },
      { topic: 'alerts', key: 'ünïcode 😀', value: '', timestampMs: 7.5 },
      { topic: 'flows', key: 'task@1#0', value: null, timestampMs: 9 }, // a tombstone: no value at all, not an empty one
    ];
    const packed = packMessages(messages);
    expect(packed.topics).toEqual(['flows', 'dlq', 'alerts']);
    const back = unpackMessages(packed);
    expect(back).toHaveLength(messages.length);
    back.forEach((m, i) => {
      const want = messages[i];
      expect(m.topic).toBe(want.topic);
      expect(m.partition).toBe(want.partition);
      expect(m.timestampMs).toBe(want.timestampMs);
      expect(m.key === null ? null : Buffer.from(m.key).toString('utf8')).toBe(want.key === null ? null : Buffer.from(want.key).toString('utf8'));
      if (want.value === null) expect(m.value).toBeNull();
      else expect(Buffer.compare(Buffer.from(m.value!), Buffer.from(want.value))).toBe(0);
      expect(m.headers).toEqual(want.headers);
    });
  });
});

describe('produceSlices', () => {
  const m = (topic: string, partition: number | undefined, size: number, n: number): OutgoingMessage => ({ topic, partition, key: null, value: 'v'.repeat(size), timestampMs: n });

  test('a request holds up to the budget per partition; order is kept; unknown partitions share one budget', () => {
    // budget 1000 bytes per partition; each message is 400 + 64 bytes.
    const msgs = [m('a', 0, 400, 1), m('a', 1, 400, 2), m('a', 0, 400, 3), m('a', 1, 400, 4), m('a', 0, 400, 5), m('b', undefined, 400, 6), m('b', undefined, 400, 7), m('b', undefined, 400, 8)];
    const slices = produceSlices(msgs, 1000);
    expect(slices.map((s) => s.map((x) => x.timestampMs))).toEqual([[1, 2, 3, 4], [5, 6, 7], [8]]);
    expect(slices.flat()).toEqual(msgs);
    // One message larger than the budget still goes (alone in its partition's share).
    expect(produceSlices([m('a', 0, 5000, 1), m('a', 0, 10, 2)], 1000).map((s) => s.length)).toEqual([1, 1]);
  });
});

describe('packEventRecord (events written straight into the pack)', () => {
  test('key, value (JSON as eventJson prints it, or Avro), event-time timestamp and type header, for every event of a capture', async () => {
    const { analyzeCapture, capturePath } = await import('./helpers/run');
    const { EVENT_TYPE_HEADER, eventKey, packEventRecord } = await import('../src/kafka/event-records');
    const { eventJson } = await import('../src/model/event-json');
    const { encodeEvent } = await import('../src/avro/event-schemas');
    const { MessagePacker } = await import('../src/kafka/message-pack');
    const events = await analyzeCapture(capturePath('nat-collision'), { annotate: true });
    for (const format of ['json', 'avro'] as const) {
      const packer = new MessagePacker();
      for (const e of events) packEventRecord(packer, e, `out.${e.type}`, format);
      const back = unpackMessages(packer.finish());
      expect(back).toHaveLength(events.length);
      back.forEach((m, i) => {
        const e = events[i];
        const want = { topic: `out.${e.type}`, key: eventKey(e), value: format === 'avro' ? encodeEvent(e) : eventJson(e), timestampMs: Math.floor(e.ts / 1000), headers: { [EVENT_TYPE_HEADER]: e.type } };
        expect({ ...m, key: m.key!.toString(), value: Buffer.from(m.value!) }).toEqual({ ...want, partition: undefined, key: want.key, value: Buffer.from(want.value) });
      });
      expect([...packer.tally.values()].reduce((a, b) => a + b, 0)).toBe(events.length);
    }
  });
});
