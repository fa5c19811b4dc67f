import { join } from 'node:path';
import { formatEvent, SIEM_FORMATS, type SiemFormat } from '../../src/formats/siem-format';
import { cli, describeKafka, readTopic, uniqueName } from '../helpers/kafka';
import { analyzeCapture, ROOT } from '../helpers/run';

/**
 * consume --output-format ecs | ocsf | cef through the real broker: the output topics hold exactly
 * the formatted events of analyze --json on the same capture (each schema's share of them), and the
 * events a schema has no place for are counted in the stop line, not lost without a word.
 */
const CAPTURE = join(ROOT, 'samples', 'sample.pcap');

describeKafka('SIEM schemas on the output topics', () => {
  test.each(SIEM_FORMATS)('--output-format %s: the formatted events of analyze --json, nothing else', async (format: SiemFormat) => {
    const id = uniqueName(`siem-${format}`);
    await cli(['replay', CAPTURE, '--topic', `${id}.in`, '--partitions', '3', '--log-level', 'warn']);
    const r = await cli(['consume', '--topic', `${id}.in`, '--group', `${id}.g`, '--until-end', '--no-metrics', '--sensor', 'cap',
      '--flows-topic', `${id}.flows`, '--alerts-topic', `${id}.alerts`, '--dlq-topic', `${id}.dlq`, '--output-format', format, '--log-level', 'info']);
    const want = await analyzeCapture(CAPTURE, { sensor: 'cap' });
    const formatted = want.map((e) => formatEvent(format, e));
    const expected = formatted.flatMap((f) => (f ? [f.text] : [])).sort();
    const got = [...(await readTopic(`${id}.flows`)), ...(await readTopic(`${id}.alerts`))].map((m) => m.value.toString()).sort();
    expect(got.length).toBeGreaterThan(0);
    expect(got).toEqual(expected);
    const missing = formatted.filter((f) => f === null).length;
    if (missing > 0) expect(r.stderr).toMatch(new RegExp(`"msg":"stopped".*"eventsNotInFormat":${missing}[,}]`));
    else expect(r.stderr).not.toMatch(/eventsNotInFormat/);
  });
});
