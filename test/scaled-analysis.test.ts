import { lastValueFrom, toArray, from } from 'rxjs';
import type { TcpReuseEvent } from '../src/model/events';
import type { PacketRecord } from '../src/model/packet-record';
import { addressPairKey, partitionOf } from '../src/kafka/replay';
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

/**
 * A while-open reuse held back (to see whether the old connection carries on) in a partition that
 * then has nothing more, while another partition runs on for minutes: the reuse comes out only
 * when its partition ends, and its statistics window must wait for it.
 */
function heldReuseAtPartitionEnd(): PacketRecord[] {
  const pairIn = (p: number): [string, string] => {
    for (let i = 1; i < 256; i++) {
      const pair: [string, string] = [`10.1.${i}.1`, '10.2.0.2'];
      if (partitionOf(addressPairKey({ src: pair[0], dst: pair[1] }), 2) === p) return pair;
    }
    throw new Error(`no address pair found for partition ${p}`);
  };
  const [c1, s1] = pairIn(0);
  const [c2, s2] = pairIn(1);
  const t0 = 1_700_000_000_000_000;
  const pkt = (src: string, dst: string, sport: number, dport: number, flags: number, seq: number, ts: number): PacketRecord => ({ src, dst, sport, dport, flags, seq, ack: 0, len: 0, ts });
  const out: PacketRecord[] = [
    pkt(c1, s1, 40000, 80, 0x02, 100, t0),
    pkt(s1, c1, 80, 40000, 0x12, 500, t0 + 1000),
    pkt(c1, s1, 40000, 80, 0x18, 101, t0 + 2000),
    // The same tuple opened again while the first connection never closed: a while-open reuse.
    pkt(c1, s1, 40000, 80, 0x02, 90_000, t0 + 10_000_000),
  ];
  for (let k = 0; k < 3000; k++) out.push(pkt(c2, s2, 50000 + (k % 1000), 443, 0x02, k * 7, t0 + 11_000_000 + k * 100_000));
  return out;
}

describe('scaled analysis (flow stages per partition + a client stage) equals one analyze', () => {
  test('a reuse held back at the end of its partition keeps its statistics window open', async () => {
    const packets = heldReuseAtPartitionEnd();
    const one = await analyzeAll(packets);
    expect(one.filter((e) => e.type === 'port.reuse' && e.kind === 'while-open')).toHaveLength(1);
    for (const seed of [1, 2, 3, 4, 5]) expectEquivalent(scaledAnalysis(packets, 2, seed).events, one);
  });

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
