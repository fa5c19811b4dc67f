import { OCSF_VERSION, toOcsf } from '../../src/formats/ocsf';
import type { TcpReuseEvent } from '../../src/model/events';
import { eventCorpus } from '../helpers/event-corpus';
import { installOcsfValidator, pythonAvailable, validateOcsf } from '../helpers/ocsf-validator';

/**
 * Every OCSF event validated against the OCSF schema itself (the schema export of the version we
 * write, and of the newest 1.x the validator package carries), through a maintained validator:
 * no hand-written copy of the schema here.
 */
const HAS_PYTHON = pythonAvailable();
if (!HAS_PYTHON) {
  if (process.env.CI) throw new Error('python3 is missing: CI must run the OCSF schema validation');
  process.stderr.write('\n*** SKIPPING the OCSF schema validation: no python3 ***\n');
}
const NEWEST = '1.8.0';

let corpus: { name: string; events: TcpReuseEvent[] }[];
beforeAll(async () => {
  if (HAS_PYTHON) installOcsfValidator();
  corpus = await eventCorpus();
}, 300_000);

(HAS_PYTHON ? describe : describe.skip)('OCSF output', () => {
  test(`every flow and finding of every generated capture validates against OCSF ${OCSF_VERSION} and ${NEWEST}`, () => {
    const docs: Record<string, unknown>[] = [];
    const origin: string[] = [];
    const classes = new Map<string, number>();
    for (const { name, events } of corpus) {
      for (const e of events) {
        const doc = toOcsf(e);
        if (doc === null) {
          expect(['reuse.stats', 'packet']).toContain(e.type);
          continue;
        }
        docs.push(doc);
        origin.push(`${name} ${e.type}`);
        const k = `${e.type}→${doc.class_uid}/${doc.activity_id}`;
        classes.set(k, (classes.get(k) ?? 0) + 1);
      }
    }
    const results = validateOcsf(docs, [OCSF_VERSION, NEWEST]);
    expect(results).toHaveLength(docs.length);
    const problems = new Set<string>();
    results.forEach((r, i) => r.forEach((p) => problems.add(`${origin[i].split(' ').pop()}: ${p}`)));
    expect([...problems].slice(0, 20)).toEqual([]);
    // Each mapping was exercised: open, close, reset, and the three findings.
    expect([...classes.keys()].sort()).toEqual(
      expect.arrayContaining(['flow.open→4001/1', 'flow.close→4001/2', 'flow.close→4001/3', 'port.reuse→2004/1', 'port.cycle→2004/1', 'port.pressure→2004/1']),
    );
  });

  test('the validator refuses what OCSF does not allow (so the test above can fail)', () => {
    const reuse = corpus.flatMap((c) => c.events).find((e) => e.type === 'port.reuse')!;
    const good = toOcsf(reuse)!;
    const [ok, extra, wrongType] = validateOcsf([good, { ...good, source_ip: '10.0.0.1' }, { ...good, severity_id: 'high' }], [OCSF_VERSION]);
    expect(ok).toEqual([]);
    expect(extra.join(' ')).toMatch(/source_ip/);
    expect(wrongType.join(' ')).toMatch(/severity_id/);
  });

  test('a port.reuse finding carries its id, severity, rule and evidence', () => {
    const reuse = corpus.flatMap((c) => c.events).find((e): e is Extract<TcpReuseEvent, { type: 'port.reuse' }> => e.type === 'port.reuse' && e.severity === 'high')!;
    const doc = toOcsf(reuse) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(doc).toMatchObject({ class_uid: 2004, type_uid: 200401, severity_id: 4, time: Math.floor(reuse.ts / 1000) });
    expect(doc.finding_info).toMatchObject({ uid: `${reuse.flowId}:reuse`, analytic: { name: `tcp-port-reuse-${reuse.kind}` } });
    expect(doc.evidences[0]).toMatchObject({ src_endpoint: reuse.client, dst_endpoint: reuse.server, connection_info: { community_uid: reuse.communityId } });
    expect(doc.unmapped.tcpreuse).toMatchObject({ gap_s: reuse.gapS, previous_end: reuse.previousEnd });
  });
});
