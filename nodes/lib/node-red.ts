/**
 * The slice of the Node-RED runtime API our nodes use (Node-RED 1.0+ message API: send/done),
 * typed here instead of pulling @types/node-red and its dependency tree into the package.
 */
export interface NodeMessage {
  _msgid?: string;
  topic?: string;
  payload?: unknown;
  [key: string]: unknown;
}

export type NodeStatus = { fill?: 'red' | 'green' | 'yellow' | 'blue' | 'grey'; shape?: 'ring' | 'dot'; text?: string } | Record<string, never>;

export interface Node {
  id: string;
  on(event: 'input', listener: (msg: NodeMessage, send: (msg: NodeMessage | (NodeMessage | NodeMessage[] | null)[]) => void, done: (err?: Error) => void) => void): void;
  on(event: 'close', listener: (removed: boolean, done: () => void) => void): void;
  send(msg: NodeMessage | (NodeMessage | NodeMessage[] | null)[]): void;
  status(status: NodeStatus): void;
  error(err: unknown, msg?: NodeMessage): void;
  warn(message: unknown): void;
  log(message: unknown): void;
  credentials?: Record<string, string | undefined>;
}

export interface NodeAPI {
  nodes: {
    createNode(node: object, config: object): void;
    registerType(type: string, constructor: (this: Node, config: never) => void, options?: { credentials?: Record<string, { type: 'text' | 'password' }> }): void;
    getNode(id: string): unknown;
  };
  util: { generateId(): string; cloneMessage<T>(msg: T): T };
  _(key: string, substitutions?: Record<string, unknown>): string;
}
