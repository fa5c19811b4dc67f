import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './helpers/run';

/**
 * The Node-RED flow library's scorecard (what `node-red-dev validate` checks; it needs the flow
 * library online, so the points are checked here), and the packed tarball's contents.
 */
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  license?: string;
  repository?: { url?: string };
  keywords?: string[];
  engines?: { node?: string };
  dependencies: Record<string, string>;
  'node-red': { version: string; nodes: Record<string, string> };
};
const nodeTypes = Object.keys(pkg['node-red'].nodes);
const html = (type: string) => readFileSync(join(ROOT, 'nodes', `${type}.html`), 'utf8');
const isConfigNode = (type: string) => /category:\s*'config'/.test(html(type));

describe('Node-RED flow library scorecard', () => {
  test('license, repository, scoped name, node-red keyword, engines.node', () => {
    expect(pkg.license).toBe('Apache-2.0');
    expect(existsSync(join(ROOT, 'LICENSE'))).toBe(true);
    expect(pkg.repository?.url).toMatch(/^https:\/\/github.com\//);
    expect(pkg.name).toMatch(/^@[a-z0-9-]+\/node-red-[a-z0-9-]+$/);
    expect(pkg.keywords).toContain('node-red');
    expect(pkg.engines?.node).toMatch(/^>=\d+/);
  });

  test('node-red.version is a range starting at 4.0', () => {
    expect(pkg['node-red'].version).toMatch(/^>=\s*4\.\d+\.\d+$/);
  });

  test('every node file registers the type it is listed under, and names are unique', () => {
    expect(new Set(nodeTypes).size).toBe(nodeTypes.length);
    for (const [type, file] of Object.entries(pkg['node-red'].nodes)) {
      const source = readFileSync(join(ROOT, 'nodes', `${type}.ts`), 'utf8');
      expect(source).toContain(`registerType('${type}'`);
      expect(html(type)).toContain(`registerType('${type}'`);
      expect(html(type)).toContain(`data-template-name="${type}"`);
      expect(html(type)).toContain(`data-help-name="${type}"`);
      expect(file).toBe(`dist/nodes/${type}.js`);
      expect(existsSync(join(ROOT, 'nodes', 'locales', 'en-US', `${type}.json`))).toBe(true);
    }
  });

  test('every non-config node appears in at least one example flow', () => {
    const used = new Set<string>();
    for (const f of readdirSync(join(ROOT, 'flows')).filter((f) => f.endsWith('.json'))) {
      for (const n of JSON.parse(readFileSync(join(ROOT, 'flows', f), 'utf8')) as { type: string }[]) used.add(n.type);
    }
    const missing = nodeTypes.filter((t) => !isConfigNode(t) && !used.has(t));
    expect(missing).toEqual([]);
    expect(nodeTypes.filter(isConfigNode)).toEqual(['tcpreuse-kafka']);
  });

  test('few dependencies, each pinned', () => {
    const deps = Object.entries(pkg.dependencies);
    expect(deps.length).toBeLessThanOrEqual(8);
    for (const [, v] of deps) expect(v).toMatch(/^\d+\.\d+\.\d+$/);
    expect(pkg.dependencies['node-red']).toBeUndefined(); // the runtime is the host, not a dependency
  });

  test('secrets are credentials, never flow properties', () => {
    expect(html('tcpreuse-kafka')).toMatch(/credentials:\s*{\s*username:\s*{\s*type:\s*'text'\s*},\s*password:\s*{\s*type:\s*'password'\s*}/);
    expect(html('tcpreuse-kafka')).not.toMatch(/defaults:[^}]*password/);
  });
});

describe('the packed tarball', () => {
  let files: string[];
  beforeAll(() => {
    const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts=false'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    files = (JSON.parse(out) as { files: { path: string }[] }[])[0].files.map((f) => f.path);
  }, 120000);

  test('has examples/ made from flows/ (Node-RED Import > Examples)', () => {
    for (const f of readdirSync(join(ROOT, 'flows')).filter((f) => f.endsWith('.json'))) expect(files).toContain(`examples/${f}`);
  });

  test('has each node runtime file with its editor file and locale next to it', () => {
    for (const type of nodeTypes) {
      expect(files).toContain(`dist/nodes/${type}.js`);
      expect(files).toContain(`dist/nodes/${type}.html`);
      expect(files).toContain(`dist/nodes/locales/en-US/${type}.json`);
    }
    expect(files).toContain('schemas/tcpreuse-event.avsc');
    expect(files.some((f) => f.startsWith('test/') || f.startsWith('src/'))).toBe(false);
    // Source maps would point at src/*.ts, which is not shipped (they were a third of the package).
    expect(files.filter((f) => f.endsWith('.map'))).toEqual([]);
  });
});
