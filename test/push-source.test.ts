import { map, toArray } from 'rxjs';
import { PushSource } from '../src/util/push-source';

describe('PushSource', () => {
  it('feeds its one subscriber through operators, then completes', () => {
    const src = new PushSource<number>();
    const out: number[][] = [];
    src.pipe(map((x) => x * 2), toArray()).subscribe((xs) => out.push(xs));
    src.next(1);
    src.next(2);
    src.complete();
    expect(out).toEqual([[2, 4]]);
  });

  it('refuses a second subscriber with an error, and takes a new one after unsubscribe', () => {
    const src = new PushSource<string>();
    const first: string[] = [];
    const sub = src.subscribe((v) => first.push(v));
    const errors: unknown[] = [];
    src.subscribe({ error: (e) => errors.push(e) });
    expect(String(errors[0])).toMatch(/already has a subscriber/);
    src.next('a');
    sub.unsubscribe();
    src.next('dropped'); // nobody listening, as with a Subject
    const second: string[] = [];
    src.subscribe((v) => second.push(v));
    src.next('b');
    expect([first, second]).toEqual([['a'], ['b']]);
  });

  it('passes errors on', () => {
    const src = new PushSource<number>();
    let seen: unknown;
    src.subscribe({ error: (e) => (seen = e) });
    src.error(new Error('boom'));
    expect((seen as Error).message).toBe('boom');
  });
});
