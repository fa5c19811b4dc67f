import { readdirSync } from 'node:fs';
import { eventJson } from '../src/model/event-json';
import type { FlowOpenEvent, TcpReuseEvent } from '../src/model/events';
import { analyzeCapture, CAPTURES, capturePath } from './helpers/run';

const captures = readdirSync(CAPTURES)
  .filter((f) => f.endsWith('.pcap.gz'))
  .map((f) => f.replace(/\.pcap\.gz$/, ''));

describe('eventJson', () => {
  const seen = new Set<string>();

  it.each(captures)('is byte-equal to JSON.stringify for every event of %s', async (name) => {
    const events = await analyzeCapture(capturePath(name), { annotate: true });
    const types = new Set<string>();
    for (const e of events) {
      types.add(e.type);
      seen.add(e.type);
      const ours = eventJson(e);
      if (ours !== JSON.stringify(e)) expect(ours).toBe(JSON.stringify(e)); // the diff only on failure
    }
    expect([...types]).toEqual(expect.arrayContaining(['flow.open', 'flow.close', 'packet']));
  });

  it('was checked on every kind of event the hand-written paths cover', () => {
    expect([...seen]).toEqual(expect.arrayContaining(['flow.open', 'flow.close', 'port.reuse', 'port.cycle']));
  });

  it('escapes what JSON.stringify escapes, and writes non-finite numbers as null', () => {
    const open = (sensor: string, ts: number): TcpReuseEvent =>
      ({
        type: 'flow.open',
        ts,
        sensor,
        flowId: 'f',
        communityId: '1:LQU9qZlK+B5F3KDmev6m5PMibrg=',
        stream: 0,
        client: { ip: '10.0.0.1', port: 1 },
        server: { ip: '10.0.0.2', port: 2 },
        clientBy: 'syn',
        openedBy: 'syn',
        reused: false,
        wireshark: false,
        frame: null,
        vlan: 7,
      }) satisfies FlowOpenEvent;
    for (const sensor of ['tap "a"', 'back\\slash', 'line\nbreak', '\u0001', 'lone \ud800 surrogate', 'pair 😀', 'ünï']) {
      expect(eventJson(open(sensor, 1))).toBe(JSON.stringify(open(sensor, 1)));
    }
    expect(eventJson(open('s', NaN))).toBe(JSON.stringify(open('s', NaN)));
    // Numbers around the writer's int32 and eight-digit boundaries, as JSON.stringify writes them.
    for (const ts of [0, -0, 7, 10, 99_999_999, 100_000_000, 100_000_007, 2 ** 31 - 1, 2 ** 31, 1_700_000_000_000_000, 1_700_000_000_000_009, 1_000_000_000_000_000, Number.MAX_SAFE_INTEGER, -1, -100_000_001, -Number.MAX_SAFE_INTEGER, 2 ** 53, 1e21, 0.5, 1.25e-7]) {
      expect(eventJson(open('s', ts))).toBe(JSON.stringify(open('s', ts)));
    }
  });
});
