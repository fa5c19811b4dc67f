import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describeKafka, uniqueName } from '../helpers/kafka';
import { helper, load, nodeModule, startServer, stopServer, until } from '../helpers/node-red';
import { cli } from '../helpers/kafka';
import { CAPTURES, ROOT } from '../helpers/run';

/**
 * The Kafka nodes' status through a broker outage (a private broker, killed and started again on
 * its storage and ports): packets from kafka leaves "connected" within seconds and says it is
 * reconnecting, the client's retries are logged once rather than per attempt, and the status is
 * green again once the broker is back.
 */
const BROKER = join(ROOT, 'docker', 'kafka', 'broker.sh');
let brokerDir = '';
let bootstrap = '';

beforeEach(startServer);
afterEach(stopServer);
afterAll(() => {
  if (brokerDir) execFileSync('bash', [BROKER, 'stop', brokerDir], { stdio: 'ignore' });
});

describeKafka('Kafka node status through a broker outage (private broker)', () => {
  beforeAll(() => {
    const out = execFileSync('bash', [BROKER, 'start'], { encoding: 'utf8', env: { ...process.env, TCPREUSE_KAFKA_OWNER_PID: String(process.pid) } });
    brokerDir = /^dir=(.*)$/m.exec(out)![1];
    bootstrap = /^bootstrap=(.*)$/m.exec(out)![1];
  }, 120_000);

  test('packets from kafka: a 30 s broker outage shows as reconnecting within 5 s, fewer than 5 log lines for it, connected again after', async () => {
    const id = uniqueName('nrstatus');
    await cli(['replay', join(CAPTURES, 'fast-reuse-timewait.pcap.gz'), '--topic', `${id}.in`, '--brokers', bootstrap, '--partitions', '1', '--log-level', 'warn']);
    await load([nodeModule('tcpreuse-kafka'), nodeModule('tcpreuse-kafka-in')], [
      { id: 'k', type: 'tcpreuse-kafka', brokers: bootstrap },
      { id: 'in', type: 'tcpreuse-kafka-in', kafka: 'k', topic: `${id}.in`, group: `${id}.g`, format: 'avro', wires: [[]] },
    ]);
    type Logging = { warn(m: unknown): void; error(m: unknown): void };
    const node = helper.getNode('in') as unknown as Logging & { status(s: { fill?: string; text?: string }): void };
    const config = helper.getNode('k') as unknown as Logging;
    const statuses: { fill?: string; text?: string }[] = [];
    const warnings: string[] = [];
    const status = node.status.bind(node);
    node.status = (s) => {
      statuses.push(s);
      status(s);
    };
    // Every warning and error either node logs (the sidebar and the log see these).
    for (const n of [node, config]) {
      for (const level of ['warn', 'error'] as const) {
        const log = n[level].bind(n);
        n[level] = (m) => {
          warnings.push(`${level}: ${String(m instanceof Error ? m.message : m)}`);
          log(m);
        };
      }
    }
    await until(() => statuses.some((s) => s.fill === 'green' && /connected: \d+ msgs/.test(s.text ?? '')), 30_000);
    const warningsBefore = warnings.length;
    execFileSync('bash', [BROKER, 'crash', brokerDir]);
    const crashedAt = Date.now();
    await until(() => statuses.at(-1)?.fill !== 'green', 30_000);
    const noticed = Date.now() - crashedAt;
    expect(statuses.at(-1)?.text).toMatch(/reconnecting|disconnected/);
    expect(noticed).toBeLessThan(5_000);
    await new Promise((r) => setTimeout(r, 25_000)); // an outage of ~30 s: the client retries meanwhile
    const during = warnings.slice(warningsBefore);
    expect(during.some((w) => /unreachable/.test(w))).toBe(true);
    if (during.length >= 5) expect(during).toEqual([]); // the lines, on failure
    execFileSync('bash', [BROKER, 'restart', brokerDir], { stdio: 'ignore', env: { ...process.env, TCPREUSE_KAFKA_OWNER_PID: String(process.pid) } });
    await until(() => statuses.at(-1)?.fill === 'green', 90_000);
    expect(statuses.at(-1)?.text).toMatch(/connected/);
  }, 240_000);
});
