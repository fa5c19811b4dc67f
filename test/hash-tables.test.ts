import { endpointFirst, tupleHash } from '../src/flow/tuple-hash';
import { flowIdOf, flowIdFromHash } from '../src/flow/flow-id';
import { NIL, TupleMemory } from '../src/reuse/tuple-memory';
import { fnv1a32 } from '../src/util/fnv';
import { EMPTY, OpenIndex } from '../src/util/open-index';

/** A small deterministic PRNG so failures replay. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('tupleHash', () => {
  it('equals FNV-1a of the "sensor|ipA|portA|ipB|portB" text, so flowIds keep their values', () => {
    const cases: [string, string, number, string, number][] = [
      ['default', '10.0.0.1', 0, '10.0.0.2', 65535],
      ['s', '2001:db8::1', 443, 'fe80::1', 9],
      ['tap|7', '192.0.2.1', 10, '192.0.2.1', 100],
      ['ü', '1.1.1.1', 1, '1.1.1.1', 10000],
    ];
    for (const [sensor, a, pa, b, pb] of cases) {
      expect(tupleHash(sensor, a, pa, b, pb)).toBe(fnv1a32(`${sensor}|${a}|${pa}|${b}|${pb}`));
      expect(flowIdFromHash(tupleHash(sensor, a, pa, b, pb), 1_700_000_000_123_456)).toBe(flowIdOf(`${sensor}|${a}|${pa}|${b}|${pb}`, 1_700_000_000_123_456));
    }
  });

  it('formats the flowId timestamp as toString(16) would, for small, large and odd values', () => {
    for (const ts of [0, 15, 0xffffff, 0x1000000, 1_700_000_000_000_000, Number.MAX_SAFE_INTEGER, 12.5, -3]) {
      expect(flowIdFromHash(0x00ab, ts)).toBe('000000ab-' + ts.toString(16));
    }
    expect(flowIdFromHash(0xffffffff, 1)).toBe('ffffffff-1');
  });

  it('orders endpoints by address, then port', () => {
    expect(endpointFirst('10.0.0.1', 80, '10.0.0.2', 1)).toBe(true);
    expect(endpointFirst('10.0.0.2', 1, '10.0.0.1', 80)).toBe(false);
    expect(endpointFirst('10.0.0.1', 80, '10.0.0.1', 81)).toBe(true);
    expect(endpointFirst('10.0.0.1', 80, '10.0.0.1', 80)).toBe(true);
  });
});

describe('OpenIndex', () => {
  it('finds every live entry through churn, collisions and growth (checked against a Map)', () => {
    const random = rng(7);
    const index = new OpenIndex(4);
    const model = new Map<number, number>(); // entry → hash
    const free: number[] = [];
    const live: number[] = [];
    let next = 0;
    const lookup = (entry: number, hash: number): boolean => {
      for (let s = index.home(hash); index.slots[s] !== EMPTY; s = (s + 2) & index.mask) if (index.slots[s] === entry && index.slots[s + 1] === hash) return true;
      return false;
    };
    for (let step = 0; step < 20_000; step++) {
      if (model.size === 0 || random() < 0.55) {
        const entry = free.pop() ?? next++;
        index.growEntries(next);
        // Few distinct hashes: long probe runs that wrap around, where deletion is easy to get wrong.
        const hash = Math.floor(random() * 64) * (random() < 0.5 ? 1 : -1);
        index.insert(entry, hash);
        model.set(entry, hash);
        live.push(entry);
      } else {
        const i = Math.floor(random() * live.length);
        const entry = live[i];
        live[i] = live[live.length - 1];
        live.pop();
        index.remove(entry);
        model.delete(entry);
        free.push(entry);
      }
      if (step % 97 === 0) for (const [entry, hash] of model) if (!lookup(entry, hash)) throw new Error(`entry ${entry} lost at step ${step}`);
    }
    for (const [entry, hash] of model) expect(lookup(entry, hash)).toBe(true);
    expect(index.slots.filter((e, i) => i % 2 === 0 && e !== EMPTY).length).toBe(model.size);
  });
});

describe('TupleMemory', () => {
  const ep = (ip: string, port: number) => ({ ip, port });

  it('finds a tuple from either side, keeps sensors apart, and forgets oldest first', () => {
    const m = new TupleMemory(2);
    const write = (sensor: string, c: string, s: string, flowId: string, endTs: number): void =>
      m.write(m.find(sensor, ep(c, 40000), ep(s, 80)), flowId, 1, endTs - 5, endTs, 'fin', 'client', true, null);
    write('a', '10.0.0.1', '10.0.0.9', 'f1', 10);
    write('b', '10.0.0.1', '10.0.0.9', 'f2', 20);
    write('a', '10.0.0.2', '10.0.0.9', 'f3', 30);
    const e = m.find('a', ep('10.0.0.9', 80), ep('10.0.0.1', 40000));
    expect(e).not.toBe(NIL);
    expect(m.flowId[e]).toBe('f1');
    expect(m.closedBy(e)).toBe('fin');
    expect(m.activeCloser(e)).toBe('client');
    expect(m.startSeen(e)).toBe(true);
    expect(m.flowId[m.find('b', ep('10.0.0.1', 40000), ep('10.0.0.9', 80))]).toBe('f2');
    expect(m.find('c', ep('10.0.0.1', 40000), ep('10.0.0.9', 80))).toBe(NIL);
    // Rewriting a tuple makes it the newest; the oldest is then sensor b's.
    write('a', '10.0.0.1', '10.0.0.9', 'f4', 40);
    expect(m.size).toBe(3);
    expect(m.flowId[m.oldest()]).toBe('f2');
    m.remove(m.oldest());
    expect(m.find('b', ep('10.0.0.1', 40000), ep('10.0.0.9', 80))).toBe(NIL);
    expect(m.flowId[m.find('a', ep('10.0.0.1', 40000), ep('10.0.0.9', 80))]).toBe('f4');
    expect(m.flowId[m.oldest()]).toBe('f3');
  });
});
