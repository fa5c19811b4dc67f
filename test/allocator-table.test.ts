import { AllocatorTable, allocatorHash, NO_ALLOCATOR } from '../src/cycles/allocator-table';
import { fnvClientKey } from '../src/util/fnv';

const key = (client: string, serverIp = '', port = 0): [number, string, string, string, number] => [allocatorHash(fnvClientKey('s', client), serverIp, port), 's', client, serverIp, port];

describe('AllocatorTable', () => {
  it('finds what it added, across growth, and tells keys apart field by field', () => {
    const t = new AllocatorTable(10_000, () => undefined);
    const entries = new Map<string, number>();
    for (let i = 0; i < 5000; i++) entries.set(`10.0.${i >> 8}.${i & 255}`, t.add(...key(`10.0.${i >> 8}.${i & 255}`)));
    for (const [ip, e] of entries) expect(t.touch(...key(ip))).toBe(e);
    expect(t.size).toBe(5000);
    // Same text when joined, different fields: different allocators.
    const a = t.add(...key('10.9.9.9', '192.0.2.1', 443));
    expect(t.touch(...key('10.9.9.9', '192.0.2.1', 444))).toBe(NO_ALLOCATOR);
    expect(t.touch(...key('10.9.9.9', '192.0.2.14', 43))).toBe(NO_ALLOCATOR);
    expect(t.touch(...key('10.9.9.9', '192.0.2.1', 443))).toBe(a);
  });

  it('drops exactly the least recently touched entry when full, and reuses its slot', () => {
    let dropped = 0;
    const t = new AllocatorTable(3, () => dropped++);
    const a = t.add(...key('a'));
    const b = t.add(...key('b'));
    const c = t.add(...key('c'));
    expect(t.touch(...key('a'))).toBe(a); // order now b, c, a
    const d = t.add(...key('d'));
    expect(dropped).toBe(1);
    expect(d).toBe(b);
    expect(t.touch(...key('b'))).toBe(NO_ALLOCATOR);
    expect([t.touch(...key('c')), t.touch(...key('a')), t.touch(...key('d'))]).toEqual([c, a, d]);
    t.add(...key('e')); // order was c, a, d: c goes
    expect(t.touch(...key('c'))).toBe(NO_ALLOCATOR);
    expect(dropped).toBe(2);
    expect(t.size).toBe(3);
  });

  it('a fresh entry starts with no recent connections and no pressure reported', () => {
    const t = new AllocatorTable(1, () => undefined);
    const a = t.add(...key('a'));
    t.recent[a] = [1, 2];
    t.lastPressure[a] = 3;
    const b = t.add(...key('b')); // replaces a in the same slot
    expect(b).toBe(a);
    expect(t.recent[b]).toBeUndefined();
    expect(t.lastPressure[b]).toBe(-1);
  });
});
