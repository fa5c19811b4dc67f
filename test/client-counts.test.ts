import { ClientCountTable, CONNECTIONS_SLOT, SEVERITY_SLOT } from '../src/stats/client-counts';
import { ReuseStatsWindows } from '../src/stats/reuse-stats-window';
import type { ReuseStatsEvent } from '../src/model/events';

describe('ClientCountTable', () => {
  it('keeps one row per (sensor, client) in first-seen order, across growth', () => {
    const t = new ClientCountTable(2);
    const ips = Array.from({ length: 3000 }, (_, i) => `10.${i >> 8}.${i & 255}.1`);
    for (const ip of ips) t.count(t.row('s', ip), CONNECTIONS_SLOT);
    for (const ip of ips) t.count(t.row('s', ip), SEVERITY_SLOT.high);
    t.count(t.row('other', ips[0]), SEVERITY_SLOT.low);
    expect(t.size).toBe(3001);
    expect(t.client.slice(0, 3)).toEqual(ips.slice(0, 3));
    expect(t.severities(0)).toEqual({ info: 0, low: 0, medium: 0, high: 1 });
    expect(t.connections(2999)).toBe(1);
    expect([t.sensor[3000], t.reuses(3000), t.connections(3000)]).toEqual(['other', 1, 0]);
  });
});

describe('ReuseStatsWindows', () => {
  const reuse = (ts: number, client: string, severity: 'low' | 'high') => ({ type: 'port.reuse', ts, sensor: 's', client: { ip: client, port: 1 }, severity });
  it('counts a late item for an emitted window in a second record, never drops it', () => {
    const out: ReuseStatsEvent[] = [];
    const w = new ReuseStatsWindows({ windowS: 1 }, (e) => out.push(e));
    w.push(reuse(100, 'a', 'low'));
    w.push(reuse(200, 'b', 'high'));
    w.push({ type: 'watermark', ts: 1_000_000 });
    w.push(reuse(300, 'a', 'high')); // late: its window went out
    w.flush();
    expect(out.map((e) => [e.windowStart, e.client, e.counts.low, e.counts.high])).toEqual([
      [0, 'a', 1, 0],
      [0, 'b', 0, 1],
      [0, 'a', 0, 1],
    ]);
  });
});

describe('bounded by maxClients', () => {
  const reuse = (ts: number, client: string, severity: 'low' | 'high') => ({ type: 'port.reuse', ts, sensor: 's', client: { ip: client, port: 1 }, severity });
  it('a full table takes no new client (-1) but keeps counting the ones it has', () => {
    const t = new ClientCountTable(2);
    expect([t.row('s', 'a', 2), t.row('s', 'b', 2), t.row('s', 'c', 2), t.row('s', 'a', 2)]).toEqual([0, 1, -1, 0]);
    expect(t.size).toBe(2);
  });

  it('a stats window holds at most maxClients clients and counts what it leaves out', () => {
    const out: ReuseStatsEvent[] = [];
    const w = new ReuseStatsWindows({ windowS: 60, maxClients: 2 }, (e) => out.push(e));
    for (const ip of ['a', 'b', 'c', 'd']) w.push(reuse(100, ip, 'high'));
    w.push(reuse(200, 'a', 'low'));
    w.flush();
    expect(out.map((e) => [e.client, e.counts.high, e.counts.low])).toEqual([['a', 1, 1], ['b', 1, 0]]);
    expect(w.clientsNotCounted).toBe(2);
  });
});
