import { grown, NIL, RecencyList } from '../src/util/columns';

describe('column helpers', () => {
  it('grown keeps the values and the array type, zero beyond', () => {
    const a = grown(Int8Array.from([-1, 2]), 4);
    expect(a).toBeInstanceOf(Int8Array);
    expect([...a]).toEqual([-1, 2, 0, 0]);
  });

  it('RecencyList keeps entries oldest first through appends, touches and removals', () => {
    const l = new RecencyList(2);
    l.grow(8);
    const order = (): number[] => {
      // Walk by removing and re-appending: the list has no iterator, on purpose (hot path only).
      const out: number[] = [];
      for (let e = l.oldest, n = 0; e !== NIL && n < 8; n++) {
        out.push(e);
        l.remove(e);
        e = l.oldest;
      }
      for (const e of out) l.append(e);
      return out;
    };
    [0, 1, 2, 3].forEach((e) => l.append(e));
    l.touch(1);
    l.touch(1); // already the newest
    expect(order()).toEqual([0, 2, 3, 1]);
    l.remove(0);
    l.remove(1);
    expect([l.oldest, l.newest]).toEqual([2, 3]);
    l.remove(2);
    l.remove(3);
    expect([l.oldest, l.newest]).toEqual([NIL, NIL]);
  });
});
