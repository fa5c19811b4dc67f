import { lastValueFrom, toArray, from } from 'rxjs';
import type { TcpReuseEvent } from '../src/model/events';
import type { PacketRecord } from '../src/model/packet-record';
import { analyze } from '../src/operators/analyze';
import { expectEquivalent, once, scaledAnalysis, spreadClientScenario } from './helpers/scaled-analysis';
import { capturePath, packetsBeforeDamage } from './helpers/run';

/**
 * The scale-out contract, without Kafka: flow stages per address-pair partition plus one client
 * stage fed by all of them give what one `analyze` over everything gives — every reuse (all but
 * the per-partition stream numbers), every cycle and pressure event, the statistics, the number
 * of connections — whatever the pace of each partition, however many partitions, and with what
 * restored upstreams send twice dropped.
 */
const analyzeAll = (packets: readonly PacketRecord[]): Promise<TcpReuseEvent[]> => lastValueFrom(from(packets).pipe(analyze(), toArray()));

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
