import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { lastValueFrom, toArray } from 'rxjs';
import { readCapture } from '../../src/capture/pcap-reader';
import type { TcpReuseEvent } from '../../src/model/events';
import type { PacketRecord } from '../../src/model/packet-record';
import { decodeFrames } from '../../src/operators/decode-frames';
import { analyzeCapture, CAPTURES, cutCapture, packetsBeforeDamage, ROOT, splitCapture } from '../helpers/run';
import { collect, helper, load, nodeModule, startServer, stopServer, until } from '../helpers/node-red';

const flowsNode = nodeModule('tcpreuse-flows');
const reuseNode = nodeModule('tcpreuse-reuse');
const decodeNode = nodeModule('tcpreuse-decode');
const CAPTURE_NAME = 'fast-reuse-timewait';
const CAPTURE = join(CAPTURES, `${CAPTURE_NAME}.pcap.gz`);
const SAMPLE_PATH = join(ROOT, 'samples', 'sample.pcap');

let packets: PacketRecord[];
let want: TcpReuseEvent[];
beforeAll(async () => {
  packets = await lastValueFrom(readCapture(CAPTURE).pipe(decodeFrames({ sensor: 'cap' }), toArray()));
  want = await analyzeCapture(CAPTURE, { sensor: 'cap' });
});
beforeEach(startServer);
afterEach(stopServer);

const ofType = (events: TcpReuseEvent[], t: string) => events.filter((e) => e.type === t).map((e) => JSON.stringify(e)).sort();
const payloads = (msgs: Record<string, unknown>[]) => msgs.filter((m) => m.complete !== true).map((m) => m.payload as TcpReuseEvent);

/** decode? → flows → reuse, with a helper node on every output. */
const chain = (flowsConfig: Record<string, unknown> = {}, reuseConfig: Record<string, unknown> = {}) => [
  { id: 'flows', type: 'tcpreuse-flows', sensor: 'cap', ...flowsConfig, wires: [['open', 'reuse'], ['close', 'reuse'], ['ann']] },
  { id: 'reuse', type: 'tcpreuse-reuse', ...reuseConfig, wires: [['r'], ['cyc'], ['pres'], ['stats']] },
  ...['open', 'close', 'ann', 'r', 'cyc', 'pres', 'stats'].map((id) => ({ id, type: 'helper' })),
];

describe('tcpreuse-flows and tcpreuse-reuse nodes', () => {
  test('a capture sent through them gives exactly the flow and reuse events of analyze', async () => {
    await load([flowsNode, reuseNode], chain({ annotate: true }));
    const [open, close, ann, r, stats] = ['open', 'close', 'ann', 'r', 'stats'].map(collect);
    const flows = helper.getNode('flows');
    for (let i = 0; i < packets.length; i += 25) flows.receive({ payload: packets.slice(i, i + 25) });
    flows.receive({ payload: [], complete: true });
    await until(() => stats.some((m) => m.complete === true));
    expect(payloads(open).map((e) => JSON.stringify(e)).sort()).toEqual(ofType(want, 'flow.open'));
    expect(payloads(close).map((e) => JSON.stringify(e)).sort()).toEqual(ofType(want, 'flow.close'));
    expect(payloads(r).map((e) => JSON.stringify(e)).sort()).toEqual(ofType(want, 'port.reuse'));
    expect(payloads(stats).map((e) => JSON.stringify(e)).sort()).toEqual(ofType(want, 'reuse.stats'));
    expect(ann).toHaveLength(packets.length);
    expect(open[0].key).toMatch(/^cap\|/);
    expect(open[0].topic).toBe('flow.open');
  });

  test('the status counts in words and in packet time, and keeps its totals after the end of a file', async () => {
    await load([flowsNode, reuseNode], chain());
    const stats = collect('stats');
    const texts: Record<string, string[]> = { flows: [], reuse: [] };
    for (const id of ['flows', 'reuse']) {
      const node = helper.getNode(id) as unknown as { status(s: { text?: string }): void };
      const status = node.status.bind(node);
      node.status = (s) => {
        texts[id].push(s.text ?? '');
        status(s);
      };
    }
    const flows = helper.getNode('flows');
    flows.receive({ payload: packets });
    flows.receive({ payload: [], complete: true });
    await until(() => stats.some((m) => m.complete === true));
    const opened = want.filter((e) => e.type === 'flow.open').length;
    const reuses = want.filter((e) => e.type === 'port.reuse');
    expect(texts.flows.at(-1)).toBe(`0 open, ${opened} flows seen`);
    // The capture's last minute, on the capture's clock (reading it takes well under a minute of wall time).
    const last = Math.max(...want.map((e) => e.ts));
    const inLastMinute = reuses.filter((e) => e.ts >= last - 60_000_000).length;
    expect(texts.reuse.at(-1)).toBe(`${inLastMinute} reuse${inLastMinute === 1 ? '' : 's'} in the last minute of packet time, ${reuses.length} in all`);
    expect(reuses.length).toBeGreaterThan(inLastMinute);
  });

  test('NAT collisions come out of the node chain as they come out of analyze ("interleaved")', async () => {
    const nat = join(CAPTURES, 'nat-collision.pcap.gz');
    const natPackets = await lastValueFrom(readCapture(nat).pipe(decodeFrames({ sensor: 'cap' }), toArray()));
    const natWant = await analyzeCapture(nat, { sensor: 'cap' });
    await load([flowsNode, reuseNode], chain());
    const [close, r, stats] = ['close', 'r', 'stats'].map(collect);
    const flows = helper.getNode('flows');
    for (let i = 0; i < natPackets.length; i += 25) flows.receive({ payload: natPackets.slice(i, i + 25) });
    flows.receive({ payload: [], complete: true });
    await until(() => stats.some((m) => m.complete === true));
    expect(payloads(r).map((e) => JSON.stringify(e)).sort()).toEqual(ofType(natWant, 'port.reuse'));
    expect(payloads(r).filter((e) => e.type === 'port.reuse' && e.reason.startsWith('interleaved: NAT collision'))).toHaveLength(3);
    // The evidence rides on the close output; the flow closes there are exactly analyze's.
    expect(payloads(close).filter((e) => e.type === 'flow.close').map((e) => JSON.stringify(e)).sort()).toEqual(ofType(natWant, 'flow.close'));
    expect(payloads(close).some((e) => (e as { type: string }).type === 'flow.interleave')).toBe(true);
  });

  test('the severity filter keeps port.reuse at or above it', async () => {
    await load([flowsNode, reuseNode], chain({}, { minSeverity: 'high' }));
    const r = collect('r');
    helper.getNode('flows').receive({ payload: packets });
    helper.getNode('flows').receive({ payload: [], complete: true });
    const high = want.filter((e) => e.type === 'port.reuse' && e.severity === 'high');
    await until(() => r.length >= high.length);
    expect(high.length).toBeGreaterThan(0);
    expect(payloads(r).every((e) => e.type === 'port.reuse' && e.severity === 'high')).toBe(true);
    expect(r).toHaveLength(high.length);
  });

  test('on a quiet network the idle timer still expires flows (event time moved by the watermark)', async () => {
    await load([flowsNode], [
      { id: 'flows', type: 'tcpreuse-flows', halfOpenTimeout: '0.2', idleTick: '0.05', wires: [['open'], ['close'], []] },
      { id: 'open', type: 'helper' },
      { id: 'close', type: 'helper' },
    ]);
    const close = collect('close');
    const syn = packets.find((p) => p.flags === 0x02)!;
    helper.getNode('flows').receive({ payload: syn });
    await until(() => close.length === 1, 5000);
    expect((close[0].payload as { closedBy: string }).closedBy).toBe('idle');
  });

  test('on a quiet network the reuse node still closes its statistics windows', async () => {
    await load([flowsNode, reuseNode], chain({}, { statsWindow: '0.1', idleTick: '0.05' }));
    const stats = collect('stats');
    // Two connections reusing one tuple: one reuse; then nothing more arrives.
    const reusePair = want.find((e) => e.type === 'port.reuse')!;
    const upTo = packets.filter((p) => p.frame !== undefined && p.frame <= (reusePair as { frame: number }).frame);
    helper.getNode('flows').receive({ payload: upTo });
    // The reuse's SYN is the last packet sent, so only the idle timer's watermark can close its window.
    const inLastWindow = () =>
      stats.find((m) => {
        const e = m.payload as { windowStart: number; windowEnd: number; counts: Record<string, number> };
        return e.windowStart <= reusePair.ts && reusePair.ts < e.windowEnd;
      });
    await until(() => inLastWindow() !== undefined, 5000);
    const counts = (inLastWindow()!.payload as { counts: Record<string, number> }).counts;
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(1);
  });

  test.each([
    ['one file', (): string | string[] => CAPTURE],
    ['an array of files, read one after another as one capture (a reuse may span them)', (): string | string[] => splitCapture(CAPTURE_NAME, 3).paths],
  ])('capture-file mode of tcpreuse-decode feeds the chain: msg.filename %s', async (_what, filename) => {
    await load([decodeNode, flowsNode, reuseNode], [
      { id: 'dec', type: 'tcpreuse-decode', format: 'capture-file', output: 'batch', batchSize: '50', sensor: 'cap', wires: [['flows']] },
      ...chain(),
    ]);
    const [r, stats] = ['r', 'stats'].map(collect);
    helper.getNode('dec').receive({ filename: filename() });
    await until(() => stats.some((m) => m.complete === true));
    expect(payloads(r).map((e) => JSON.stringify(e)).sort()).toEqual(ofType(want, 'port.reuse'));
  });
});

describe('a capture file damaged midway', () => {
  test('every packet before the damage goes on (the last partial batch too), then the end marker, then the error to a Catch node', async () => {
    const cut = cutCapture('fast-reuse-timewait');
    const before = await packetsBeforeDamage(cut, 'cap');
    expect(before.length % 50).not.toBe(0); // so the last batch is a partial one

    await load([decodeNode], [
      { id: 'dec', type: 'tcpreuse-decode', format: 'capture-file', output: 'batch', batchSize: '50', sensor: 'cap', wires: [['out']] },
      { id: 'out', type: 'helper' },
      { id: 'c', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper' },
    ]);
    const [out, caught] = ['out', 'caught'].map(collect);
    helper.getNode('dec').receive({ filename: cut });
    await until(() => caught.length === 1);
    const sent = out.filter((m) => m.complete !== true).flatMap((m) => m.payload as PacketRecord[]);
    expect(sent).toEqual(before);
    // Only the fields a packet has: no "undefined" entries in the debug sidebar.
    for (const p of sent) expect(Object.values(p)).not.toContain(undefined);
    expect(out[out.length - 1]).toMatchObject({ complete: true, payload: [] });
    expect((caught[0].error as { message: string }).message).toMatch(/cut\.pcap: file is truncated/);
  });
});

describe('error paths', () => {
  const withCatch = (node: Record<string, unknown>) => [
    { id: 'n', ...node, wires: [['out'], [], [], []] },
    { id: 'out', type: 'helper' },
    { id: 'c', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper' },
  ];

  test('bad config: red status, and every input fails through done(err) to a Catch node', async () => {
    await load([flowsNode], withCatch({ type: 'tcpreuse-flows', establishedTimeout: 'soon' }));
    const caught = collect('caught');
    helper.getNode('n').receive({ payload: packets[0] });
    await until(() => caught.length === 1);
    expect((caught[0].error as { message: string }).message).toMatch(/established timeout must be a number/);
  });

  test.each([
    ['tcpreuse-flows', {}, { payload: { hello: 'world' } }, /msg.payload is not a PacketRecord: field "ts" is missing/],
    ['tcpreuse-reuse', {}, { payload: { type: 'packet', ts: 1 } }, /not a flow event/],
    ['tcpreuse-decode', { format: 'json' }, { payload: 'not json {' }, /not JSON/],
    ['tcpreuse-decode', { format: 'avro' }, { payload: Buffer.from('garbage bytes') }, /neither an Avro PacketRecord nor a PacketBatch/],
    ['tcpreuse-decode', { format: 'capture-file' }, { filename: '/nonexistent/x.pcap' }, /cannot read|no such file|ENOENT/i],
    ['tcpreuse-decode', { format: 'capture-file' }, {}, /no capture file/],
    ['tcpreuse-decode', { format: 'capture-file' }, { filename: '-' }, /standard input\) is not a capture file here/],
    ['tcpreuse-decode', { format: 'capture-file' }, { filename: [] }, /msg.filename must be a path or a non-empty array of paths/],
    ['tcpreuse-decode', { format: 'capture-file' }, { filename: [SAMPLE_PATH, '/nonexistent/y.pcap'] }, /y\.pcap: no such file/],
  ])('%s %j: %j reaches the Catch node', async (type, config, msg, re) => {
    await load([flowsNode, reuseNode, decodeNode], withCatch({ type, ...config }));
    const caught = collect('caught');
    helper.getNode('n').receive(msg);
    await until(() => caught.length === 1);
    expect((caught[0].error as { message: string }).message).toMatch(re);
  });
});

describe('close and redeploy', () => {
  test('every timer the nodes start is cleared when the flow stops', async () => {
    await load([flowsNode, reuseNode], chain({ idleTick: '0.05' }, { idleTick: '0.05' }));
    const started = new Set<unknown>();
    const cleared = new Set<unknown>();
    const realSet = global.setInterval;
    const realClear = global.clearInterval;
    const setSpy = jest.spyOn(global, 'setInterval').mockImplementation(((fn: () => void, ms: number) => {
      const t = realSet(fn, ms);
      started.add(t);
      return t;
    }) as typeof setInterval);
    const clearSpy = jest.spyOn(global, 'clearInterval').mockImplementation(((t: NodeJS.Timeout) => {
      cleared.add(t);
      realClear(t);
    }) as typeof clearInterval);
    try {
      const close = collect('close');
      helper.getNode('flows').receive({ payload: packets.slice(0, 40) });
      await until(() => close.length > 0 && started.size >= 2); // both nodes' idle clocks run
      await helper.unload();
      expect([...started].filter((t) => !cleared.has(t))).toEqual([]);
    } finally {
      setSpy.mockRestore();
      clearSpy.mockRestore();
    }
  });
});

describe('every edit-dialog field reaches the operator options and is validated', () => {
  /** The fields of a node's editor defaults (the edit dialog), from its .html. */
  const fields = (type: string): string[] => {
    const html = readFileSync(join(ROOT, 'nodes', `${type}.html`), 'utf8');
    const defaults = /defaults: \{([\s\S]*?)\n    \},/.exec(html)![1];
    return [...defaults.matchAll(/^\s+(\w+): \{ value: (?!false|true)/gm)].map((m) => m[1]).filter((f) => !['name', 'sensor', 'filename'].includes(f));
  };
  const cases = [
    ...fields('tcpreuse-flows').map((f) => ['tcpreuse-flows', f] as const),
    ...fields('tcpreuse-reuse').map((f) => ['tcpreuse-reuse', f] as const),
    ...fields('tcpreuse-decode').map((f) => ['tcpreuse-decode', f] as const),
  ];

  test('the dialogs expose the operator options (not only a few)', () => {
    expect(fields('tcpreuse-flows')).toEqual(expect.arrayContaining(['establishedTimeout', 'halfOpenTimeout', 'closedTimeout', 'maxFlows', 'streamMemory', 'maxRemembered', 'idleTick']));
    expect(fields('tcpreuse-reuse')).toEqual(
      expect.arrayContaining(['timeWait', 'window', 'maxEntries', 'rstRecur', 'statsWindow', 'minConnections', 'sequentialShare', 'maxStep', 'rateWindow', 'pressureThreshold', 'maxClients', 'minSeverity']),
    );
  });

  test.each(cases)('%s: a bad %s is a configuration error the node reports', async (type, field) => {
    await load([flowsNode, reuseNode, decodeNode], [
      { id: 'n', type, format: type === 'tcpreuse-decode' && field !== 'format' ? 'pcap-record' : undefined, [field]: 'bogus', wires: [[], [], [], []] },
      { id: 'c', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper' },
    ]);
    const caught = collect('caught');
    helper.getNode('n').receive({ payload: packets[0] });
    await until(() => caught.length === 1);
    expect((caught[0].error as { message: string }).message).toMatch(/must be (a number|one of|an integer)/);
  });
});
