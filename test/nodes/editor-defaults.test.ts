import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { lastValueFrom, toArray } from 'rxjs';
import { readCapture } from '../../src/capture/pcap-reader';
import type { PacketRecord } from '../../src/model/packet-record';
import { decodeFrames } from '../../src/operators/decode-frames';
import { analyzeCapture, CAPTURES, ROOT } from '../helpers/run';
import { collect, helper, load, nodeModule, startServer, stopServer, until } from '../helpers/node-red';

/**
 * A node dropped from the palette starts with the defaults of its editor (.html), so those values
 * must be ones the runtime accepts and that work: the first test of each node, as in Node-RED core.
 */
const editorDefaults = (type: string): Record<string, unknown> => {
  const html = readFileSync(join(ROOT, 'nodes', `${type}.html`), 'utf8');
  const block = /defaults: \{([\s\S]*?)\n    \},/.exec(html)![1];
  const config: Record<string, unknown> = {};
  for (const m of block.matchAll(/^\s+(\w+): \{ value: ('([^']*)'|true|false)/gm)) config[m[1]] = m[3] ?? m[2] === 'true';
  return config;
};

const CAPTURE = join(CAPTURES, 'fast-reuse-timewait.pcap.gz');
let packets: PacketRecord[];
beforeAll(async () => {
  packets = await lastValueFrom(readCapture(CAPTURE).pipe(decodeFrames({ sensor: 'cap' }), toArray()));
});
beforeEach(startServer);
afterEach(stopServer);

/** `node` with a helper on its first output and a Catch node that would see a configuration error. */
const withCatch = (node: Record<string, unknown>, outputs: number, extra: Record<string, unknown>[] = []) => [
  { id: 'n', ...node, wires: [['out'], ...Array.from({ length: outputs - 1 }, () => [])] },
  ...extra,
  { id: 'out', type: 'helper' },
  { id: 'c', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
  { id: 'caught', type: 'helper' },
];

describe('each node loads with its editor defaults and works', () => {
  test('the editor defaults are read from the .html (so the tests below test something)', () => {
    expect(editorDefaults('tcpreuse-flows')).toMatchObject({ establishedTimeout: '300', halfOpenTimeout: '30', annotate: false });
    expect(editorDefaults('tcpreuse-reuse')).toMatchObject({ timeWait: '60', minSeverity: 'info' });
    expect(editorDefaults('tcpreuse-decode')).toMatchObject({ format: 'json', output: 'packet' });
  });

  test('the example flows set every option of every tcpreuse node (so they show what can be set, and stay current)', () => {
    for (const file of readdirSync(join(ROOT, 'flows')).filter((f) => f.endsWith('.json'))) {
      const nodes = JSON.parse(readFileSync(join(ROOT, 'flows', file), 'utf8')) as Record<string, unknown>[];
      for (const node of nodes.filter((n) => String(n.type).startsWith('tcpreuse'))) {
        const missing = Object.keys(editorDefaults(String(node.type))).filter((k) => !(k in node));
        expect({ file, id: node.id, missing }).toEqual({ file, id: node.id, missing: [] });
      }
    }
  });

  test('tcpreuse-decode: a JSON packet in, the PacketRecord out', async () => {
    await load([nodeModule('tcpreuse-decode')], withCatch({ type: 'tcpreuse-decode', ...editorDefaults('tcpreuse-decode') }, 1));
    const [out, caught] = ['out', 'caught'].map(collect);
    helper.getNode('n').receive({ payload: JSON.stringify(packets[0]) });
    await until(() => out.length === 1 || caught.length > 0);
    expect(caught).toEqual([]);
    expect(out[0].payload).toEqual(packets[0]);
  });

  test('tcpreuse-flows: a SYN in, a flow.open on output 1', async () => {
    await load([nodeModule('tcpreuse-flows')], withCatch({ type: 'tcpreuse-flows', ...editorDefaults('tcpreuse-flows') }, 3));
    const [out, caught] = ['out', 'caught'].map(collect);
    helper.getNode('n').receive({ payload: packets[0] });
    await until(() => out.length === 1 || caught.length > 0);
    expect(caught).toEqual([]);
    expect(out[0]).toMatchObject({ topic: 'flow.open', payload: { type: 'flow.open', openedBy: 'syn' } });
  });

  test('tcpreuse-reuse behind tcpreuse-flows, both on defaults: the capture\'s reuses on output 1', async () => {
    const want = (await analyzeCapture(CAPTURE, { sensor: 'cap' })).filter((e) => e.type === 'port.reuse');
    expect(want.length).toBeGreaterThan(0);
    const flows = { id: 'flows', type: 'tcpreuse-flows', ...editorDefaults('tcpreuse-flows'), sensor: 'cap', wires: [['n'], ['n'], []] };
    await load([nodeModule('tcpreuse-flows'), nodeModule('tcpreuse-reuse')], withCatch({ type: 'tcpreuse-reuse', ...editorDefaults('tcpreuse-reuse') }, 4, [flows]));
    const [out, caught] = ['out', 'caught'].map(collect);
    helper.getNode('flows').receive({ payload: packets });
    helper.getNode('flows').receive({ payload: [], complete: true });
    await until(() => out.filter((m) => m.complete !== true).length >= want.length || caught.length > 0);
    expect(caught).toEqual([]);
    expect(out.filter((m) => m.complete !== true).map((m) => m.payload)).toEqual(want);
  });
});
