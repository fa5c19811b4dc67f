import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { decodeEvent } from '../../src/avro/event-schemas';
import type { TcpReuseEvent } from '../../src/model/events';
import { decodeTsharkEk } from '../../src/ingest/tshark-ek';
import type { PacketRecord } from '../../src/model/packet-record';
import { analyzeCapture, CAPTURES, cutCapture, packetsBeforeDamage, ROOT } from '../helpers/run';
import { BROKERS, CLI, cli, createTopic, describeKafka, readTopic, runCli, uniqueName, type ReadMessage } from '../helpers/kafka';

const LABELLED = readdirSync(CAPTURES)
  .filter((f) => f.endsWith('.labels.json'))
  .map((f) => f.replace('.labels.json', ''))
  .sort();

/** Events as comparable text, in a canonical order (output partitions interleave arbitrarily). */
const canonical = (events: TcpReuseEvent[]): string[] => events.map((e) => JSON.stringify(e)).sort();

function decodeAll(messages: ReadMessage[], format: 'json' | 'avro'): TcpReuseEvent[] {
  return messages.map((m) => (format === 'avro' ? decodeEvent(m.value) : (JSON.parse(m.value.toString()) as TcpReuseEvent)));
}

/** replay → consume --until-end → the events on the output topics. */
async function throughKafka(
  capture: string,
  o: { format: string; batch?: number; outputFormat?: 'json' | 'avro'; compression?: string; extra?: string[] },
): Promise<{ flows: TcpReuseEvent[]; alerts: TcpReuseEvent[]; dlq: ReadMessage[]; consumeLog: string }> {
  const id = uniqueName('t');
  const input = `${id}.in`;
  await cli(['replay', capture, '--topic', input, '--input-format', o.format, '--partitions', '3', '--batch-size', String(o.batch ?? 100),
    '--compression', o.compression ?? 'none', '--log-level', 'warn']);
  const r = await cli(['consume', '--topic', input, '--group', `${id}.g`, '--input-format', o.format, '--until-end', '--no-metrics',
    '--flows-topic', `${id}.flows`, '--alerts-topic', `${id}.alerts`, '--dlq-topic', `${id}.dlq`, '--output-format', o.outputFormat ?? 'json',
    '--sensor', 'cap', '--log-level', 'info', ...(o.extra ?? [])]);
  return {
    flows: decodeAll(await readTopic(`${id}.flows`), o.outputFormat ?? 'json'),
    alerts: decodeAll(await readTopic(`${id}.alerts`), o.outputFormat ?? 'json'),
    dlq: await readTopic(`${id}.dlq`),
    consumeLog: r.stderr,
  };
}

/** A raw frame carries no frame number: its events say `frame: null`. */
const withoutFrame = (e: TcpReuseEvent): TcpReuseEvent => ('frame' in e ? { ...e, frame: null } : e);

async function expectSameAsAnalyze(
  capture: string,
  got: { flows: TcpReuseEvent[]; alerts: TcpReuseEvent[] },
  o: { framesKnown?: boolean } = {},
): Promise<void> {
  let want = await analyzeCapture(capture, { sensor: 'cap' });
  if (o.framesKnown === false) want = want.map(withoutFrame);
  const wantFlows = want.filter((e) => e.type === 'flow.open' || e.type === 'flow.close');
  const wantAlerts = want.filter((e) => !(e.type === 'flow.open' || e.type === 'flow.close'));
  expect(got.flows.length).toBe(wantFlows.length);
  expect(canonical(got.alerts)).toEqual(canonical(wantAlerts));
  expect(canonical(got.flows)).toEqual(canonical(wantFlows));
}

describeKafka('tcpreuse consume against a real broker', () => {
  describe.each(LABELLED)('%s, batched Avro over 3 partitions', (name) => {
    test('the output topics hold exactly what analyze --json prints', async () => {
      const capture = join(CAPTURES, `${name}.pcap.gz`);
      const got = await throughKafka(capture, { format: 'avro', batch: 200 });
      expect(got.dlq).toEqual([]);
      await expectSameAsAnalyze(capture, got);
    });
  });
});

const HAS_TSHARK = spawnSync('tshark', ['--version'], { stdio: 'ignore' }).status === 0;
if (!HAS_TSHARK) {
  if (process.env.CI) throw new Error('tshark is missing: CI must run the tshark-ek test (.ci/run installs it)');
  process.stderr.write('\n*** SKIPPING the tshark-ek Kafka test: tshark not installed (apt-get install tshark) ***\n');
}

describeKafka('every input format gives the same events', () => {
  const formats: [string, string, number][] = [
    ['avro, one record per message', 'avro', 1],
    ['json, one object per message', 'json', 1],
    ['json, arrays of 50', 'json', 50],
    ['pcap-record (raw frames)', 'pcap-record', 1],
    ...(HAS_TSHARK ? ([['tshark-ek from the real tshark -T ek', 'tshark-ek', 1]] as [string, string, number][]) : []),
  ];
  describe.each(formats)('%s', (_title, format, batch) => {
    test.each(['fast-reuse-timewait', 'xp-ephemeral-cycle', 'vlan-mixed', 'ipv6-reuse'])('%s', async (name) => {
      const capture = join(CAPTURES, `${name}.pcap.gz`);
      const got = await throughKafka(capture, { format, batch });
      expect(got.dlq).toEqual([]);
      await expectSameAsAnalyze(capture, got, { framesKnown: format !== 'pcap-record' });
    });
  });
});

describeKafka('compression and Avro output', () => {
  test.each(['snappy', 'lz4', 'zstd'])('%s-compressed input, zstd-compressed Avro output', async (compression) => {
    const capture = join(CAPTURES, 'fast-reuse-timewait.pcap.gz');
    const got = await throughKafka(capture, { format: 'avro', compression, outputFormat: 'avro', extra: ['--compression', 'zstd'] });
    await expectSameAsAnalyze(capture, got);
  });
});

describeKafka('--min-severity', () => {
  test('medium: the alerts topic holds every detection but the low and info reuses; the flows topic is whole', async () => {
    const capture = join(ROOT, 'samples', 'sample.pcap'); // reuses of every severity but info
    const got = await throughKafka(capture, { format: 'avro', extra: ['--min-severity', 'medium'] });
    const want = await analyzeCapture(capture, { sensor: 'cap' });
    const below = want.filter((e) => e.type === 'port.reuse' && (e.severity === 'low' || e.severity === 'info'));
    expect(below.length).toBeGreaterThan(0);
    const flows = (e: TcpReuseEvent) => e.type === 'flow.open' || e.type === 'flow.close';
    expect(canonical(got.alerts)).toEqual(canonical(want.filter((e) => !flows(e) && !below.includes(e))));
    expect(canonical(got.flows)).toEqual(canonical(want.filter(flows)));
    expect(got.consumeLog).toMatch(new RegExp(`"msg":"stopped".*"reusesNotWritten":${below.length},`));
  });
});

describeKafka('a failure while starting', () => {
  test('an output topic the broker refuses (it collides with an existing one): one clear line, exit 1, at once', async () => {
    // Kafka refuses a topic whose name differs from an existing one only in '.' versus '_'. The
    // check comes after the admin client connected; the consumer used to stay alive, connected.
    const id = uniqueName('start').replace(/\./g, '_');
    await createTopic(`${id}_flows`, 1);
    await createTopic(`${id}_in`, 1);
    const started = Date.now();
    const r = await runCli(['consume', '--topic', `${id}_in`, '--flows-topic', `${id}.flows`, '--no-metrics', '--log-level', 'error']).done;
    expect(r.code).toBe(1);
    expect(Date.now() - started).toBeLessThan(20_000);
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('tcpreuse:'));
    expect(lines).toEqual([expect.stringMatching(new RegExp(`could not create topic ${id}\\.flows: .*invalid topic`))]);
  });
});

describeKafka('replay from standard input ("-")', () => {
  const formats: [string, (value: Buffer) => PacketRecord[]][] = [['json', (v) => JSON.parse(v.toString()) as PacketRecord[]]];
  if (HAS_TSHARK) formats.push(['tshark-ek', (v) => decodeTsharkEk(v).packets]); // tshark is handed our standard input
  test.each(formats)('%s: a capture piped in publishes the packets of the file', async (format, packetsOf) => {
    const path = join(ROOT, 'samples', 'sample.pcap');
    const topic = uniqueName('stdin');
    // Through a shell pipe, as a user runs it (tshark reads a pipe or a file as its standard input, not a socket).
    const r = spawnSync('sh', ['-c', 'cat "$0" | "$1" "$2" replay - --topic "$3" --input-format "$4" --sensor cap --quiet', path, process.execPath, CLI, topic, format], {
      env: { ...process.env, TCPREUSE_BROKERS: BROKERS! },
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const published = (await readTopic(topic)).flatMap((m) => packetsOf(m.value));
    const frames = (ps: PacketRecord[]) => ps.map((p) => p.frame).sort((a, b) => a! - b!);
    expect(frames(published)).toEqual(frames(await packetsBeforeDamage(path, 'cap')));
  });
});

describeKafka('replay of a capture damaged midway', () => {
  type Case = [string, string[], (value: Buffer) => PacketRecord[]];
  const cases: Case[] = [['json in partial batches', ['--input-format', 'json', '--batch-size', '7'], (v) => JSON.parse(v.toString()) as PacketRecord[]]];
  if (HAS_TSHARK) cases.push(['tshark-ek (tshark itself stops at the damage)', ['--input-format', 'tshark-ek'], (v) => decodeTsharkEk(v).packets]);
  test.each(cases)('%s: every packet before the damage is published, then one line and exit 1', async (_title, args, packetsOf) => {
    const cut = cutCapture('vlan-mixed');
    const before = await packetsBeforeDamage(cut, 'cap');
    const topic = uniqueName('cut');
    const r = await runCli(['replay', cut, '--topic', topic, '--partitions', '3', '--sensor', 'cap', '--quiet', ...args]).done;
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(new RegExp(`replayed ${before.length} TCP packets .*, up to the damage below`));
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/cut\.pcap: (file is truncated|tshark stopped reading it)/)]);
    const published = (await readTopic(topic)).flatMap((m) => packetsOf(m.value));
    const frames = (ps: PacketRecord[]) => ps.map((p) => p.frame).sort((a, b) => a! - b!);
    expect(frames(published)).toEqual(frames(before));
  });
});
