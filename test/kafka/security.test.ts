import { join } from 'node:path';
import type { TcpReuseEvent } from '../../src/model/events';
import { analyzeCapture, ROOT } from '../helpers/run';
import { WireProducer } from '../../src/kafka/wire/producer';
import { createLogger } from '../../src/util/logger';
import { BROKERS, cli, readTopic, runCli, uniqueName } from '../helpers/kafka';

/**
 * SASL and TLS through the test broker's secured listeners (docker/kafka/broker.sh starts a
 * SASL_PLAINTEXT listener with PLAIN and both SCRAMs, and a TLS listener with a self-signed
 * certificate): the CLI's options must reach kafkajs and our producer and work against a real
 * broker, and a wrong password or an untrusted certificate must end in one clear line.
 */
const SASL = process.env.TCPREUSE_KAFKA_SASL_BROKERS || null;
const SSL = process.env.TCPREUSE_KAFKA_SSL_BROKERS || null;
const USER = process.env.TCPREUSE_KAFKA_SASL_USER ?? '';
const PASSWORD = process.env.TCPREUSE_KAFKA_SASL_PASSWORD ?? '';
const CA = process.env.TCPREUSE_KAFKA_SSL_CA ?? '';
const SAMPLE = join(ROOT, 'samples', 'sample.pcap');

const missing = !BROKERS ? (process.env.TCPREUSE_KAFKA_SKIP ?? 'no broker') : !SASL || !SSL ? 'the broker in TCPREUSE_KAFKA_BROKERS has no SASL/TLS listeners known here (set TCPREUSE_KAFKA_SASL_* and TCPREUSE_KAFKA_SSL_*)' : null;
if (missing && BROKERS && process.env.CI) throw new Error(`CI must run the SASL/TLS tests: ${missing}`);
const describeSecured: jest.Describe = missing
  ? (((name: string, fn: () => void) => describe.skip(`${name} [SKIPPED: ${missing}]`, fn)) as unknown as jest.Describe)
  : describe;

const canonical = (events: TcpReuseEvent[]): string[] => events.map((e) => JSON.stringify(e)).sort();

/** replay then consume --until-end with `connection` flags; the output read back over plain TCP. */
async function roundTrip(connection: string[], env: Record<string, string> = {}): Promise<{ flows: TcpReuseEvent[]; alerts: TcpReuseEvent[]; log: string }> {
  const id = uniqueName('sec');
  await cli(['replay', SAMPLE, '--topic', `${id}.in`, '--partitions', '3', '--log-level', 'warn', ...connection], env);
  const r = await cli(['consume', '--topic', `${id}.in`, '--group', `${id}.g`, '--until-end', '--no-metrics', '--sensor', 'cap',
    '--flows-topic', `${id}.flows`, '--alerts-topic', `${id}.alerts`, '--dlq-topic', `${id}.dlq`, '--log-level', 'info', ...connection], env);
  const parse = (m: { value: Buffer }): TcpReuseEvent => JSON.parse(m.value.toString()) as TcpReuseEvent;
  return { flows: (await readTopic(`${id}.flows`)).map(parse), alerts: (await readTopic(`${id}.alerts`)).map(parse), log: r.stderr };
}

async function expectSameAsAnalyze(got: { flows: TcpReuseEvent[]; alerts: TcpReuseEvent[] }): Promise<void> {
  const want = await analyzeCapture(SAMPLE, { sensor: 'cap' });
  const isFlow = (e: TcpReuseEvent): boolean => e.type === 'flow.open' || e.type === 'flow.close';
  expect(got.flows.length).toBeGreaterThan(0);
  expect(canonical(got.flows)).toEqual(canonical(want.filter(isFlow)));
  expect(canonical(got.alerts)).toEqual(canonical(want.filter((e) => !isFlow(e))));
}

/** The one-line message the CLI prints for a failure it understands (the log lines are JSON). */
const userMessage = (stderr: string): string[] => stderr.split('\n').filter((l) => l.startsWith('tcpreuse:'));

describeSecured('SASL and TLS against the real broker', () => {
  describe.each(['plain', 'scram-sha-256', 'scram-sha-512'])('SASL %s', (mechanism) => {
    test.each(['wire', 'kafkajs'])('replay and consume (%s producer) write what analyze prints', async (producer) => {
      // The password from the environment, as --help advises (kept out of ps).
      const got = await roundTrip(['--brokers', SASL!, '--sasl-mechanism', mechanism, '--sasl-username', USER, '--producer', producer], { TCPREUSE_SASL_PASSWORD: PASSWORD });
      await expectSameAsAnalyze(got);
    });
  });

  test('a wrong SASL password ends consume with one clear line and exit code 1', async () => {
    const r = await runCli(['consume', '--topic', uniqueName('sec.none'), '--brokers', SASL!, '--sasl-mechanism', 'scram-sha-256', '--sasl-username', USER,
      '--sasl-password', 'not-the-password', '--no-metrics', '--log-level', 'error']).done;
    expect(r.code).toBe(1);
    const lines = userMessage(r.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/authentication|SASL/i);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  test.each(['plain', 'scram-sha-256', 'scram-sha-512'] as const)('our producer alone: SASL %s writes with the right password, refuses the wrong one at once', async (mechanism) => {
    const topic = uniqueName('sec.wire');
    const producer = (password: string): WireProducer =>
      new WireProducer({ brokers: [SASL!], clientId: 'sec-test', sasl: { mechanism, username: USER, password } }, { compression: 'none' }, createLogger('error'));
    const ok = producer(PASSWORD);
    await ok.connect();
    await ok.send([{ topic, key: 'k', value: Buffer.from('v'), timestampMs: 1 }]);
    await ok.disconnect();
    expect((await readTopic(topic)).map((m) => m.value.toString())).toEqual(['v']);
    const bad = producer('not-the-password');
    const started = Date.now();
    await expect(bad.connect()).rejects.toThrow(new RegExp(`SASL ${mechanism.toUpperCase()} authentication with 127\\.0\\.0\\.1:\\d+ failed: .*(credentials|password)`, 'i'));
    expect(Date.now() - started).toBeLessThan(5000); // not retried: a wrong password does not get better
    await bad.disconnect();
  });

  test.each(['wire', 'kafkajs'])('TLS, trusting the broker certificate (%s producer): what analyze prints', async (producer) => {
    const got = await roundTrip(['--brokers', SSL!, '--ssl', '--ssl-ca', CA, '--producer', producer]);
    await expectSameAsAnalyze(got);
    expect(got.log).not.toMatch(/DeprecationWarning/); // e.g. a TLS server name set to an IP address
  });

  test('TLS without trusting the self-signed certificate: refused, with one clear line', async () => {
    const r = await runCli(['replay', SAMPLE, '--topic', uniqueName('sec.untrusted'), '--brokers', SSL!, '--ssl', '--log-level', 'error']).done;
    expect(r.code).toBe(1);
    const lines = userMessage(r.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/certificate/i);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
