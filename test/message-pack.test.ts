import type { OutgoingMessage } from '../src/kafka/client';
import { packMessages, unpackMessages } from '../src/kafka/message-pack';

describe('message-pack (to the producer thread)', () => {
  test('keys, values, partitions, timestamps and headers survive, as bytes, in order', () => {
    const big = 'x'.repeat(100_000); // grows the buffer past its first size
    const messages: OutgoingMessage[] = [
      { topic: 'flows', key: 'default|10.0.0.1|1|10.0.0.2|2', value: '{"type":"flow.open"}', timestampMs: 1_700_000_000_123, headers: { 'tcpreuse-type': 'flow.open' } },
      { topic: 'dlq', key: null, value: Buffer.from([0, 255, 1]), timestampMs: 0, partition: 2, headers: { 'tcpreuse-dlq-error': 'bad ü "quote"' } },
      { topic: 'flows', key: Buffer.from('k'), value: big, timestampMs: 5 },
      { topic: 'alerts', key: 'ünïcode 😀', value: '', timestampMs: 7.5 },
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
      expect(Buffer.compare(Buffer.from(m.value), Buffer.from(want.value))).toBe(0);
      expect(m.headers).toEqual(want.headers);
    });
  });
});
