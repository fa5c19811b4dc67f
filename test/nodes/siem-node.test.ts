import { toCef } from '../../src/formats/cef';
import { toEcs } from '../../src/formats/ecs';
import { toOcsf } from '../../src/formats/ocsf';
import { eventKey } from '../../src/kafka/event-records';
import type { TcpReuseEvent } from '../../src/model/events';
import { eventCorpus } from '../helpers/event-corpus';
import { collect, helper, load, nodeModule, startServer, stopServer, until } from '../helpers/node-red';

/** tcpreuse-siem: each event in, the same event in the chosen SIEM schema out (or nothing, counted). */
let events: TcpReuseEvent[];
beforeAll(async () => {
  const corpus = await eventCorpus();
  // Every event type, a few hundred events: the formats themselves are tested in test/formats.
  events = corpus.filter((c) => /^(sample|fast-reuse|xp-ephemeral|spread)/.test(c.name)).flatMap((c) => c.events.slice(0, 400));
}, 300_000);
beforeEach(startServer);
afterEach(stopServer);

const FORMATS = [
  ['ecs', (e: TcpReuseEvent) => toEcs(e)],
  ['ocsf', (e: TcpReuseEvent) => toOcsf(e)],
  ['cef', (e: TcpReuseEvent) => toCef(e)?.line ?? null],
] as const;

describe('tcpreuse-siem', () => {
  test.each(FORMATS)('%s: one message per event the schema carries, with the event and its key', async (format, convert) => {
    await load([nodeModule('tcpreuse-siem')], [{ id: 'n', type: 'tcpreuse-siem', format, wires: [['out']] }, { id: 'out', type: 'helper' }]);
    const out = collect('out');
    const n = helper.getNode('n') as unknown as { receive(m: unknown): void; status(s: { text?: string }): void };
    const texts: string[] = [];
    const status = n.status.bind(n);
    n.status = (s) => {
      texts.push(s.text ?? '');
      status(s);
    };
    n.receive({ payload: events.slice(0, 100) }); // an array, as tcp flows sends batches
    for (const e of events.slice(100)) n.receive({ payload: e });
    const want = events.map((e) => ({ e, doc: convert(e) })).filter((w) => w.doc !== null);
    await until(() => out.length >= want.length);
    expect(want.length).toBeGreaterThan(0);
    expect(out.map((m) => m.payload)).toEqual(want.map((w) => w.doc));
    expect(out.map((m) => m.event)).toEqual(want.map((w) => w.e));
    expect(out.map((m) => m.key)).toEqual(want.map((w) => eventKey(w.e)));
    const skipped = events.length - want.length;
    expect(texts.at(-1)).toMatch(new RegExp(`^${want.length} ${format.toUpperCase()} events${skipped ? `; not in ${format.toUpperCase()}: ` : '$'}`));
  });

  test('what is not a tcpreuse event is an error through done(err), naming it', async () => {
    await load([nodeModule('tcpreuse-siem')], [
      { id: 'n', type: 'tcpreuse-siem', format: 'ecs', wires: [['out']] },
      { id: 'out', type: 'helper' },
      { id: 'c', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper' },
    ]);
    const caught = collect('caught');
    helper.getNode('n').receive({ payload: { type: 'syslog', ts: 1 } });
    await until(() => caught.length === 1);
    expect((caught[0].error as { message: string }).message).toMatch(/msg.payload is not a tcpreuse event: got "syslog"/);
  });
});
