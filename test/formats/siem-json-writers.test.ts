import { toEcs } from '../../src/formats/ecs';
import { writeEcsJson } from '../../src/formats/ecs-json';
import { hasOcsfClass, toOcsf } from '../../src/formats/ocsf';
import { writeOcsfJson } from '../../src/formats/ocsf-json';
import type { FlowCloseEvent, PortReuseEvent, TcpReuseEvent } from '../../src/model/events';
import { ByteWriter } from '../../src/util/byte-writer';
import { eventCorpus } from '../helpers/event-corpus';

/**
 * The consumer writes ECS and OCSF documents byte by byte (ecs-json.ts, ocsf-json.ts) instead of
 * stringifying the objects toEcs/toOcsf build. The objects are what the schema tests validate, so
 * the bytes must be exactly their JSON: on every event of every generated capture, and on events
 * whose strings and numbers take JSON.stringify's less common paths.
 */
const WRITERS = [
  { name: 'ECS', write: writeEcsJson, doc: (e: TcpReuseEvent) => toEcs(e) },
  { name: 'OCSF', write: writeOcsfJson, doc: (e: TcpReuseEvent) => (hasOcsfClass(e) ? toOcsf(e) : null) },
];

function written(write: (w: ByteWriter, e: TcpReuseEvent) => void, e: TcpReuseEvent): string {
  const w = new ByteWriter(16); // small: the writer must make its own room
  w.text('prefix ');
  write(w, e);
  return w.buf.toString('utf8', 0, w.at).slice('prefix '.length);
}

let corpus: { name: string; events: TcpReuseEvent[] }[];
beforeAll(async () => {
  corpus = await eventCorpus();
});

describe.each(WRITERS)('$name bytes', ({ write, doc }) => {
  test('equal the JSON of the document object on every event of every generated capture', () => {
    const types = new Set<string>();
    for (const { events } of corpus) {
      for (const e of events) {
        const d = doc(e);
        if (d === null) continue;
        types.add(e.type);
        const ours = written(write, e);
        if (ours !== JSON.stringify(d)) expect(ours).toBe(JSON.stringify(d)); // the diff only on failure
      }
    }
    expect([...types]).toEqual(expect.arrayContaining(['flow.open', 'flow.close', 'port.reuse', 'port.cycle', 'port.pressure']));
  });

  test('escape what JSON.stringify escapes, and write odd numbers and times as it does', () => {
    const close = corpus.flatMap((c) => c.events).find((e): e is FlowCloseEvent => e.type === 'flow.close')!;
    const reuse = corpus.flatMap((c) => c.events).find((e): e is PortReuseEvent => e.type === 'port.reuse')!;
    const variants: TcpReuseEvent[] = [];
    for (const sensor of ['tap "a"', 'back\\slash', 'line\nbreak', '\u0001', 'lone \ud800 surrogate', 'pair 😀', 'ünï']) {
      variants.push({ ...close, sensor, history: sensor }, { ...reuse, sensor, reason: sensor });
    }
    for (const vlan of [null, 0, 4095]) variants.push({ ...close, vlan });
    variants.push({ ...close, closedBy: 'rst', activeCloser: null }, { ...close, frame: null, durationS: 1.5e-7 });
    variants.push({ ...close, client: { ip: 'fe80::1', port: 1 }, server: { ip: 'fe80::1', port: 2 } }); // one address: related.ip once
    variants.push({ ...reuse, gapS: 0.000001, timeWaitS: 240, frame: null, activeCloser: 'server' });
    // Times at second boundaries and far apart (the ISO prefix cache), before 1970 and past 2038.
    for (const ts of [0, 999_999, 1_000_000, -1, -1_000_001, 2_200_000_000_000_000, 1_700_000_000_000_000 + 64 * 1_000_000]) {
      variants.push({ ...close, ts, endTs: ts, startTs: ts - 1_500_000 }, { ...reuse, ts });
    }
    for (const e of variants) expect(written(write, e)).toBe(JSON.stringify(doc(e)));
  });
});
