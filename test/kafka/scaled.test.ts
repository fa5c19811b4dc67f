/**
 * The scaled consumer (`consume --app-id`, docs/scale-out.md) against the real broker: 1, 2 and 3
 * instances (separate processes) on 12-partition input topics filled by replaying the generated
 * captures and a client whose connections, and port cycle, spread over many servers; the union of
 * what they write equals `analyze --json` on the same captures: every reuse (all but the stream
 * numbers, which are per partition here), cycle, pressure and statistics record, and every
 * connection, with no repeats when nothing fails.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TcpReuseEvent } from '../../src/model/events';
import { cli, describeKafka, killChildren, readTopic, runCli, uniqueName, type CliRun } from '../helpers/kafka';
import { capturePath } from '../helpers/run';
import { expectEquivalent, pcapOfPackets, spreadClientScenario } from '../helpers/scaled-analysis';

const CAPTURES = ['kernel-reuse', 'nat-collision', 'reuse-while-open', 'rst-then-reuse', 'fast-reuse-timewait', 'syn-retransmit', 'midstream-start', 'vlan-mixed', 'ipv6-reuse', 'xp-ephemeral-cycle'];

const dir = mkdtempSync(join(tmpdir(), 'tcpreuse-scaled-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => killChildren());

interface Input {
  /** One input topic per capture (each its own sensor and its own clocks), and what analyze says of it. */
  topics: string[];
  want: TcpReuseEvent[];
}

const parseLines = (text: string): TcpReuseEvent[] =>
  text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as TcpReuseEvent);

async function prepareInput(id: string): Promise<Input> {
  const spread = join(dir, `${id}-spread.pcap`);
  writeFileSync(spread, pcapOfPackets(spreadClientScenario(6000)));
  const captures = [...CAPTURES.map((c) => ({ name: c, path: capturePath(c) })), { name: 'spread', path: spread }];
  const topics: string[] = [];
  const want: TcpReuseEvent[] = [];
  for (const c of captures) {
    const topic = `${id}.in.${c.name}`;
    topics.push(topic);
    await cli(['replay', c.path, '--topic', topic, '--partitions', '12', '--sensor', c.name, '--batch-size', '200', '--log-level', 'warn']);
    want.push(...parseLines((await cli(['analyze', c.path, '--json', '--sensor', c.name])).stdout));
  }
  return { topics, want };
}

async function consumeWith(instances: number, input: Input, id: string): Promise<{ events: TcpReuseEvent[]; runs: CliRun[] }> {
  const args = ['consume', '--topic', input.topics.join(','), '--app-id', `${id}.app`, '--until-end', '--no-metrics', '--flows-topic', `${id}.flows`, '--alerts-topic', `${id}.alerts`,
    '--dlq-topic', `${id}.dlq`, '--checkpoint-interval', '0.5', '--session-timeout-ms', '10000', '--log-level', process.env.SCALED_LOG ?? 'info'];
  const runs = await Promise.all(Array.from({ length: instances }, () => runCli(args).done));
  for (const r of runs) if (r.code !== 0) throw new Error(`an instance exited ${r.code ?? r.signal}:\n${r.stderr.slice(-(Number(process.env.SCALED_TAIL ?? 4000)))}`);
  const events = [...(await readTopic(`${id}.flows`)), ...(await readTopic(`${id}.alerts`))].map((m) => JSON.parse(m.value.toString()) as TcpReuseEvent);
  return { events, runs };
}

describeKafka('scaled consumer (--app-id) against a real broker', () => {
  let input: Input;
  const base = uniqueName('sc');
  beforeAll(async () => {
    input = await prepareInput(base);
    expect(input.want.some((e) => e.type === 'port.cycle')).toBe(true);
  }, 300_000);

  test.each([1, 2, 3])('%i instance(s): the union of their outputs equals analyze --json, nothing twice', async (instances) => {
    const id = `${base}.${instances}`;
    const { events, runs } = await consumeWith(instances, input, id);
    const keys = events.map((e) => JSON.stringify(e));
    const repeats = keys.length - new Set(keys).size;
    if (repeats > 0) {
      // Say which events came twice and how the group moved, so a rare repeat can be explained.
      const seen = new Set<string>();
      const twice = keys.filter((k) => seen.has(k) || !seen.add(k)).slice(0, 5);
      const moves = runs.map((r, i) => `instance ${i}:\n${r.stderr.split('\n').filter((l) => /"msg":"(partitions assigned|task restored|stopping|input consumed to its end|The group is rebalancing, re-joining|tasks checkpointed before|checkpoints before the rebalance)/.test(l)).join('\n')}`);
      throw new Error(`${repeats} events written twice, e.g.\n${twice.join('\n')}\n${moves.join('\n')}`);
    }
    expectEquivalent(events, input.want);
    // Every instance ended by itself once the group's input was consumed (issue #21: the second
    // of two --until-end instances used to wait for ever).
    expect(runs.map((r) => /"reason":"end of input"/.test(r.stderr))).toEqual(runs.map(() => true));
  }, 300_000);
});
