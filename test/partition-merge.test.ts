import { EventTimeMerger, type PendingMessage } from '../src/kafka/partition-merge';
import type { PacketRecord } from '../src/model/packet-record';

const pkt = (ts: number, frame?: number): PacketRecord => ({ ts, src: 'a', dst: 'b', sport: 1, dport: 2, flags: 0, seq: 0, ack: 0, len: 0, ...(frame === undefined ? {} : { frame }) });

/** Deterministic pseudo-random numbers. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

describe('EventTimeMerger', () => {
  test.each([1, 2, 3, 4, 5])('seed %i: releases packets in capture order (ts, then frame), in chunks, with messages completing in offset order', (seed) => {
    const r = rng(seed);
    const keys = ['t/0', 't/1', 't/2'];
    const m = new EventTimeMerger();
    m.assign(keys, 0);
    // A capture spread over partitions: timestamps (often equal) and frame numbers rise overall,
    // each partition keeps its share in capture order; some messages carry no packet.
    const want: PacketRecord[] = [];
    const messages: PendingMessage[][] = keys.map(() => []);
    let ts = 1000;
    let frame = 1;
    for (let off = 0; off < 30; off++) {
      keys.forEach((key, k) => {
        messages[k].push({ partitionKey: key, offset: off, packets: [], next: 0 });
      });
      for (let i = Math.floor(r() * 12); i > 0; i--) {
        ts += Math.floor(r() * 3);
        frame += 1 + Math.floor(r() * 2);
        const p = pkt(ts, frame);
        want.push(p);
        (messages[Math.floor(r() * keys.length)][off].packets as PacketRecord[]).push(p);
      }
    }
    keys.forEach((key, k) => m.add(key, messages[k], true, 0));
    const got: PacketRecord[] = [];
    const completed = new Map<string, number[]>();
    let chunk: number;
    do {
      chunk = m.drain((p) => got.push(p), (msg) => completed.set(msg.partitionKey, [...(completed.get(msg.partitionKey) ?? []), msg.offset]), false, 7);
    } while (chunk > 0);
    expect(got).toEqual(want);
    expect(got.every((p, i) => p === want[i])).toBe(true);
    for (const key of keys) expect(completed.get(key)).toEqual(Array.from({ length: 30 }, (_, i) => i));
    expect(m.buffered).toBe(0);
  });

  test('a partition that may still deliver earlier packets holds the others back until it is caught up or the broker says it is at its end', () => {
    const m = new EventTimeMerger({ idleAfterMs: 1000 });
    m.assign(['t/0', 't/1'], 0);
    m.add('t/0', [{ partitionKey: 't/0', offset: 0, packets: [pkt(5), pkt(6)], next: 0 }], false, 0);
    const got: number[] = [];
    expect(m.drain((p) => got.push(p.ts), () => undefined)).toBe(0); // t/1 has nothing yet
    expect(m.silent(500)).toEqual([]); // not silent long enough to ask about
    expect(m.silent(1000)).toEqual([{ key: 't/1', position: -1 }]); // never fetched
    m.add('t/1', [{ partitionKey: 't/1', offset: 0, packets: [pkt(4)], next: 0 }], false, 1020);
    expect(m.drain((p) => got.push(p.ts), () => undefined)).toBe(1); // 4; then t/1 is empty again
    // Wall time alone (a consumer stopped for seconds) never makes a partition idle.
    expect(m.drain((p) => got.push(p.ts), () => undefined)).toBe(0);
    expect(m.silent(60_000)).toEqual([{ key: 't/1', position: 1 }]);
    m.atEnd('t/1'); // the broker: nothing past offset 1
    expect(m.drain((p) => got.push(p.ts), () => undefined)).toBe(2); // 5, 6
    expect(got).toEqual([4, 5, 6]);
    m.add('t/1', [], false, 70_000); // a later fetch did not reach the end: it holds back again
    m.add('t/0', [{ partitionKey: 't/0', offset: 1, packets: [pkt(9)], next: 0 }], false, 70_000);
    expect(m.drain((p) => got.push(p.ts), () => undefined)).toBe(0);
  });

  test('allCaughtUp: only once the last fetch of every assigned partition reached its end', () => {
    const m = new EventTimeMerger();
    expect(m.allCaughtUp()).toBe(false); // nothing assigned yet
    m.assign(['t/0', 't/1'], 0);
    m.add('t/0', [], true, 0);
    expect(m.allCaughtUp()).toBe(false);
    m.add('t/1', [{ partitionKey: 't/1', offset: 0, packets: [pkt(1)], next: 0 }], true, 0);
    expect(m.allCaughtUp()).toBe(true);
    m.add('t/0', [], false, 1); // more arrived behind it
    expect(m.allCaughtUp()).toBe(false);
  });
});
