import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PortReuseEvent, TcpReuseEvent } from '../../src/model/events';
import { BROKERS, cli, describeKafka, readTopic } from '../helpers/kafka';
import { sleep } from '../helpers/node-red';
import { startNodeRed, type NodeRedRuntime } from '../helpers/node-red-runtime';
import { analyzeCapture, CAPTURES, ROOT } from '../helpers/run';

/**
 * The package as a user gets it: packed, installed into a fresh Node-RED 4.1 user directory, the
 * runtime started as its own process, each example flow from flows/ deployed through the admin
 * API and driven (a capture file; Kafka through the real broker), outputs checked.
 */
const CAPTURE = join(CAPTURES, 'fast-reuse-timewait.pcap.gz');
const FLOW = (name: string) => JSON.parse(readFileSync(join(ROOT, 'flows', name), 'utf8')) as { id: string; type: string }[];

let rt: NodeRedRuntime;
let base: string;
const api = (path: string, init?: RequestInit) => rt.api(path, init);
const deploy = (flows: { id: string; type: string }[]) => rt.deploy(flows);

beforeAll(async () => {
  rt = await startNodeRed({ TCPREUSE_CAPTURE: CAPTURE, TCPREUSE_BROKERS: BROKERS ?? '127.0.0.1:9' });
  base = rt.base;
}, 300000);
afterAll(() => rt?.stop());

describe('the packed package in a real Node-RED 4.1 runtime', () => {
  test('the runtime loaded every node type of the installed package, without errors', async () => {
    const nodes = (await (await api('/nodes', { headers: { accept: 'application/json' } })).json()) as { module: string; types: string[]; enabled: boolean; err?: string }[];
    const ours = nodes.filter((n) => n.module === '@tcpreuse/node-red-tcpreuse');
    expect(ours.every((n) => n.enabled && !n.err)).toBe(true);
    expect(ours.flatMap((n) => n.types).sort()).toEqual(['tcpreuse-decode', 'tcpreuse-flows', 'tcpreuse-kafka', 'tcpreuse-kafka-in', 'tcpreuse-kafka-out', 'tcpreuse-reuse', 'tcpreuse-siem']);
    const version = ((await (await api('/settings')).json()) as { version: string }).version;
    expect(version).toMatch(/^4\.1\./);
  });

  test('example analyze-capture-file: inject, and GET /tcpreuse/reuses serves the reuses analyze finds (pressing it twice counts each once)', async () => {
    const flow = FLOW('analyze-capture-file.json');
    await deploy(flow);
    const inject = flow.find((n) => n.type === 'inject')!;
    const r = await api(`/inject/${inject.id}`, { method: 'POST' });
    expect([r.status, await r.text(), rt.log()]).toEqual([200, 'OK', rt.log()]);
    // Neither the decode nor the flows node of the example names a sensor: "default".
    const want = (await analyzeCapture(CAPTURE, { sensor: 'default' })).filter((e): e is PortReuseEvent => e.type === 'port.reuse');
    let got: PortReuseEvent[] = [];
    const t0 = Date.now();
    while (got.length < want.length && Date.now() - t0 < 30000) {
      got = (await (await fetch(`${base}/tcpreuse/reuses`)).json()) as PortReuseEvent[];
      await sleep(200);
    }
    expect(got.map((e) => JSON.stringify(e)).sort()).toEqual(want.map((e) => JSON.stringify(e)).sort());
    // The same capture again: the same reuses, each once.
    expect((await api(`/inject/${inject.id}`, { method: 'POST' })).status).toBe(200);
    await sleep(3000);
    got = (await (await fetch(`${base}/tcpreuse/reuses`)).json()) as PortReuseEvent[];
    expect(got.map((e) => JSON.stringify(e)).sort()).toEqual(want.map((e) => JSON.stringify(e)).sort());
  });
});

describeKafka('the Kafka example flow in the real runtime', () => {
  test('example kafka-pipeline: packets replayed to tcpreuse.packets come out as reuse alerts on tcpreuse.alerts', async () => {
    await deploy(FLOW('kafka-pipeline.json'));
    await cli(['replay', CAPTURE, '--topic', 'tcpreuse.packets', '--partitions', '1', '--batch-size', '50', '--sensor', 'cap', '--log-level', 'warn']);
    const want = (await analyzeCapture(CAPTURE, { sensor: 'cap' })).filter((e) => e.type === 'port.reuse');
    let got: TcpReuseEvent[] = [];
    const t0 = Date.now();
    while (got.filter((e) => e.type === 'port.reuse').length < want.length && Date.now() - t0 < 60000) {
      got = (await readTopic('tcpreuse.alerts')).map((m) => JSON.parse(m.value.toString()) as TcpReuseEvent);
      await sleep(500);
    }
    expect([got.filter((e) => e.type === 'port.reuse').map((e) => JSON.stringify(e)).sort(), rt.log()]).toEqual([want.map((e) => JSON.stringify(e)).sort(), rt.log()]);
    const flows = await readTopic('tcpreuse.flows');
    expect(flows.length).toBeGreaterThan(0);
    expect(rt.log()).not.toMatch(/\[error\]/);
  });
});
