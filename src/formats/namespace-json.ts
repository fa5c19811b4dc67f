import type { FlowCloseEvent, FlowOpenEvent, PortReuseEvent } from '../model/events';
import { bool, lit, num, piece, str } from '../util/json-bytes';

/** The per-connection events the byte writers of the SIEM formats cover. */
export type ConnectionEvent = FlowOpenEvent | FlowCloseEvent | PortReuseEvent;

/**
 * The scalar fields of each per-connection event, in the operators' order (the order
 * JSON.stringify(snakeCased(e)) writes them). Objects (client, server, packets, bytes) are left out:
 * both formats map them to their own fields.
 */
const SCALARS: Record<ConnectionEvent['type'], readonly string[]> = {
  'flow.open': ['type', 'ts', 'sensor', 'flowId', 'communityId', 'stream', 'clientBy', 'openedBy', 'reused', 'wireshark', 'frame', 'vlan'],
  'flow.close': ['type', 'ts', 'sensor', 'flowId', 'communityId', 'stream', 'clientBy', 'openedBy', 'reused', 'wireshark', 'frame', 'vlan',
    'startTs', 'endTs', 'durationS', 'closedBy', 'activeCloser', 'state', 'history'],
  'port.reuse': ['type', 'ts', 'sensor', 'flowId', 'communityId', 'previousFlowId', 'stream', 'previousStream', 'frame', 'kind', 'previousEnd',
    'activeCloser', 'gapS', 'timeWaitS', 'severity', 'reason', 'wireshark'],
};

const NULL = piece('null');
const snake = (k: string): string => k.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase());

/**
 * A writer of a format's custom namespace for the per-connection events: `open` (e.g.
 * `,"tcpreuse":{`), then the event's scalar fields the format does not map (`omit`) with snake_case
 * names, as snakeCased(e, omit) would give them; the caller closes the object. The key pieces are
 * made once per format and event type.
 */
export function namespaceWriter(open: string, omit: ReadonlySet<string>): (b: Buffer, at: number, e: ConnectionEvent) => number {
  const fields = {} as Record<ConnectionEvent['type'], { name: string; key: Uint8Array }[]>;
  for (const [type, names] of Object.entries(SCALARS) as [ConnectionEvent['type'], readonly string[]][]) {
    fields[type] = names.filter((n) => !omit.has(n)).map((name, i) => ({ name, key: piece(`${i === 0 ? open : ','}${JSON.stringify(snake(name))}:`) }));
  }
  return (b, at, e) => {
    const record = e as unknown as Record<string, unknown>;
    for (const f of fields[e.type]) {
      at = lit(b, at, f.key);
      const v = record[f.name];
      if (typeof v === 'number') at = num(b, at, v);
      else if (typeof v === 'string') at = str(b, at, v);
      else if (typeof v === 'boolean') at = bool(b, at, v);
      else at = lit(b, at, NULL);
    }
    return at;
  };
}
