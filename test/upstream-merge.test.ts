import { UpstreamMerge } from '../src/stages/upstream-merge';

const item = (ts: number, tag = ''): { ts: number; tag: string } => ({ ts, tag });

describe('UpstreamMerge', () => {
  test('releases in event time only what no upstream can still undercut', () => {
    const m = new UpstreamMerge<{ ts: number; tag: string }>(['a', 'b']);
    const out: string[] = [];
    const emit = (x: { tag: string }): void => void out.push(x.tag);
    m.add('a', 0, item(10, 'a10'));
    m.add('a', 1, item(30, 'a30'));
    m.drain(emit);
    expect(out).toEqual([]); // b has said nothing: it may still send something older
    m.mark('b', 20, false);
    m.drain(emit);
    expect(out).toEqual(['a10']);
    expect(m.watermark).toBe(20);
    m.add('b', 5, item(25, 'b25'));
    m.drain(emit);
    expect(out).toEqual(['a10', 'b25']); // a's head (30) is b's to wait for now
    m.mark('b', 40, true); // b's input is at its end: it holds nobody back
    m.drain(emit);
    expect(out).toEqual(['a10', 'b25', 'a30']);
    expect(m.buffered).toBe(0);
  });

  test('drops what an upstream sends again and counts what comes late', () => {
    const m = new UpstreamMerge<{ ts: number; tag: string }>(['a']);
    const out: string[] = [];
    expect(m.add('a', 0, item(10, 'x'))).toBe(true);
    expect(m.add('a', 3, item(12, 'y'))).toBe(true); // gaps are fine (the rest went to other tasks)
    expect(m.add('a', 3, item(12, 'y'))).toBe(false);
    expect(m.add('a', 1, item(11, 'z'))).toBe(false);
    m.flush((x) => out.push(x.tag));
    expect(out).toEqual(['x', 'y']);
    expect(m.counters.duplicates).toBe(2);
    m.add('a', 4, item(5, 'late'));
    m.flush((x) => out.push(x.tag));
    expect(m.counters.late).toBe(1);
    expect(m.sequences()).toEqual(new Map([['a', 4]]));
  });

  test('ties go to the upstream listed first; with everyone idle the watermark is the latest mark', () => {
    const m = new UpstreamMerge<{ ts: number; tag: string }>(['p0', 'p1']);
    const out: string[] = [];
    m.add('p1', 0, item(7, 'p1'));
    m.add('p0', 0, item(7, 'p0'));
    m.mark('p0', 9, true);
    m.mark('p1', 8, true);
    m.drain((x) => out.push(x.tag));
    expect(out).toEqual(['p0', 'p1']);
    expect(m.watermark).toBe(9);
  });
});
