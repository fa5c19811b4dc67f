import { lastValueFrom, toArray, from } from 'rxjs';
import type { TcpReuseEvent } from '../src/model/events';
import type { PacketRecord } from '../src/model/packet-record';
import { analyze } from '../src/operators/analyze';
import { multiset, scaledAnalysis } from './helpers/scaled-analysis';
import { capturePath, packetsBeforeDamage } from './helpers/run';

/**
 * The scale-out contract, without Kafka: flow stages per address-pair partition plus one client
 * stage fed by all of them give what one `analyze` over everything gives — every reuse (all but
 * the per-partition stream numbers), every cycle and pressure event, the statistics, the number
 * of connections — whatever the pace of each partition, however many partitions, and with what
 * restored upstreams send twice dropped.
 */
const analyzeAll = (packets: readonly PacketRecord[]): Promise<TcpReuseEvent[]> => lastValueFrom(from(packets).pipe(analyze(), toArray()));

/**
 * One legacy-Windows client (ports 1025..5000, +1 per connection) talking to many servers, so
 * its connections, and the port cycle they make, are spread over every partition; plus a client
 * hammering one server (port pressure) while the cycling client runs and a reuse inside TIME_WAIT.
 */
export function spreadClientScenario(connections: number): PacketRecord[] {
  const out: PacketRecord[] = [];
  let ts = 1_700_000_000_000_000;
  const conn = (client: string, sport: number, server: string, dport: number, isn: number, at: number): void => {
    const c = { src: client, dst: server, sport, dport, sensor: 'edge' };
    const s = { src: server, dst: client, sport: dport, dport: sport, sensor: 'edge' };
    const srvIsn = (isn * 7919) >>> 0;
    out.push({ ...c, ts: at, flags: 0x02, seq: isn, ack: 0, len: 0 });
    out.push({ ...s, ts: at + 300, flags: 0x12, seq: srvIsn, ack: isn + 1, len: 0 });
    out.push({ ...c, ts: at + 600, flags: 0x10, seq: isn + 1, ack: srvIsn + 1, len: 0 });
    out.push({ ...c, ts: at + 900, flags: 0x18, seq: isn + 1, ack: srvIsn + 1, len: 100 });
    out.push({ ...s, ts: at + 1500, flags: 0x18, seq: srvIsn + 1, ack: isn + 101, len: 500 });
    out.push({ ...c, ts: at + 1800, flags: 0x11, seq: isn + 101, ack: srvIsn + 501, len: 0 });
    out.push({ ...s, ts: at + 2100, flags: 0x11, seq: srvIsn + 501, ack: isn + 102, len: 0 });
    out.push({ ...c, ts: at + 2400, flags: 0x10, seq: isn + 102, ack: srvIsn + 502, len: 0 });
  };
  for (let i = 0; i < connections; i++) {
    ts += 40_000 + ((i * 7919) % 20_000);
    conn('10.9.0.7', 1025 + (i % 3976), `172.16.${(i * 13) % 40}.${1 + (i % 7)}`, 443, (i * 2654435761) >>> 0, ts);
  }
  // The pressure client: 500 connections a second to one server for 4 s.
  for (let i = 0; i < 2000; i++) conn('10.9.0.8', 33000 + i, '172.16.99.1', 8080, (i * 40503) >>> 0, 1_700_000_000_000_000 + 60_000_000 + i * 2000);
  // The same 4-tuple twice within TIME_WAIT.
  conn('10.9.0.9', 50000, '172.16.5.5', 22, 1111, ts + 1_000_000);
  conn('10.9.0.9', 50000, '172.16.5.5', 22, 999_999, ts + 4_000_000);
  return out.sort((a, b) => a.ts - b.ts);
}

/** Events written more than once (at-least-once after a restart) counted once. */
function once(events: readonly TcpReuseEvent[]): TcpReuseEvent[] {
  const seen = new Set<string>();
  return events.filter((e) => {
    const k = JSON.stringify(e);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function expectEquivalent(scaled: readonly TcpReuseEvent[], one: readonly TcpReuseEvent[]): void {
  for (const types of [['port.reuse'], ['port.cycle'], ['port.pressure'], ['reuse.stats'], ['flow.open']]) {
    expect({ types, events: multiset(scaled, types) }).toEqual({ types, events: multiset(one, types) });
  }
  const closes = (events: readonly TcpReuseEvent[]): string[] => multiset(events, ['flow.close'], (e) => (e.type === 'flow.close' ? e.flowId : null));
  expect(closes(scaled)).toEqual(closes(one));
}

describe('scaled analysis (flow stages per partition + a client stage) equals one analyze', () => {
  const captures = ['kernel-reuse', 'nat-collision', 'reuse-while-open', 'rst-then-reuse', 'fast-reuse-timewait', 'syn-retransmit', 'midstream-start', 'vlan-mixed', 'ipv6-reuse', 'xp-ephemeral-cycle', 'many-flows'];

  test.each(captures)('%s over 1, 3 and 12 partitions', async (name) => {
    const packets = await packetsBeforeDamage(capturePath(name), 'sensor-a');
    const one = await analyzeAll(packets);
    for (const [partitions, seed] of [[1, 1], [3, 2], [12, 3]]) {
      const run = scaledAnalysis(packets, partitions, seed);
      expectEquivalent(run.events, one);
    }
  });

  test('a client whose port cycle spans every partition, at several paces', async () => {
    const packets = spreadClientScenario(9000);
    const one = await analyzeAll(packets);
    expect(one.filter((e) => e.type === 'port.cycle').length).toBeGreaterThanOrEqual(2);
    expect(one.some((e) => e.type === 'port.pressure')).toBe(true);
    expect(one.some((e) => e.type === 'port.reuse')).toBe(true);
    let duplicates = 0;
    for (const seed of [11, 12, 13]) {
      const run = scaledAnalysis(packets, 12, seed);
      expectEquivalent(run.events, one);
      duplicates += run.duplicatesDropped;
    }
    expect(duplicates).toBe(0); // nothing failed: nothing was sent twice
  });

  test.each([
    ['xp-ephemeral-cycle', 21],
    ['many-flows', 22],
    ['nat-collision', 23],
    ['rst-then-reuse', 24],
  ])('%s: tasks that die and restart from their checkpoints change nothing but repeats', async (name, seed) => {
    const packets = await packetsBeforeDamage(capturePath(name), 'sensor-a');
    const one = await analyzeAll(packets);
    const run = scaledAnalysis(packets, 6, seed, { faults: true });
    expect(run.restarts).toBeGreaterThan(2);
    expectEquivalent(once(run.events), one);
  });

  test('the spread client through deaths and restarts: the cycle across partitions still found once per wrap', async () => {
    const packets = spreadClientScenario(9000);
    const one = await analyzeAll(packets);
    let dropped = 0;
    for (const seed of [31, 32]) {
      const run = scaledAnalysis(packets, 12, seed, { faults: true });
      expect(run.restarts).toBeGreaterThan(5);
      expectEquivalent(once(run.events), one);
      dropped += run.duplicatesDropped;
    }
    expect(dropped).toBeGreaterThan(0); // restored flow stages did send again, and it was dropped
  });
});
