import type { OutgoingMessage } from '../src/kafka/client';
import { unpackMessages } from '../src/kafka/message-pack';
import { WriteBehind, type CommitOffsets } from '../src/kafka/write-behind';

const msg = (value: string): OutgoingMessage => ({ topic: 't', key: 'k', value, timestampMs: 0 });
const at = (partition: number, offset: number): CommitOffsets => [{ topic: 'in', partition, offset: String(offset) }];

describe('WriteBehind', () => {
  test('one write in flight; what is appended meanwhile goes out together, then one commit of the newest offsets', async () => {
    const log: string[] = [];
    let release!: () => void;
    const firstSend = new Promise<void>((r) => (release = r));
    let sends = 0;
    const w = new WriteBehind(
      async (out, tally) => {
        log.push(`send ${unpackMessages(out).map((m) => String(m.value)).join(',')} ${JSON.stringify([...tally])}`);
        if (sends++ === 0) await firstSend;
      },
      async (offsets) => void log.push(`commit ${offsets.map((o) => `${o.partition}@${o.offset}`).join(',')}`),
      (err) => log.push(`error ${err.message}`),
    );
    w.outbox.add(msg('a'));
    w.outbox.label('x');
    w.mark(at(0, 1));
    w.outbox.add(msg('b'));
    w.mark(at(0, 2));
    w.outbox.add(msg('c'));
    w.outbox.label('x');
    w.mark([...at(0, 3), ...at(1, 7)]);
    expect(w.backlog).toBe(3);
    release();
    await w.settle();
    expect(log).toEqual(['send a [["x",1]]', 'commit 0@1', 'send b,c [["x",1]]', 'commit 0@3,1@7']);
    expect(w.backlog).toBe(0);
  });

  test('handOver sends at once even with a write in flight; the commit waits for every send made before its offsets', async () => {
    const log: string[] = [];
    const releases: (() => void)[] = [];
    const w = new WriteBehind(
      (out) => {
        log.push(`send ${unpackMessages(out).map((m) => String(m.value)).join(',')}`);
        return new Promise<void>((r) => releases.push(r));
      },
      async (offsets) => void log.push(`commit ${offsets.map((o) => `${o.partition}@${o.offset}`).join(',')}`),
      (err) => log.push(`error ${err.message}`),
    );
    w.outbox.add(msg('a'));
    w.mark(at(0, 1));
    w.outbox.add(msg('b'));
    w.handOver();
    expect(log).toEqual(['send a', 'send b']);
    expect(w.backlog).toBe(2);
    releases[1](); // the later send finishing first does not let the commit through
    await new Promise((r) => setImmediate(r));
    expect(log).toEqual(['send a', 'send b']);
    releases[0]();
    await w.settle();
    expect(log).toEqual(['send a', 'send b', 'commit 0@1']);
    expect(w.backlog).toBe(0);
  });

  test('a failed hand-over is reported once and refuses more', async () => {
    const errors: string[] = [];
    const w = new WriteBehind(
      async () => {
        throw new Error('broker gone');
      },
      async () => undefined,
      (err) => errors.push(err.message),
    );
    w.outbox.add(msg('a'));
    w.handOver();
    await expect(w.settle()).rejects.toThrow('broker gone');
    expect(errors).toEqual(['broker gone']);
    expect(() => w.handOver()).toThrow('broker gone');
  });

  test('offsets alone (a batch that produced nothing) are committed without a write', async () => {
    const log: string[] = [];
    const w = new WriteBehind(
      async () => void log.push('send'),
      async (o) => void log.push(`commit ${o[0].offset}`),
      () => undefined,
    );
    w.mark(at(0, 9));
    await w.settle();
    expect(log).toEqual(['commit 9']);
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
    w.outbox.add(msg('a'));
    w.mark(at(0, 5));
    await expect(w.settle()).rejects.toThrow('broker gone');
    expect(commits).toEqual([]);
    expect(errors).toEqual(['broker gone']);
    expect(() => w.mark(at(0, 6))).toThrow('broker gone');
  });
});
