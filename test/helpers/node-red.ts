import { join } from 'node:path';
import { ROOT } from './run';

/** node-red-node-test-helper, typed for what the tests use (it ships no types). */
export interface TestNode {
  on(event: 'input', listener: (msg: Record<string, unknown>) => void): void;
  receive(msg: Record<string, unknown>): void;
  status: unknown;
}
export interface Helper {
  init(nodeRedPath: string): void;
  startServer(done: () => void): void;
  stopServer(done: () => void): void;
  load(nodes: unknown[], flow: unknown[], done: () => void): void;
  load(nodes: unknown[], flow: unknown[], credentials: Record<string, unknown>, done: () => void): void;
  unload(): Promise<void>;
  getNode(id: string): TestNode;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const helper = require('node-red-node-test-helper') as Helper;
helper.init(require.resolve('node-red'));

/** The compiled node modules, as Node-RED loads them (npm test builds first). */
export const nodeModule = (name: string): unknown => require(join(ROOT, 'dist', 'nodes', `${name}.js`));

export function startServer(): Promise<void> {
  return new Promise((r) => helper.startServer(r));
}
export async function stopServer(): Promise<void> {
  await helper.unload();
  await new Promise<void>((r) => helper.stopServer(r));
}
/** Loads `flow`; `credentials` by node id (e.g. a config node's SASL user and password). */
export function load(nodes: unknown[], flow: unknown[], credentials?: Record<string, Record<string, string>>): Promise<void> {
  return new Promise((r) => (credentials ? helper.load(nodes, flow, credentials, r) : helper.load(nodes, flow, r)));
}

/** Collects what a helper node receives. */
export function collect(id: string): Record<string, unknown>[] {
  const got: Record<string, unknown>[] = [];
  helper.getNode(id).on('input', (msg) => got.push(msg));
  return got;
}

export { sleep, until } from './wait';
