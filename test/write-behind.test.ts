import type { OutgoingMessage } from '../src/kafka/client';
import { WriteBehind, type CommitOffsets } from '../src/kafka/write-behind';

const msg = (value: string): OutgoingMessage => ({ topic: 't', key: 'k', value, timestampMs: 0 });
const at = (partition: number, offset: number): CommitOffsets => [{ topic: 'in', partition, offset: String(offset) }];

describe('WriteBehind', () => {
  test('one write in flight; what queued meanwhile goes out together, then one commit of the newest offsets', async () => {
    const log: string[] = [];
    let release!: () => void;
    const firstSend = new Promise<void>((r) => (release = r));
    let sends = 0;
    const w = new WriteBehind(
      async (out) => {
        log.push(`send ${out.map((m) => m.value).join(',')}`);
        if (sends++ === 0) await firstSend;
      },
      async (offsets) => void log.push(`commit ${offsets.map((o) => `${o.partition}@${o.offset}`).join(',')}`),
      (err) => log.push(`error ${err.message}`),
    );
    w.push([msg('a')], at(0, 1));
    w.push([msg('b')], at(0, 2));
    w.push([msg('c')], [...at(0, 3), ...at(1, 7)]);
    expect(w.backlog).toBe(3);
    release();
    await w.settle();
    expect(log).toEqual(['send a', 'commit 0@1', 'send b,c', 'commit 0@3,1@7']);
    expect(w.backlog).toBe(0);
  });

  test('a failed send commits nothing after it, reports the error and refuses more', async () => {
    const commits: string[] = [];
    const errors: string[] = [];
    const w = new WriteBehind(
      async () => {
        throw new Error('broker gone');
      },
      async (o) => void commits.push(o[0].offset),
      (err) => errors.push(err.message),
    );
    w.push([msg('a')], at(0, 5));
    await expect(w.settle()).rejects.toThrow('broker gone');
    expect(commits).toEqual([]);
    expect(errors).toEqual(['broker gone']);
    expect(() => w.push([msg('b')], at(0, 6))).toThrow('broker gone');
  });
});
