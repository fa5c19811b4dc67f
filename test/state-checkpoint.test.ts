import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FlowTable } from '../src/flow/flow-table';
import type { PortReuseEvent, StreamItem } from '../src/model/events';
import type { PacketRecord } from '../src/model/packet-record';
import { TupleMemory } from '../src/reuse/tuple-memory';
import { ClientStage } from '../src/stages/client-stage';
import { FlowStage, type FlowStageOptions } from '../src/stages/flow-stage';
import { StateFormatError, StateReader, StateWriter } from '../src/state/state-codec';
import { pcapFile } from './helpers/packets';
import { randomTrace } from './helpers/random-trace';
import { rng } from './helpers/rng';
import { capturePath, packetsBeforeDamage } from './helpers/run';

/**
 * A checkpoint must hold the whole state of the flow stage: run the stage to packet k, checkpoint,
 * restore into a fresh stage on the rest of the input, and the two halves' events must be exactly
 * the events of one uninterrupted run — for any k, on every fixture and on random traces that hit
 * every kind of reuse, retransmission and odd close. Tight limits make expiry, eviction and
 * forgetting happen across the cut too.
 */
type Out = StreamItem | PortReuseEvent;

const dir = mkdtempSync(join(tmpdir(), 'tcpreuse-ckpt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const OPTION_SETS: Record<string, FlowStageOptions> = {
  defaults: {},
  tight: {
    flows: { halfOpenTimeoutS: 2, establishedTimeoutS: 20, closedTimeoutS: 1, maxFlows: 3, maxRemembered: 4, streamMemoryS: 3600, annotate: true },
    reuse: { windowS: 600, maxEntries: 3, interleaveWaitS: 5 },
  },
};

function run(packets: readonly PacketRecord[], options: FlowStageOptions, from = 0, to = packets.length, restoreFrom?: Buffer, flush = true): { events: Out[]; stage: FlowStage } {
  const events: Out[] = [];
  const stage = new FlowStage(options, (e) => events.push(e));
  if (restoreFrom) stage.restore(restoreFrom);
  for (let i = from; i < to; i++) stage.push(packets[i]);
  if (flush) stage.flush();
  return { events, stage };
}

/** Events of a run cut at `k` and continued from the checkpoint, with the checkpoint itself. */
function cutAt(packets: readonly PacketRecord[], options: FlowStageOptions, k: number): { events: Out[]; checkpoint: Buffer; restoredCheckpoint: Buffer } {
  const first = run(packets, options, 0, k, undefined, false);
  const checkpoint = first.stage.checkpoint();
  const second = new FlowStage(options, () => undefined);
  second.restore(checkpoint);
  const restoredCheckpoint = second.checkpoint();
  const rest = run(packets, options, k, packets.length, checkpoint);
  return { events: [...first.events, ...rest.events], checkpoint, restoredCheckpoint };
}

async function tracePackets(seed: number, n: number): Promise<PacketRecord[]> {
  const path = join(dir, `trace-${seed}.pcap`);
  writeFileSync(path, pcapFile(randomTrace(seed, n)));
  return packetsBeforeDamage(path, 's');
}

describe('flow stage checkpoints', () => {
  const captures = ['kernel-reuse', 'nat-collision', 'reuse-while-open', 'rst-then-reuse', 'fast-reuse-timewait', 'syn-retransmit', 'midstream-start', 'vlan-mixed', 'ipv6-reuse', 'xp-ephemeral-cycle', 'many-flows'];

  test.each(captures)('%s: cut anywhere, restored, gives the same events as one run', async (name) => {
    const packets = await packetsBeforeDamage(capturePath(name), 'sensor-a');
    expect(packets.length).toBeGreaterThan(20);
    const r = rng(packets.length);
    for (const [label, options] of Object.entries(OPTION_SETS)) {
      const whole = run(packets, options).events;
      expect(whole.some((e) => e.type === 'flow.close')).toBe(true);
      // The ends, evenly spaced cuts and random ones (fewer on the large captures: each is a whole run).
      const cuts = new Set([0, 1, packets.length - 1, packets.length]);
      const spread = packets.length > 20_000 ? 2 : 8;
      for (let i = 1; i < spread; i++) cuts.add(Math.floor((packets.length * i) / spread));
      for (let i = 0; i < spread; i++) cuts.add(r(packets.length + 1));
      for (const k of cuts) {
        const { events, checkpoint, restoredCheckpoint } = cutAt(packets, options, k);
        if (events.length !== whole.length || JSON.stringify(events) !== JSON.stringify(whole)) {
          expect({ label, k, events }).toEqual({ label, k, events: whole });
        }
        // Restoring loses nothing a second checkpoint would hold.
        expect(restoredCheckpoint.equals(checkpoint)).toBe(true);
      }
    }
  });

  test('random traces: every cut point, both option sets', async () => {
    let compared = 0;
    let reuses = 0;
    for (let seed = 1; seed <= 8; seed++) {
      const packets = await tracePackets(seed, 200);
      for (const options of Object.values(OPTION_SETS)) {
        const whole = JSON.stringify(run(packets, options).events);
        reuses += run(packets, options).events.filter((e) => e.type === 'port.reuse').length;
        for (let k = 0; k <= packets.length; k++) {
          const cut = JSON.stringify(cutAt(packets, options, k).events);
          if (cut !== whole) expect({ seed, k, cut: JSON.parse(cut) as unknown }).toEqual({ seed, k, cut: JSON.parse(whole) as unknown });
          compared++;
        }
      }
    }
    expect(compared).toBeGreaterThan(3000);
    expect(reuses).toBeGreaterThan(60); // the traces do reuse their tuples, in every way
  });

  test('a checkpoint holds its state across several restores in a row', async () => {
    const packets = await packetsBeforeDamage(capturePath('many-flows'), 'x');
    const whole = JSON.stringify(run(packets, {}).events);
    const events: Out[] = [];
    let checkpoint: Buffer | undefined;
    const step = Math.ceil(packets.length / 9);
    for (let from = 0; from < packets.length; from += step) {
      const stage = new FlowStage({}, (e) => events.push(e));
      if (checkpoint) stage.restore(checkpoint);
      for (let i = from; i < Math.min(packets.length, from + step); i++) stage.push(packets[i]);
      checkpoint = stage.checkpoint();
      if (from + step >= packets.length) stage.flush();
    }
    expect(JSON.stringify(events)).toBe(whole);
  });

  test('a damaged or foreign checkpoint is refused with StateFormatError, never misread', async () => {
    const packets = await packetsBeforeDamage(capturePath('nat-collision'), 'x');
    const { stage } = run(packets, OPTION_SETS.tight, 0, Math.floor(packets.length / 2), undefined, false);
    const good = stage.checkpoint();
    const refusal = (buf: Buffer): unknown => {
      try {
        new FlowStage({}, () => undefined).restore(buf);
        return null;
      } catch (err) {
        return err;
      }
    };
    expect(refusal(good)).toBeNull();
    for (let n = 0; n < good.length; n += Math.max(1, Math.floor(good.length / 200))) {
      expect(refusal(good.subarray(0, n))).toBeInstanceOf(StateFormatError);
    }
    expect(refusal(Buffer.concat([good, Buffer.from([0])]))).toBeInstanceOf(StateFormatError);
    const other = new StateWriter('client-stage').finish();
    expect(String(refusal(other))).toMatch(/a checkpoint of "client-stage", not of "flow-stage"/);
    const newer = Buffer.from(good);
    newer[4] = 99;
    expect(String(refusal(newer))).toMatch(/checkpoint format 99, this build reads 1/);
    expect(() => new StateReader(Buffer.from('hello world'), 'flow-stage')).toThrow(StateFormatError);
  });

  test('restoring is only for a stage that has processed nothing', async () => {
    const packets = await packetsBeforeDamage(capturePath('nat-collision'), 'x');
    const { stage } = run(packets, {}, 0, 10, undefined, false);
    expect(() => stage.restore(stage.checkpoint())).toThrow(/already processed packets/);
  });

  // A column added to a table without being added to its checkpoint would be lost on restore.
  test.each([
    ['FlowTable', new FlowTable(4), ['generation', 'prev', 'next', 'list', 'heads', 'tails', 'listSize']],
    ['TupleMemory', new TupleMemory(4), []],
  ] as const)('%s: every typed-array column is in the checkpoint (or is structure rebuilt on restore)', (_name, table, structural) => {
    const typed = [...Object.entries(table), ...Object.entries(table.keys)]
      .filter(([, v]) => ArrayBuffer.isView(v))
      .map(([k]) => k)
      .filter((k) => !(structural as readonly string[]).includes(k))
      .sort();
    expect(table.valueColumns().map((c) => c.name).sort()).toEqual(typed);
  });
});

describe('client stage checkpoints', () => {
  test('restored, it holds what it held (merge queues, allocators, open windows), and damage is refused', async () => {
    const packets = await packetsBeforeDamage(capturePath('xp-ephemeral-cycle'), 'x');
    const client = new ClientStage({}, ['in/0', 'in/1'], () => undefined);
    const stage = new FlowStage({}, () => undefined, (seq, e) => client.add(seq % 3 === 0 ? 'in/1' : 'in/0', seq, e));
    const half = Math.floor(packets.length / 2);
    for (let i = 0; i < half; i++) {
      stage.push(packets[i]);
      if (i % 500 === 0) {
        client.mark('in/0', stage.lowWatermark(), false);
        client.drain();
      }
    }
    const checkpoint = client.checkpoint();
    expect(client.merge.buffered).toBeGreaterThan(0); // in/1 has not spoken: in/0's items wait
    const restored = new ClientStage({}, ['in/0', 'in/1'], () => undefined);
    restored.restore(checkpoint);
    expect(restored.checkpoint().equals(checkpoint)).toBe(true);
    expect(restored.merge.buffered).toBe(client.merge.buffered);
    for (let n = 0; n < checkpoint.length; n += Math.max(1, Math.floor(checkpoint.length / 100))) {
      expect(() => new ClientStage({}, [], () => undefined).restore(checkpoint.subarray(0, n))).toThrow(StateFormatError);
    }
  });
});
