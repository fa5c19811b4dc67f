import { from, lastValueFrom, map, toArray } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import type { FlowCloseEvent, FlowOpenEvent, PortCycleEvent, PortReuseEvent, StreamItem, Watermark } from '../src/model/events';
import { PortCycleDetector } from '../src/cycles/port-cycle-detector';
import type { PacketRecord } from '../src/model/packet-record';
import { analyze } from '../src/operators/analyze';
import { detectPortReuse } from '../src/operators/detect-port-reuse';
import { reuseStats } from '../src/operators/reuse-stats';
import { trackFlows } from '../src/operators/track-flows';
import { OptionError } from '../src/util/options';

const S = 1_000_000;
const T0 = 1_700_000_000 * S;
const C = { src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 80 };
const R = { src: '10.0.0.2', dst: '10.0.0.1', sport: 80, dport: 40000 };
const pkt = (dir: typeof C, flags: number, tS: number, seq = 1000, ack = 0, len = 0): PacketRecord => ({ ...dir, flags, seq, ack, len, ts: T0 + tS * S });
const wm = (tS: number): Watermark => ({ type: 'watermark', ts: T0 + tS * S });

/** A short handshake + request + FIN/FIN exchange starting at tS with client ISN isn. */
function connection(tS: number, isn: number, fin = true): PacketRecord[] {
  const out = [
    pkt(C, 0x02, tS, isn),
    pkt(R, 0x12, tS + 0.01, 5000, isn + 1),
    pkt(C, 0x10, tS + 0.02, isn + 1, 5001),
    pkt(C, 0x18, tS + 0.03, isn + 1, 5001, 100),
  ];
  if (fin) out.push(pkt(C, 0x11, tS + 0.04, isn + 101, 5001), pkt(R, 0x11, tS + 0.05, 5001, isn + 102), pkt(C, 0x10, tS + 0.06, isn + 102, 5002));
  return out;
}

const types = (items: StreamItem[]): string[] => items.filter((e) => e.type !== 'watermark').map((e) => e.type);

describe('trackFlows', () => {
  let scheduler: TestScheduler;
  beforeEach(() => {
    scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  });

  test('marble: idle expiry follows event time (a watermark), not the wall clock', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const input = cold<PacketRecord | Watermark>('a-b--w-(x|)', {
        a: pkt(C, 0x02, 0, 1000),
        b: pkt(R, 0x12, 0.01, 5000, 1001),
        w: wm(29), // 29 s after the last packet: still within the 30 s half-open timeout
        x: wm(31),
      });
      const out = input.pipe(
        trackFlows({ watermarkIntervalS: 3600 }),
        map((e) => (e.type === 'flow.close' ? `close:${e.closedBy}` : e.type)),
      );
      expectObservable(out).toBe('a----w-(xy|)', { a: 'flow.open', w: 'watermark', x: 'close:idle', y: 'watermark' });
    });
  });

  test('a FIN/FIN flow closes as fin after its linger; a reused tuple gets a new flowId', async () => {
    const input = [...connection(0, 1000), ...connection(20, 9000)];
    const out = await lastValueFrom(from(input).pipe(trackFlows(), toArray()));
    const closes = out.filter((e): e is FlowCloseEvent => e.type === 'flow.close');
    expect(closes.map((c) => [c.closedBy, c.state, c.history, c.activeCloser])).toEqual([
      ['fin', 'SF', 'ShADFf', 'client'],
      ['fin', 'SF', 'ShADFf', 'client'],
    ]);
    expect(closes[0].flowId).not.toBe(closes[1].flowId);
    expect(closes[0].packets).toEqual({ c2s: 5, s2c: 2 });
    expect(closes[0].bytes).toEqual({ c2s: 100, s2c: 0 });
  });

  test('open flows are flushed as eof when the input completes', async () => {
    const out = await lastValueFrom(from(connection(0, 1000, false)).pipe(trackFlows(), toArray()));
    expect(out.filter((e) => e.type === 'flow.close').map((e) => (e as FlowCloseEvent).closedBy)).toEqual(['eof']);
  });

  test('bounded memory: the least recently seen flow is evicted, explicitly and counted', async () => {
    const input = [pkt(C, 0x02, 0, 1), pkt({ ...C, sport: 40001 }, 0x02, 1, 2), pkt({ ...C, sport: 40002 }, 0x02, 2, 3)];
    const seen: { counters?: { evicted: number } } = {};
    const out = await lastValueFrom(from(input).pipe(trackFlows({ maxFlows: 2 }, { onTracker: (t) => void (seen.counters = t.counters) }), toArray()));
    const first = out.find((e): e is FlowCloseEvent => e.type === 'flow.close')!;
    expect(first).toMatchObject({ closedBy: 'evicted', client: { port: 40000 } });
    expect(seen.counters?.evicted).toBe(1);
  });

  test('flow ids are stable: the same input gives the same ids', async () => {
    const run = () => lastValueFrom(from(connection(0, 1000)).pipe(trackFlows(), toArray()));
    const [a, b] = [await run(), await run()];
    expect(a.filter((e) => e.type === 'flow.open')).toEqual(b.filter((e) => e.type === 'flow.open'));
  });

  test('a SYN retransmission (same ISN) is not a new connection; a new ISN is', async () => {
    const input = [pkt(C, 0x02, 0, 1000), pkt(C, 0x02, 1, 1000), pkt(C, 0x02, 3, 1000), pkt(C, 0x02, 4, 2000)];
    const out = await lastValueFrom(from(input).pipe(trackFlows(), toArray()));
    expect(types(out)).toEqual(['flow.open', 'flow.close', 'flow.open', 'flow.close']);
  });

  test('a tuple back 10 hours later keeps its Wireshark stream and is flagged reused, as tshark does; streamMemoryS forgets sooner', async () => {
    const input = [...connection(0, 1000), ...connection(36_000, 9000)];
    const opens = async (o: Parameters<typeof trackFlows>[0]) =>
      (await lastValueFrom(from(input).pipe(trackFlows(o), toArray()))).filter((e): e is FlowOpenEvent => e.type === 'flow.open');
    expect((await opens({})).map((e) => [e.stream, e.wireshark])).toEqual([[0, false], [1, true]]);
    expect((await opens({ streamMemoryS: 3600 })).map((e) => [e.stream, e.wireshark])).toEqual([[0, false], [1, false]]);
  });

  test('options are validated with the option name, range and value', () => {
    expect(() => trackFlows({ maxFlows: 0 })).toThrow(OptionError);
    expect(() => trackFlows({ streamMemoryS: Infinity })).not.toThrow(); // the default: only streamMemoryS may be unbounded
    expect(() => trackFlows({ establishedTimeoutS: Infinity })).toThrow(OptionError);
    expect(() => trackFlows({ halfOpenTimeoutS: -1 })).toThrow(
      'trackFlows: option "halfOpenTimeoutS" must be a number in 0.001..9007199254740991, got -1',
    );
  });
});

describe('detectPortReuse', () => {
  test('after-close reuse inside TIME_WAIT, client closed first: high, with the gap', async () => {
    const input = [...connection(0, 1000), ...connection(5, 9000)];
    const out = await lastValueFrom(from(input).pipe(trackFlows(), detectPortReuse({ timeWaitS: 60 }), toArray()));
    const r = out.find((e): e is PortReuseEvent => e.type === 'port.reuse')!;
    expect(r).toMatchObject({ kind: 'after-close', previousEnd: 'fin', activeCloser: 'client', gapS: 4.94, severity: 'high', wireshark: true });
  });

  test('time running back between two connections (a clock step): no negative gap, the reason says so, the new flow keeps its own times', async () => {
    // The second connection comes after the first in the input but is stamped 100 s earlier.
    const input = [...connection(100, 1000), ...connection(0, 9000)];
    const out = await lastValueFrom(from(input).pipe(trackFlows(), detectPortReuse({ timeWaitS: 60 }), toArray()));
    const r = out.find((e): e is PortReuseEvent => e.type === 'port.reuse')!;
    expect(r).toMatchObject({ kind: 'after-close', previousEnd: 'fin', gapS: 0, severity: 'high' });
    expect(r.reason).toMatch(/timestamps went back 100 s from the previous connection's last packet to this SYN.*taken as 0/);
    const second = out.filter((e): e is FlowCloseEvent => e.type === 'flow.close').find((c) => c.flowId === r.flowId)!;
    expect([second.startTs, second.endTs, second.durationS]).toEqual([T0, T0 + 0.06 * S, 0.06]);
  });

  test('the same reuse after more than TIME_WAIT is info; after the window it is forgotten', async () => {
    const later = await lastValueFrom(from([...connection(0, 1000), ...connection(100, 9000)]).pipe(trackFlows(), detectPortReuse(), toArray()));
    expect(later.find((e): e is PortReuseEvent => e.type === 'port.reuse')?.severity).toBe('info');
    const forgotten = await lastValueFrom(
      from([...connection(0, 1000), ...connection(100, 9000)]).pipe(trackFlows(), detectPortReuse({ windowS: 50 }), toArray()),
    );
    expect(forgotten.some((e) => e.type === 'port.reuse')).toBe(false);
  });

  describe('while-open reuse', () => {
    // The old connection (ISN 1000) is open with data; a SYN with another ISN takes its tuple at 10 s.
    const old = connection(0, 1000, false);
    const newSyn = pkt(C, 0x02, 10, 900_000);
    const newHandshake = [pkt(R, 0x12, 10.01, 70_000, 900_001), pkt(C, 0x10, 10.02, 900_001, 70_001)];
    const reuseOf = (out: StreamItem[]): PortReuseEvent => out.find((e): e is PortReuseEvent => e.type === 'port.reuse')!;

    test('the old client sending on after the new SYN: "interleaved: NAT collision", and its packets stay out of the new flow', async () => {
      const oldCarriesOn = pkt(C, 0x18, 10.2, 1101, 5001, 50); // continues the old client's sequence space
      const out = await lastValueFrom(from([...old, newSyn, ...newHandshake, oldCarriesOn, pkt(C, 0x18, 10.3, 900_001, 70_001, 10)]).pipe(trackFlows(), detectPortReuse(), toArray()));
      const r = reuseOf(out);
      expect(r).toMatchObject({ kind: 'while-open', previousEnd: 'open', severity: 'high', gapS: 9.97 });
      expect(r.reason).toMatch(/^interleaved: NAT collision/);
      // Emitted when the evidence came (after the old packet's time), not before.
      expect(out.indexOf(r)).toBeGreaterThan(out.findIndex((e) => e.type === 'flow.open' && e.ts === newSyn.ts));
      const closes = out.filter((e): e is FlowCloseEvent => e.type === 'flow.close');
      const newFlow = closes.find((e) => e.flowId === r.flowId)!;
      expect(newFlow.packets).toEqual({ c2s: 3, s2c: 1 });
      expect(newFlow.bytes).toEqual({ c2s: 10, s2c: 0 });
      expect(out.some((e) => e.type === 'flow.interleave')).toBe(true); // trackFlows → detectPortReuse plumbing
    });

    test('a challenge ACK answered by RST is not interleaving; the reuse waits interleaveWaitS of event time', async () => {
      const challengeAck = pkt(R, 0x10, 10.01, 5001, 1101);
      const clientRst = pkt(C, 0x04, 10.02, 1101);
      const later = pkt({ src: '10.9.9.9', dst: '10.0.0.2', sport: 1234, dport: 80 }, 0x02, 13, 1);
      const out = await lastValueFrom(from([...old, newSyn, challengeAck, clientRst, later]).pipe(trackFlows(), detectPortReuse({ interleaveWaitS: 2 }), toArray()));
      const r = reuseOf(out);
      expect(r.reason).not.toMatch(/interleaved/);
      expect(r.reason).toMatch(/^the previous connection on this 4-tuple never closed/);
      // Held until event time passed 12 s: released by the watermark the packet at 13 s brings.
      expect(out.indexOf(r)).toBe(out.findIndex((e) => e.type === 'watermark' && e.ts >= T0 + 12 * S) + 1);
      // The RST answered the old connection's challenge ACK: the new flow did not end with it.
      const newFlow = out.find((e): e is FlowCloseEvent => e.type === 'flow.close' && e.flowId === r.flowId)!;
      expect(newFlow.closedBy).not.toBe('rst');
    });

    test('a held reuse still comes out when the input ends, and analyze drops the plumbing', async () => {
      const out = await lastValueFrom(from([...old, newSyn]).pipe(analyze(), toArray()));
      expect(out.filter((e) => e.type === 'port.reuse')).toHaveLength(1);
      expect(out.some((e) => (e as { type: string }).type === 'flow.interleave')).toBe(false);
    });
  });

  test('marble: a reuse is emitted right after the flow.open that causes it', () => {
    new TestScheduler((a, e) => expect(a).toEqual(e)).run(({ cold, expectObservable }) => {
      const close = { type: 'flow.close', ts: T0, sensor: 's', flowId: 'f1', stream: 0, client: { ip: 'a', port: 1 }, server: { ip: 'b', port: 2 }, clientBy: 'syn', openedBy: 'syn', reused: false, wireshark: false, frame: 1, vlan: null, startTs: T0 - S, endTs: T0, durationS: 1, closedBy: 'rst', activeCloser: 'server', state: 'RSTR', history: 'ShR', packets: { c2s: 1, s2c: 1 }, bytes: { c2s: 0, s2c: 0 } } as const;
      const open = { ...close, type: 'flow.open', ts: T0 + 2 * S, flowId: 'f2', frame: 9 } as const;
      const out = cold<StreamItem>('c--(o|)', { c: close as unknown as StreamItem, o: open as unknown as StreamItem }).pipe(
        detectPortReuse(),
        map((e) => (e.type === 'port.reuse' ? `${(e as PortReuseEvent).kind}/${(e as PortReuseEvent).severity}` : e.type)),
      );
      expectObservable(out).toBe('c--(or|)', { c: 'flow.close', o: 'flow.open', r: 'after-close/low' });
    });
  });
});

describe('reuseStats', () => {
  test('marble: a window is emitted when the watermark passes its end', () => {
    new TestScheduler((a, e) => expect(a).toEqual(e)).run(({ cold, expectObservable }) => {
      const base = Math.floor(T0 / (60 * S)) * 60 * S;
      const reuse = { type: 'port.reuse', ts: base + 5 * S, sensor: 's', client: { ip: '10.0.0.1', port: 1 }, severity: 'high' } as unknown as StreamItem;
      const out = cold<StreamItem>('r-a-(b|)', { r: reuse, a: { type: 'watermark', ts: base + 59 * S }, b: { type: 'watermark', ts: base + 60 * S } }).pipe(
        reuseStats({ windowS: 60 }),
        map((e) => (e.type === 'reuse.stats' ? `${e.client}:${e.counts.high}` : e.type)),
      );
      expectObservable(out).toBe('r-a-(bs|)', { r: 'port.reuse', a: 'watermark', b: 'watermark', s: '10.0.0.1:1' });
    });
  });
});

describe('analyze', () => {
  test('composes every operator and drops watermarks unless asked', async () => {
    const input = [...connection(0, 1000), ...connection(5, 9000)];
    const out = await lastValueFrom(from(input).pipe(analyze(), toArray()));
    expect(types(out as StreamItem[])).toEqual(['flow.open', 'flow.close', 'flow.open', 'port.reuse', 'flow.close', 'reuse.stats']);
    const withWm = await lastValueFrom(from(input).pipe(analyze({ watermarks: true }), toArray()));
    expect(withWm.some((e) => e.type === 'watermark')).toBe(true);
  });
});

describe('PortCycleDetector client limit', () => {
  const open = (client: string, port: number, i: number): FlowOpenEvent => ({
    type: 'flow.open',
    ts: T0 + i * 1000,
    sensor: 'default',
    flowId: `f${i}`,
    communityId: '',
    stream: i,
    client: { ip: client, port },
    server: { ip: '192.0.2.1', port: 443 },
    clientBy: 'syn',
    openedBy: 'syn',
    reused: false,
    wireshark: false,
    frame: null,
    vlan: null,
  });

  it('keeps an active client while one-off clients come and go, and drops idle ones first', () => {
    const events: PortCycleEvent[] = [];
    const d = new PortCycleDetector({ maxClients: 4, minConnections: 32 }, (e) => {
      if (e.type === 'port.cycle') events.push(e);
    });
    let i = 0;
    // A busy client walks 40000..40399 and wraps; between its connections three new clients
    // each open one connection, so the table (4 entries) turns over all the time.
    for (let round = 0; round <= 400; round++) {
      d.push(open('10.0.0.1', 40000 + (round % 400), i++));
      for (let k = 0; k < 3; k++) d.push(open(`10.1.${round}.${k}`, 50000, i++));
    }
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ client: '10.0.0.1', rangeLow: 40000, rangeHigh: 40399, connections: 401 });
    expect(d.counters.droppedClients).toBeGreaterThan(1000);
  });

  it.each([
    // [what, range, step, servers, hint]
    ['Windows Vista+ walking the IANA range +1', 49152, 65535, 1, 1, /Windows Vista or later/],
    ['Linux stepping +2 per destination, two servers interleaved', 32768, 60999, 2, 2, /Linux default ip_local_port_range/],
    ['legacy Windows', 1025, 5000, 1, 1, /legacy Windows/],
  ])('%s: one port.cycle when the walk wraps, with the range, the OS hint and the period', (_what, low, high, step, servers, hint) => {
    const events: PortCycleEvent[] = [];
    const d = new PortCycleDetector({}, (e) => {
      if (e.type === 'port.cycle') events.push(e);
    });
    // Each server's walk starts somewhere inside the range (as a hash-chosen offset does), one
    // connection every 0.1 s overall, until every walk has wrapped once and come back to its start.
    const perServer = Math.ceil((high - low + 1) / step);
    const n = perServer * servers + servers;
    for (let i = 0; i < n; i++) {
      const s = i % servers;
      const k = Math.floor(i / servers);
      const start = low + 1000 * (s + 1) + (step === 2 ? (low % 2) : 0);
      const port = low + ((start - low + k * step) % (high - low + 1));
      d.push({ ...open('10.0.0.7', port, i), ts: T0 + i * 100_000, server: { ip: `192.0.2.${s + 1}`, port: 443 } } as FlowOpenEvent);
    }
    expect(events.length).toBe(servers);
    for (const e of events) {
      expect(e).toMatchObject({ client: '10.0.0.7', rangeLow: low, rangeHigh: high, allocation: 'sequential', server: servers > 1 ? expect.anything() : null });
      expect(e.osHint).toMatch(hint);
      // A port comes back after the whole range is walked: perServer connections to that server, 0.1 s × servers apart.
      const period = perServer * 0.1 * servers;
      expect(Math.abs(e.cycleS - period) / period).toBeLessThan(0.05);
    }
  });

  it('a clock stepping back mid-way never makes the cycle period negative', () => {
    const events: PortCycleEvent[] = [];
    const d = new PortCycleDetector({ minConnections: 32 }, (e) => {
      if (e.type === 'port.cycle') events.push(e);
    });
    // 40000..40399 and around again; the clock steps back 10 s after the 200th connection.
    for (let i = 0; i <= 400; i++) d.push({ ...open('10.0.0.1', 40000 + (i % 400), i), ts: T0 + i * 1000 - (i >= 200 ? 10 * S : 0) });
    expect(events).toHaveLength(1);
    expect(events[0].cycleS).toBeGreaterThan(0);
  });
});

