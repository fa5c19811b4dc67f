import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sleep } from './node-red';
import { ROOT } from './run';

export interface NodeRedRuntime {
  base: string;
  log(): string;
  api(path: string, init?: RequestInit): Promise<Response>;
  /** Deploys a flow (full) and waits until the runtime started it. */
  deploy(flows: { id: string; type: string }[]): Promise<void>;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/**
 * The package as a user gets it: `npm pack`, installed with npm into a fresh user directory, and
 * Node-RED 4.1 (this repository's dev dependency) started on it as a child process.
 */
export async function startNodeRed(env: Record<string, string>): Promise<NodeRedRuntime> {
  const dir = mkdtempSync(join(tmpdir(), 'tcpreuse-nr-'));
  const tgz = execFileSync('npm', ['pack', '--silent', '--pack-destination', dir], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').pop()!;
  const user = join(dir, 'user');
  mkdirSync(user);
  writeFileSync(join(user, 'package.json'), JSON.stringify({ name: 'tcpreuse-userdir', private: true }));
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', join(dir, tgz)], { cwd: user, stdio: ['ignore', 'ignore', 'inherit'] });
  const port = await freePort();
  writeFileSync(
    join(user, 'settings.js'),
    `module.exports = { uiPort: ${port}, uiHost: '127.0.0.1', flowFile: 'flows.json', credentialSecret: 'test',
       logging: { console: { level: 'warn' } }, editorTheme: { tours: false, projects: { enabled: false } },
       telemetry: { enabled: false }, diagnostics: { enabled: false } };\n`,
  );
  const base = `http://127.0.0.1:${port}`;
  let log = '';
  const red = spawn(process.execPath, [join(ROOT, 'node_modules', 'node-red', 'red.js'), '--userDir', user, '--settings', join(user, 'settings.js')], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  red.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  red.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const stop = async (): Promise<void> => {
    if (red.exitCode === null && red.signalCode === null) {
      red.kill('SIGINT');
      await new Promise((r) => red.once('exit', r));
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const t0 = Date.now();
  for (;;) {
    try {
      if ((await fetch(`${base}/settings`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() - t0 > 60000) {
      await stop();
      throw new Error(`Node-RED did not start:\n${log}`);
    }
    await sleep(200);
  }
  const api = (path: string, init: RequestInit = {}) =>
    fetch(`${base}${path}`, { ...init, headers: { 'content-type': 'application/json', ...(init.headers ?? {}) } });
  return {
    base,
    log: () => log,
    api,
    async deploy(flows) {
      const r = await api('/flows', { method: 'POST', body: JSON.stringify(flows), headers: { 'Node-RED-Deployment-Type': 'full' } });
      if (r.status !== 204) throw new Error(`deploy failed: ${r.status} ${await r.text()}`);
      const t1 = Date.now();
      for (;;) {
        const state = (await (await api('/flows/state')).json()) as { state?: string };
        if (state.state === undefined || state.state === 'start') break;
        if (Date.now() - t1 > 10000) throw new Error(`flows did not start: ${JSON.stringify(state)}`);
        await sleep(100);
      }
      await sleep(500); // nodes finish their own start-up (Kafka clients connect) after the flow state says started
    },
    stop,
  };
}
