import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PortReuseEvent, TcpReuseEvent } from '../../src/model/events';
import { BROKERS, cli, describeKafka, readTopic } from '../helpers/kafka';
import { sleep } from '../helpers/node-red';
import { analyzeCapture, CAPTURES, ROOT } from '../helpers/run';

/**
 * The package as a user gets it: packed, installed into a fresh Node-RED 4.1 user directory, the
 * runtime started as its own process, each example flow from flows/ deployed through the admin
 * API and driven (a capture file; Kafka through the real broker), outputs checked.
 */
const CAPTURE = join(CAPTURES, 'fast-reuse-timewait.pcap.gz');
const FLOW = (name: string) => JSON.parse(readFileSync(join(ROOT, 'flows', name), 'utf8')) as { id: string; type: string }[];

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

let dir: string;
let red: ChildProcess | undefined;
let base: string;
let redLog = '';

async function api(path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${base}${path}`, { ...init, headers: { 'content-type': 'application/json', ...(init.headers ?? {}) } });
}

/** Deploys a flow and waits until the runtime has started it. */
async function deploy(flows: { id: string; type: string }[]): Promise<void> {
  const r = await api('/flows', { method: 'POST', body: JSON.stringify(flows), headers: { 'Node-RED-Deployment-Type': 'full' } });
  expect(r.status).toBe(204);
  const t0 = Date.now();
  for (;;) {
    const state = (await (await api('/flows/state')).json()) as { state?: string };
    if (state.state === undefined || state.state === 'start') break;
    if (Date.now() - t0 > 10000) throw new Error(`flows did not start: ${JSON.stringify(state)}`);
    await sleep(100);
  }
  await sleep(500); // nodes finish their own start-up (Kafka clients connect) after the flow state says started
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tcpreuse-nr-e2e-'));
  const tgzName = execFileSync('npm', ['pack', '--silent', '--pack-destination', dir], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').pop()!;
  const user = join(dir, 'user');
  execFileSync('mkdir', ['-p', user]);
  writeFileSync(join(user, 'package.json'), JSON.stringify({ name: 'tcpreuse-e2e-userdir', private: true }));
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', join(dir, tgzName)], { cwd: user, stdio: ['ignore', 'ignore', 'inherit'] });
  const port = await freePort();
  writeFileSync(
    join(user, 'settings.js'),
    `module.exports = { uiPort: ${port}, uiHost: '127.0.0.1', flowFile: 'flows.json', credentialSecret: 'e2e',
       logging: { console: { level: 'warn' } }, editorTheme: { tours: false } };\n`,
  );
  base = `http://127.0.0.1:${port}`;
  red = spawn(process.execPath, [join(ROOT, 'node_modules', 'node-red', 'red.js'), '--userDir', user, '--settings', join(user, 'settings.js')], {
    env: { ...process.env, TCPREUSE_CAPTURE: CAPTURE, TCPREUSE_BROKERS: BROKERS ?? '127.0.0.1:9' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  red.stdout!.on('data', (d: Buffer) => (redLog += d.toString()));
  red.stderr!.on('data', (d: Buffer) => (redLog += d.toString()));
  const t0 = Date.now();
  for (;;) {
    try {
      if ((await fetch(`${base}/settings`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() - t0 > 60000) throw new Error(`Node-RED did not start:\n${redLog}`);
    await sleep(200);
  }
}, 300000);

afterAll(async () => {
  if (red && red.exitCode === null) {
    red.kill('SIGINT');
    await new Promise((r) => red!.once('exit', r));
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('the packed package in a real Node-RED 4.1 runtime', () => {
  test('the runtime loaded all six node types from the installed package, without errors', async () => {
    const nodes = (await (await api('/nodes', { headers: { accept: 'application/json' } })).json()) as { module: string; types: string[]; enabled: boolean; err?: string }[];
    const ours = nodes.filter((n) => n.module === '@tcpreuse/node-red-tcpreuse');
    expect(ours.every((n) => n.enabled && !n.err)).toBe(true);
    expect(ours.flatMap((n) => n.types).sort()).toEqual(['tcpreuse-decode', 'tcpreuse-flows', 'tcpreuse-kafka', 'tcpreuse-kafka-in', 'tcpreuse-kafka-out', 'tcpreuse-reuse']);
    const version = ((await (await api('/settings')).json()) as { version: string }).version;
    expect(version).toMatch(/^4\.1\./);
  });

  test('example analyze-capture-file: inject, and GET /tcpreuse/reuses serves the reuses analyze finds', async () => {
    const flow = FLOW('analyze-capture-file.json');
    await deploy(flow);
    const inject = flow.find((n) => n.type === 'inject')!;
    const r = await api(`/inject/${inject.id}`, { method: 'POST' });
    expect([r.status, await r.text(), redLog]).toEqual([200, 'OK', redLog]);
    // Neither the decode nor the flows node of the example names a sensor: "default".
    const want = (await analyzeCapture(CAPTURE, { sensor: 'default' })).filter((e): e is PortReuseEvent => e.type === 'port.reuse');
    let got: PortReuseEvent[] = [];
    const t0 = Date.now();
    while (got.length < want.length && Date.now() - t0 < 30000) {
      got = (await (await fetch(`${base}/tcpreuse/reuses`)).json()) as PortReuseEvent[];
      await sleep(200);
    }
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
    expect([got.filter((e) => e.type === 'port.reuse').map((e) => JSON.stringify(e)).sort(), redLog]).toEqual([want.map((e) => JSON.stringify(e)).sort(), redLog]);
    const flows = await readTopic('tcpreuse.flows');
    expect(flows.length).toBeGreaterThan(0);
    expect(redLog).not.toMatch(/\[error\]/);
  });
});
