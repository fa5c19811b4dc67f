import type { FlowOpenEvent, PortCycleEvent, PortReuseEvent, Severity } from '../src/model/events';
import { analyzeCapture, capturePath, loadLabels, type Label } from './helpers/run';

const SCENARIOS = [
  'fast-reuse-timewait',
  'ipv6-reuse',
  'kernel-reuse',
  'many-flows',
  'midstream-start',
  'nat-collision',
  'reuse-while-open',
  'rst-then-reuse',
  'syn-retransmit',
  'vlan-mixed',
  'xp-ephemeral-cycle',
];
const TIME_WAIT_S = 60;

/** The README's severity policy, restated from the label's own fields. */
function expectedSeverity(l: Label): Severity {
  switch (l.prev_conn_end) {
    case 'open':
    case 'unknown':
      return 'high';
    case 'rst':
      return l.since_prev_syn_s !== null && l.since_prev_syn_s < 1 ? 'medium' : 'low';
    case 'fin':
      if (l.gap_s >= TIME_WAIT_S) return 'info';
      return l.prev_active_closer === 'server' ? 'medium' : 'high';
  }
}

describe.each(SCENARIOS)('labelled scenario %s', (name) => {
  const labels = loadLabels(name);
  let reuses: Map<number, PortReuseEvent>;
  let opens: Map<number, FlowOpenEvent>;
  let cycles: PortCycleEvent[];

  beforeAll(async () => {
    const events = await analyzeCapture(capturePath(name), { timeWaitS: TIME_WAIT_S });
    reuses = new Map(events.filter((e): e is PortReuseEvent => e.type === 'port.reuse').map((e) => [e.frame!, e]));
    opens = new Map(events.filter((e): e is FlowOpenEvent => e.type === 'flow.open').map((e) => [e.frame!, e]));
    cycles = events.filter((e): e is PortCycleEvent => e.type === 'port.cycle');
  });

  test('reports exactly the labelled reuses', () => {
    expect([...reuses.keys()].sort((a, b) => a - b)).toEqual(labels.reuses.map((l) => l.frame).sort((a, b) => a - b));
  });

  const cases = labels.reuses.map((l) => [l.frame, l] as const);
  if (cases.length > 0) test.each(cases)('frame %i: kind, previous end, gap and severity', (_f, l) => {
    const r = reuses.get(l.frame)!;
    expect(r).toBeDefined();
    const [cip, cport, sip, sport] = l.tuple;
    expect(r.client).toEqual({ ip: cip, port: cport });
    expect(r.server).toEqual({ ip: sip, port: sport });
    if (l.prev_conn_end === 'unknown') {
      // Nothing on the wire tells a teardown lost off-capture from one that never happened.
      expect(['open', 'idle']).toContain(r.previousEnd);
    } else {
      expect(r.previousEnd).toBe(l.prev_conn_end);
      expect(r.kind).toBe(l.prev_conn_end === 'open' ? 'while-open' : 'after-close');
      expect(r.activeCloser).toBe(l.prev_active_closer);
    }
    expect(Math.abs(r.gapS - l.gap_s)).toBeLessThanOrEqual(0.001);
    expect(r.severity).toBe(expectedSeverity(l));
    expect(r.reason.length).toBeGreaterThan(20);
  });

  if (labels.non_reuse_syns.length > 0) {
    test('retransmitted and duplicate SYNs open no connection and yield no reuse', () => {
      for (const n of labels.non_reuse_syns) {
        expect({ frame: n.frame, reuse: reuses.has(n.frame) }).toEqual({ frame: n.frame, reuse: false });
        if (n.kind !== 'synack_new_isn_cookie') expect({ frame: n.frame, opened: opens.has(n.frame) }).toEqual({ frame: n.frame, opened: false });
      }
    });
  }

  if (labels.port_cycle) {
    test('recognises the ephemeral-port cycle: range and period within 5%', () => {
      const pc = labels.port_cycle as unknown as { port_range: [number, number]; measured_cycle_period_s: number; client: string };
      const c = cycles.find((e) => e.client === pc.client && e.server === null)!;
      expect(c).toBeDefined();
      expect([c.rangeLow, c.rangeHigh]).toEqual(pc.port_range);
      expect(c.allocation).toBe('sequential');
      expect(Math.abs(c.cycleS - pc.measured_cycle_period_s) / pc.measured_cycle_period_s).toBeLessThan(0.05);
      expect(c.osHint).toMatch(/Windows/);
    });
  } else {
    test('no port cycle where no sequential allocator wraps', () => {
      expect(cycles).toEqual([]);
    });
  }
});
