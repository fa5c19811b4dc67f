import type { ConsumedMessage } from '../src/kafka/client';
import { MessagePacker, unpackMessages } from '../src/kafka/message-pack';
import { FeedItemWriter, readFeedItems } from '../src/kafka/scaled/feed-codec';
import { FEED_HEADERS, FeedBatches, FeedRecordError, packFeedMark, parseFeedRecord, type FeedItem } from '../src/kafka/scaled/feed-records';
import { keyPartition } from '../src/kafka/wire/murmur2';
import type { ClientFeedEvent } from '../src/stages/client-stage';

/** A seeded stream of feed events: several sensors and clients, addresses of both families, some non-ASCII sensor names. */
function events(n: number, seed: number): ClientFeedEvent[] {
  let s = seed;
  const rnd = (k: number): number => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s % k;
  };
  const sensors = ['tap-1', 'tap-2', 'capteur-é', '🛰️-uplink'];
  const ip = (): string => (rnd(2) === 0 ? `10.${rnd(4)}.${rnd(256)}.${rnd(256)}` : `2001:db8::${rnd(65536).toString(16)}`);
  const out: ClientFeedEvent[] = [];
  let ts = 1_700_000_000_000_000;
  for (let i = 0; i < n; i++) {
    ts += rnd(5000) + 0.25; // fractions of a microsecond survive too
    const common = { ts, sensor: sensors[rnd(sensors.length)], client: { ip: ip(), port: 1024 + rnd(64000) }, server: { ip: ip(), port: rnd(2) ? 443 : 65535 } };
    out.push(rnd(4) === 0 ? { type: 'port.reuse', ...common, severity: (['info', 'low', 'medium', 'high'] as const)[rnd(4)] } : { type: 'flow.open', ...common, openedBy: (['syn', 'synack', 'midstream'] as const)[rnd(3)] });
  }
  return out;
}

const consumed = (m: { value: Uint8Array | string | null; headers?: Record<string, string> }, offset = '7'): ConsumedMessage => ({
  offset,
  key: null,
  value: m.value === null ? null : Buffer.from(m.value),
  timestampMs: 0,
  headers: m.headers ?? {},
});

describe('clients-topic feed records', () => {
  test('items written by partition come back as the fields the client stage reads, in sequence order, each in its client\'s partition', () => {
    const partitions = 5;
    const feed = new FeedBatches(partitions);
    const sent = events(3000, 42);
    sent.forEach((e, i) => feed.add(100 + 2 * i, e)); // sequence numbers with gaps, as when other events are between them
    const packer = new MessagePacker();
    feed.writeTo(packer, 'app.clients-repartition', 'input/3');
    expect(feed.pending).toBe(false);
    const records = unpackMessages(packer.finish());
    const got: FeedItem[] = [];
    for (const r of records) {
      expect(r.topic).toBe('app.clients-repartition');
      const parsed = parseFeedRecord(consumed({ value: r.value, headers: r.headers as Record<string, string> }));
      if (parsed.kind !== 'items') throw new Error('not items');
      expect(parsed.from).toBe('input/3');
      for (const item of parsed.items) {
        const key = Buffer.from(`${item.event.sensor}|${item.event.client.ip}`);
        expect(keyPartition(key, partitions, key.length)).toBe(r.partition);
      }
      const seqs = parsed.items.map((i) => i.seq);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      got.push(...parsed.items);
    }
    got.sort((a, b) => a.seq - b.seq);
    expect(got.map((i) => i.seq)).toEqual(sent.map((_, i) => 100 + 2 * i));
    expect(got.map((i) => i.event)).toEqual(sent);
  });

  test('a partition with more than a record holds is split, its records in order', () => {
    const feed = new FeedBatches(1);
    const sent = events(20_000, 7);
    sent.forEach((e, i) => feed.add(i, e));
    const packer = new MessagePacker();
    feed.writeTo(packer, 't', 'in/0');
    const records = unpackMessages(packer.finish());
    expect(records.length).toBeGreaterThan(1);
    const items = records.flatMap((r) => {
      const p = parseFeedRecord(consumed({ value: r.value, headers: r.headers as Record<string, string> }));
      return p.kind === 'items' ? p.items : [];
    });
    expect(items.map((i) => i.seq)).toEqual(sent.map((_, i) => i));
    for (const r of records) expect(r.value!.length).toBeLessThan(300 * 1024);
  });

  test('marks carry the watermark and flags', () => {
    const packer = new MessagePacker();
    packFeedMark(packer, 't', 2, 'in/1', 1_700_000_000_000_000, true, false);
    const [r] = unpackMessages(packer.finish());
    expect(r.partition).toBe(2);
    expect(parseFeedRecord(consumed({ value: r.value, headers: r.headers as Record<string, string> }))).toEqual({ kind: 'mark', from: 'in/1', ts: 1_700_000_000_000_000, idle: true, final: false });
  });

  test('JSON records of earlier versions are still read', () => {
    const [a, b] = events(2, 3);
    const list = parseFeedRecord(consumed({ value: JSON.stringify([[5, a], [9, b]]), headers: { [FEED_HEADERS.from]: 'in/0', [FEED_HEADERS.items]: '2' } }));
    expect(list).toEqual({ kind: 'items', from: 'in/0', items: [{ seq: 5, event: a }, { seq: 9, event: b }] });
    const one = parseFeedRecord(consumed({ value: JSON.stringify(a), headers: { [FEED_HEADERS.from]: 'in/0', [FEED_HEADERS.seq]: '11' } }));
    expect(one).toEqual({ kind: 'items', from: 'in/0', items: [{ seq: 11, event: a }] });
  });

  test('damaged or foreign records are refused with the offset and what is wrong, never misread', () => {
    const w = new FeedItemWriter();
    for (const [i, e] of events(20, 9).entries()) w.add(i * 3, e);
    const good = Buffer.from(w.bytes());
    expect(readFeedItems(good, '1')).toHaveLength(20);
    const headers = { [FEED_HEADERS.from]: 'in/0', [FEED_HEADERS.items]: '20', [FEED_HEADERS.format]: 'bin1' };
    const refused = (value: Buffer | null, h: Record<string, string> = headers): string => {
      try {
        parseFeedRecord(consumed({ value, headers: h }, '99'));
      } catch (err) {
        expect(err).toBeInstanceOf(FeedRecordError);
        return (err as Error).message;
      }
      throw new Error('accepted');
    };
    // Cut anywhere inside an item: refused (a cut between items is caught by the item count).
    for (let cut = 1; cut < good.length; cut += 7) expect(refused(good.subarray(0, cut))).toMatch(/^offset 99: /);
    expect(refused(good, { ...headers, [FEED_HEADERS.items]: '21' })).toMatch(/20 items, the header says 21/);
    expect(refused(Buffer.concat([Buffer.from([2]), good.subarray(1)]))).toMatch(/feed format 2/);
    expect(refused(good, { ...headers, [FEED_HEADERS.format]: 'bin9' })).toMatch(/feed format bin9/);
    expect(refused(null)).toMatch(/no value/);
    expect(refused(good, { [FEED_HEADERS.items]: '20' })).toMatch(/no tcpreuse-from header/);
    // A string reference to a string not defined yet.
    const badRef = Buffer.from([1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5]);
    expect(refused(badRef, { ...headers, [FEED_HEADERS.items]: '1' })).toMatch(/string 5 before its definition/);
    // An unknown opening kind.
    const badKind = Buffer.from(good);
    badKind[2] = 0x07;
    expect(refused(badKind)).toMatch(/opening 7/);
  });

  test('sequence numbers that go back are a bug of the writer, thrown at once', () => {
    const w = new FeedItemWriter();
    const [a, b] = events(2, 1);
    w.add(10, a);
    expect(() => w.add(9, b)).toThrow(/go back/);
  });
});
