import { StatePins } from '../src/kafka/state-pins';

describe('StatePins (what the commit must not pass)', () => {
  test('a partition is held at its lowest pinned offset until the flows pinning it are closed and forgotten', () => {
    const pins = new StatePins(100); // remembered 100 µs after the close
    pins.pin('a', 'in/0', 5);
    pins.pin('b', 'in/0', 5);
    pins.pin('c', 'in/0', 9);
    pins.pin('d', 'in/1', 3);
    pins.pin('a', 'in/0', 12); // a replayed open of a flow already held changes nothing
    expect([pins.lowest('in/0'), pins.lowest('in/1'), pins.lowest('in/2'), pins.size]).toEqual([5, 3, undefined, 4]);
    pins.closed('a', 1000);
    pins.closed('c', 1010);
    pins.closed('zz', 0); // never pinned
    pins.advance(1099);
    expect(pins.lowest('in/0')).toBe(5);
    pins.advance(1100); // a forgotten; b still pins 5
    expect([pins.lowest('in/0'), pins.size]).toEqual([5, 3]);
    pins.closed('b', 1050);
    pins.advance(1150); // b forgotten at 1150; c at 1110
    expect([pins.lowest('in/0'), pins.size]).toEqual([undefined, 1]);
    pins.dropPartition('in/1');
    expect([pins.lowest('in/1'), pins.size]).toEqual([undefined, 0]);
  });

  test('many flows released out of their pin order, and a pin arriving out of order, keep the lowest right', () => {
    const pins = new StatePins(0);
    for (let i = 0; i < 10_000; i++) pins.pin(`f${i}`, 'p', i >> 2); // 4 flows per offset
    pins.pin('late', 'p', 1); // lower than the newest: kept in order
    const order = Array.from({ length: 10_000 }, (_, i) => i).sort((a, b) => ((a * 7919) % 10_007) - ((b * 7919) % 10_007));
    order.forEach((i, k) => pins.closed(`f${i}`, k));
    let released = 0;
    const closedAt = new Map(order.map((i, k) => [i, k]));
    for (let now = 0; now < 10_000; now += 997) {
      pins.advance(now);
      released = [...closedAt.values()].filter((k) => k <= now).length;
      const still = Array.from({ length: 10_000 }, (_, i) => i).filter((i) => closedAt.get(i)! > now);
      const want = Math.min(...still.map((i) => i >> 2), 1);
      expect(pins.lowest('p')).toBe(want);
    }
    expect(released).toBeGreaterThan(0);
    pins.advance(Infinity);
    expect(pins.lowest('p')).toBe(1); // 'late' was never closed
    pins.clear();
    expect([pins.lowest('p'), pins.size]).toEqual([undefined, 0]);
  });
});
