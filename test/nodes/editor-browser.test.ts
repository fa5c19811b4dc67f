import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startNodeRed, type NodeRedRuntime } from '../helpers/node-red-runtime';
import { CAPTURES, ROOT } from '../helpers/run';

/**
 * The real editor in headless Debian Chromium (playwright-core): the package's nodes are in the
 * palette, each node's edit dialog opens with its fields, its help renders in the sidebar, and a
 * screenshot of each (and of the example flow) lands in test-output/node-red/.
 */
const CHROMIUM = process.env.TCPREUSE_CHROMIUM ?? '/usr/bin/chromium';
const HAS_CHROMIUM = existsSync(CHROMIUM);
if (!HAS_CHROMIUM) {
  if (process.env.CI) throw new Error(`Chromium not found at ${CHROMIUM}: CI must run the browser test (.ci/run installs Debian's chromium)`);
  process.stderr.write(`\n*** SKIPPING the Node-RED editor browser test: no Chromium at ${CHROMIUM} (apt-get install chromium) ***\n`);
}
const describeBrowser = HAS_CHROMIUM ? describe : describe.skip;

const OUT = join(ROOT, 'test-output', 'node-red');
const flow = (name: string) => JSON.parse(readFileSync(join(ROOT, 'flows', name), 'utf8')) as { id: string; type: string; z?: string }[];
const NODE_TYPES = Object.keys((JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { 'node-red': { nodes: Record<string, string> } })['node-red'].nodes);

/** Nodes as an early version saved them: a few options only, none of those added later. */
const OLD_FLOW = [
  { id: 'old-tab', type: 'tab', label: 'saved before an upgrade' },
  { id: 'old-flows', type: 'tcpreuse-flows', z: 'old-tab', name: '', establishedTimeout: '300', x: 200, y: 80, wires: [['old-reuse'], ['old-reuse'], []] },
  { id: 'old-reuse', type: 'tcpreuse-reuse', z: 'old-tab', name: '', timeWait: '60', window: '14400', x: 420, y: 80, wires: [[], [], [], []] },
];

let rt: NodeRedRuntime;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  if (!HAS_CHROMIUM) return;
  mkdirSync(OUT, { recursive: true });
  rt = await startNodeRed({ TCPREUSE_CAPTURE: join(CAPTURES, 'fast-reuse-timewait.pcap.gz'), TCPREUSE_BROKERS: '127.0.0.1:9' });
  // Both examples on their tabs, so every node type has an instance to open; and a tab as a flow saved
  // by an older version would be, without the options added since.
  await rt.deploy([...flow('analyze-capture-file.json'), ...flow('kafka-pipeline.json'), ...OLD_FLOW]);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  page = await browser.newPage({ viewport: { width: 1500, height: 900 } });
  await page.goto(rt.base);
  await page.waitForSelector('#red-ui-palette-container .red-ui-palette-node', { timeout: 60000 });
  await page.waitForFunction(() => (globalThis as unknown as { RED?: { nodes?: { getNodeList?: unknown } } }).RED?.nodes !== undefined);
}, 300000);

afterAll(async () => {
  await browser?.close();
  await rt?.stop();
});

describeBrowser('the Node-RED editor with the tcpreuse palette', () => {
  test('every node of the package is in the palette, in the tcpreuse category', async () => {
    for (const type of NODE_TYPES.filter((t) => t !== 'tcpreuse-kafka')) {
      const el = page.locator(`#red-ui-palette-container-tcpreuse .red-ui-palette-node[data-palette-type="${type}"]`);
      await el.waitFor({ timeout: 10000 });
      expect(await el.count()).toBe(1);
    }
    await page.screenshot({ path: join(OUT, 'workspace.png') });
  });

  test.each(NODE_TYPES)('%s: the edit dialog opens with its fields and its help renders', async (type) => {
    const node = [...flow('analyze-capture-file.json'), ...flow('kafka-pipeline.json')].find((n) => n.type === type)!;
    await page.evaluate(
      ({ id, type: t }) => {
        const RED = (globalThis as unknown as { RED: Record<string, any> }).RED; // eslint-disable-line @typescript-eslint/no-explicit-any
        if (t === 'tcpreuse-kafka') RED.editor.editConfig('', t, id);
        else {
          const n = RED.nodes.node(id);
          RED.workspaces.show(n.z);
          RED.editor.edit(n);
        }
      },
      { id: node.id, type },
    );
    const prefix = type === 'tcpreuse-kafka' ? 'node-config-input' : 'node-input';
    await page.locator(`.red-ui-tray #${prefix}-name`).first().waitFor({ state: 'visible', timeout: 10000 });
    const fields = await page.locator(`.red-ui-tray [id^="${prefix}-"]`).count();
    expect(fields).toBeGreaterThan(2);
    // The long dialogs are grouped in tabs: the first tab's fields shown, the others' hidden until chosen.
    const LATER_TAB: Record<string, [string, string]> = { 'tcpreuse-reuse': ['maxClients', 'cycles'], 'tcpreuse-flows': ['communityIdSeed', 'limits'] };
    if (LATER_TAB[type]) {
      const [field, tab] = LATER_TAB[type];
      expect(await page.locator(`.red-ui-tray #node-input-${field}`).isVisible()).toBe(false);
      await page.locator(`.red-ui-tray li.red-ui-tab a[href="#${type}-tab-${tab}"]`).click();
      await page.locator(`.red-ui-tray #node-input-${field}`).waitFor({ state: 'visible', timeout: 5000 });
    }
    // The help of the node type, in the sidebar's help tab.
    await page.evaluate((t) => (globalThis as unknown as { RED: { sidebar: { help: { show(t: string): void } } } }).RED.sidebar.help.show(t), type);
    // The node's help page in the sidebar's help tab, with the sections every tcpreuse help has.
    const help = page.locator('.red-ui-sidebar-help-stack .red-ui-help', { hasText: 'Details' });
    await help.first().waitFor({ state: 'visible', timeout: 10000 });
    const text = (await help.first().textContent()) ?? '';
    expect(text).toMatch(/Details/);
    expect(text).toMatch(/References/);
    await page.screenshot({ path: join(OUT, `${type}.png`) });
    // Cancel closes the dialog without changes.
    await page.locator('.red-ui-tray #node-dialog-cancel, .red-ui-tray #node-config-dialog-cancel').first().click();
    await page.locator('.red-ui-tray').first().waitFor({ state: 'detached', timeout: 10000 }).catch(() => undefined);
  });

  test('every node of the examples is valid (no red triangle), and so are nodes saved before newer options existed, which take their defaults', async () => {
    const nodes = await page.evaluate(() => {
      const RED = (globalThis as unknown as { RED: Record<string, any> }).RED; // eslint-disable-line @typescript-eslint/no-explicit-any
      const all: { id: string; type: string; valid: boolean; errors: unknown; props: Record<string, unknown> }[] = [];
      const add = (n: any) => { // eslint-disable-line @typescript-eslint/no-explicit-any
        if (!String(n.type).startsWith('tcpreuse')) return;
        const props = Object.fromEntries(Object.keys(n._def.defaults).map((k) => [k, n[k]]));
        all.push({ id: n.id, type: n.type, valid: n.valid !== false, errors: n.validationErrors ?? null, props });
      };
      RED.nodes.eachNode(add);
      RED.nodes.eachConfig(add);
      return all;
    });
    expect(nodes.length).toBeGreaterThanOrEqual(9);
    expect(nodes.filter((n) => !n.valid)).toEqual([]);
    const reuse = nodes.find((n) => n.id === 'old-reuse')!;
    expect(reuse.props).toMatchObject({ timeWait: '60', rstRecur: '1', interleaveWait: '2', minConnections: '32', maxClients: '100000', includeQuietClients: false });
    expect(nodes.find((n) => n.id === 'old-flows')!.props).toMatchObject({ maxRemembered: '1000000', idleTick: '1', annotate: false });
  });

  test('a screenshot of the capture-file example flow', async () => {
    await page.evaluate(() => {
      const RED = (globalThis as unknown as { RED: { workspaces: { show(id: string): void }; menu: { setSelected(id: string, on: boolean): void } } }).RED;
      RED.workspaces.show('a1b2c3d4e5f60001');
      RED.menu.setSelected('menu-item-sidebar', false); // the flow, not the help, in the picture
    });
    await page.waitForTimeout(500);
    await page.screenshot({ path: join(OUT, 'example-analyze-capture-file.png'), clip: { x: 0, y: 0, width: 1500, height: 360 } });
    expect(existsSync(join(OUT, 'example-analyze-capture-file.png'))).toBe(true);
  });
});
