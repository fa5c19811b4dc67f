import { isIP } from 'node:net';
import { EcsFlat } from '@elastic/ecs/build/commonjs/ecs_flat';
import { toEcs } from '../../src/formats/ecs';
import { isoMicros } from '../../src/formats/event-facts';
import type { TcpReuseEvent } from '../../src/model/events';
import { eventCorpus } from '../helpers/event-corpus';
import { analyzeCapture, CAPTURES } from '../helpers/run';

/**
 * Every ECS document, field by field, against ECS's own released field definitions (the flat field
 * list @elastic/ecs ships): each field outside our custom namespace `tcpreuse` must be an ECS
 * field, its value of that field's type, and event.kind / category / type among ECS's allowed
 * values (event.type among those expected for the category).
 */
type FieldDef = { type: string; normalize?: string[]; allowed_values?: { name: string; expected_event_types?: string[] }[] };
const FIELDS = EcsFlat as unknown as Record<string, FieldDef>;

/** Dotted paths to leaf values (an array of scalars is one field's value, as in Elasticsearch). */
function flatten(doc: Record<string, unknown>, prefix = '', out = new Map<string, unknown>()): Map<string, unknown> {
  for (const [k, v] of Object.entries(doc)) {
    const path = prefix + k;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) flatten(v as Record<string, unknown>, path + '.', out);
    else out.set(path, v);
  }
  return out;
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;

/** Whether one value fits an ECS field type (as Elasticsearch would index it without coercion). */
function fitsType(type: string, v: unknown): boolean {
  switch (type) {
    case 'keyword':
    case 'constant_keyword':
    case 'wildcard':
    case 'match_only_text':
      return typeof v === 'string';
    case 'long':
    case 'integer':
      return typeof v === 'number' && Number.isSafeInteger(v);
    case 'float':
    case 'double':
    case 'scaled_float':
      return typeof v === 'number' && Number.isFinite(v);
    case 'boolean':
      return typeof v === 'boolean';
    case 'date':
      return typeof v === 'string' && ISO.test(v) && !Number.isNaN(Date.parse(v));
    case 'ip':
      return typeof v === 'string' && isIP(v) !== 0;
    default:
      return false; // object, nested, flattened, geo_point: none of ours should be one
  }
}

function problemsOf(doc: Record<string, unknown>): string[] {
  const problems: string[] = [];
  for (const [path, value] of flatten(doc)) {
    if (path === 'tcpreuse' || path.startsWith('tcpreuse.')) continue;
    const def = FIELDS[path];
    if (!def) {
      problems.push(`${path}: not an ECS field`);
      continue;
    }
    const values = Array.isArray(value) ? value : [value];
    if (Array.isArray(value) && !def.normalize?.includes('array')) problems.push(`${path}: an array, but ECS does not make it one`);
    for (const v of values) if (!fitsType(def.type, v)) problems.push(`${path}: ${JSON.stringify(v)} is not ${def.type}`);
    if (def.allowed_values) {
      const allowed = def.allowed_values.map((a) => a.name);
      for (const v of values) if (!allowed.includes(String(v))) problems.push(`${path}: ${JSON.stringify(v)} is not one of ECS's ${allowed.join(', ')}`);
    }
  }
  // event.type: among the types ECS expects for each event.category given.
  const event = doc.event as { category: string[]; type: string[] };
  for (const c of event.category) {
    const expected = FIELDS['event.category'].allowed_values!.find((a) => a.name === c)?.expected_event_types ?? [];
    for (const t of event.type) if (!expected.includes(t)) problems.push(`event.type ${t} is not expected for category ${c}`);
  }
  return problems;
}

/** Where ECS has the event fields that are not repeated under tcpreuse.*, and whether the document says the same. */
/* eslint-disable @typescript-eslint/no-explicit-any */
const ECS_HOME: Record<string, (doc: Record<string, any>, v: any, e: any) => boolean> = {
  type: (d, v) => d.event.action === v,
  ts: (d, v) => d['@timestamp'] === isoMicros(v),
  sensor: (d, v) => d.observer.name === v,
  client: (d, v) => (typeof v === 'string' ? d.source.ip === v : d.source.ip === v.ip && d.source.port === v.port),
  server: (d, v) => (v === null ? d.destination === undefined : d.destination.ip === v.ip && d.destination.port === v.port),
  communityId: (d, v) => (v === null ? d.network.community_id === undefined : d.network.community_id === v),
  vlan: (d, v) => (v === null ? d.network.vlan === undefined : d.network.vlan.id === String(v)),
  startTs: (d, v) => d.event.start === isoMicros(v),
  endTs: (d, v) => d.event.end === isoMicros(v),
  durationS: (d, _v, e) => d.event.duration === (e.endTs - e.startTs) * 1000,
  packets: (d, v) => d.source.packets === v.c2s && d.destination.packets === v.s2c,
  bytes: (d, v) => d.source.bytes === v.c2s && d.destination.bytes === v.s2c,
  reason: (d, v) => d.event.reason === v,
};
/* eslint-enable @typescript-eslint/no-explicit-any */

let corpus: { name: string; events: TcpReuseEvent[] }[];
beforeAll(async () => {
  corpus = await eventCorpus();
});

describe('ECS output', () => {
  const seen = new Set<string>();

  test('every event of every generated capture is a valid ECS document, ours only under tcpreuse.*', () => {
    const problems = new Set<string>();
    for (const { name, events } of corpus) for (const e of events) {
      seen.add(e.type);
      const doc = toEcs(e);
      for (const p of problemsOf(doc)) problems.add(`${name} ${e.type}: ${p}`);
      // Nothing of the event is lost: each field is in the custom namespace or where ECS has it.
      const ours = doc.tcpreuse as Record<string, unknown>;
      for (const [k, v] of Object.entries(e)) {
        const snake = k.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase());
        if (snake in ours) expect(JSON.stringify(ours[snake]).length).toBeGreaterThan(0);
        else if (!ECS_HOME[k]?.(doc as Record<string, any>, v, e)) problems.add(`${e.type}: ${k} is neither under tcpreuse.* nor in its ECS field`); // eslint-disable-line @typescript-eslint/no-explicit-any
      }
      expect(Date.parse(doc['@timestamp'] as string)).toBe(Math.floor(e.ts / 1000));
    }
    expect([...problems]).toEqual([]);
  });

  test('was checked on every event type', () => {
    expect([...seen].sort()).toEqual(['flow.close', 'flow.open', 'packet', 'port.cycle', 'port.pressure', 'port.reuse', 'reuse.stats']);
  });

  test('a flow.close maps onto ECS as its fields say', async () => {
    const events = await analyzeCapture(`${CAPTURES}/vlan-mixed.pcap.gz`);
    const close = events.find((e): e is Extract<TcpReuseEvent, { type: 'flow.close' }> => e.type === 'flow.close' && e.vlan !== null)!;
    const doc = toEcs(close) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(doc.event).toMatchObject({ kind: 'event', category: ['network'], type: ['connection', 'end'], duration: (close.endTs - close.startTs) * 1000 });
    expect(doc.source).toEqual({ ip: close.client.ip, port: close.client.port, packets: close.packets.c2s, bytes: close.bytes.c2s });
    expect(doc.destination).toEqual({ ip: close.server.ip, port: close.server.port, packets: close.packets.s2c, bytes: close.bytes.s2c });
    expect(doc.network).toMatchObject({ transport: 'tcp', community_id: close.communityId, vlan: { id: String(close.vlan) } });
    expect(doc.observer.name).toBe(close.sensor);
    expect(doc.tcpreuse).toMatchObject({ flow_id: close.flowId, closed_by: close.closedBy, active_closer: close.activeCloser, history: close.history });
  });

  test('a port.reuse is an alert with its severity, reason and rule', async () => {
    const events = await analyzeCapture(`${CAPTURES}/fast-reuse-timewait.pcap.gz`);
    const reuse = events.find((e): e is Extract<TcpReuseEvent, { type: 'port.reuse' }> => e.type === 'port.reuse' && e.severity === 'high')!;
    const doc = toEcs(reuse) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(doc.event).toMatchObject({ kind: 'alert', severity: 4, reason: reuse.reason, id: `${reuse.flowId}:reuse` });
    expect(doc.rule.name).toBe(`tcp-port-reuse-${reuse.kind}`);
    expect(doc.tcpreuse).toMatchObject({ kind: reuse.kind, gap_s: reuse.gapS, previous_end: reuse.previousEnd, previous_flow_id: reuse.previousFlowId });
  });
});
