import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../src/cli/args';
import { resolveSettings, type Setting } from '../src/cli/settings';
import { ROOT } from './helpers/run';

const SETTINGS: Setting[] = [
  { name: 'brokers', kind: 'list', default: ['127.0.0.1:9092'], help: '' },
  { name: 'time-wait', kind: 'number', default: 60, help: '' },
  { name: 'input-format', kind: 'enum', values: ['avro', 'json'], default: 'avro', help: '' },
  { name: 'until-end', kind: 'boolean', default: false, help: '' },
];
const dir = mkdtempSync(join(tmpdir(), 'tcpreuse-settings-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string): string => {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
};

describe('settings: flags win over the environment, which wins over the config file', () => {
  test('defaults when nothing is given', () => {
    expect(resolveSettings('x', SETTINGS, [], {}).values).toEqual({ brokers: ['127.0.0.1:9092'], timeWait: 60, inputFormat: 'avro', untilEnd: false });
  });
  test('each source in its order of precedence', () => {
    const cfg = file('a.json', JSON.stringify({ brokers: ['f:1'], timeWait: 240, inputFormat: 'json' }));
    const env = { TCPREUSE_TIME_WAIT: '120', TCPREUSE_BROKERS: 'e:1,e:2' };
    expect(resolveSettings('x', SETTINGS, ['--config', cfg], {}).values).toMatchObject({ brokers: ['f:1'], timeWait: 240, inputFormat: 'json' });
    expect(resolveSettings('x', SETTINGS, ['--config', cfg], env).values).toMatchObject({ brokers: ['e:1', 'e:2'], timeWait: 120, inputFormat: 'json' });
    expect(resolveSettings('x', SETTINGS, ['--config', cfg, '--time-wait', '30', '--until-end'], env).values).toMatchObject({ timeWait: 30, untilEnd: true });
    expect(resolveSettings('x', SETTINGS, [], { TCPREUSE_CONFIG: cfg }).values).toMatchObject({ timeWait: 240 });
  });
  test.each([
    [['--time-wait', 'soon'], {}, /--time-wait must be a number >= 0, got "soon"/],
    [['--input-format', 'xml'], {}, /--input-format must be one of avro, json/],
    [[], { TCPREUSE_TIME_WAIT: '-1' }, /TCPREUSE_TIME_WAIT must be a number >= 0/],
    [['--nope'], {}, /unknown option '--nope' \(tcpreuse x --help lists the options\)/],
  ] as [string[], Record<string, string>, RegExp][])('%j %j is a usage error naming its source', (argv, env, re) => {
    expect(() => resolveSettings('x', SETTINGS, argv, env)).toThrow(UsageError);
    expect(() => resolveSettings('x', SETTINGS, argv, env)).toThrow(re);
  });
  test('config file problems are named', () => {
    expect(() => resolveSettings('x', SETTINGS, ['--config', join(dir, 'missing.json')], {})).toThrow(/cannot read config file .*missing.json: ENOENT/);
    expect(() => resolveSettings('x', SETTINGS, ['--config', file('b.json', '{ "timeWait": ')], {})).toThrow(/is not JSON/);
    expect(() => resolveSettings('x', SETTINGS, ['--config', file('c.json', '{ "timewait": 5 }')], {})).toThrow(/unknown setting "timewait"/);
    expect(() => resolveSettings('x', SETTINGS, ['--config', file('d.json', '{ "timeWait": "x" }')], {})).toThrow(/d.json: timeWait must be a number/);
  });
});

describe('consume and replay on the command line (no broker needed)', () => {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TCPREUSE_')));
  const run = (...args: string[]) => spawnSync(process.execPath, [join(ROOT, 'dist', 'src', 'cli', 'main.js'), ...args], { encoding: 'utf8', env });
  test('--help teaches the options, the precedence and the delivery guarantee', () => {
    const r = run('consume', '--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/at-least-once/);
    expect(r.stdout).toMatch(/TCPREUSE_<NAME>/);
    expect(r.stdout).toMatch(/--input-format <avro\|json\|tshark-ek\|pcap-record>/);
    expect(run('replay', '--help').stdout).toMatch(/--speed/);
  });
  test.each([
    [['consume'], /consume needs --topic/],
    [['consume', '--topic', 't', '--brokers', 'nocolon'], /--brokers: "nocolon" is not host:port/],
    [['consume', '--topic', 't', '--sasl-mechanism', 'plain'], /needs --sasl-username and a password/],
    [['replay', '--topic', 't'], /replay needs a capture file/],
    [['replay', 'x.pcap'], /replay needs --topic/],
    [['replay', 'x.pcap', '--topic', 't', '--speed', 'fast'], /--speed must be "max" or a factor/],
    // Topic names the broker would refuse are caught before connecting (it used to end in kafkajs's
    // "Topic creation errors" after the admin client had connected).
    [['consume', '--topic', 't', '--flows-topic', 'bad topic!'], /--flows-topic must be a Kafka topic name/],
    [['consume', '--topic', 'good,b@d'], /--topic must be a Kafka topic name .*comma-separated/],
    [['consume', '--topic', 't', '--dlq-topic', '..'], /--dlq-topic must be a Kafka topic name/],
    [['replay', 'x.pcap', '--topic', 'x'.repeat(250)], /--topic must be a Kafka topic name/],
    // Transactions are the scaled consumer's and the wire producer's, and must outlast a checkpoint interval.
    [['consume', '--topic', 't', '--exactly-once'], /--exactly-once needs --app-id/],
    [['consume', '--topic', 't', '--app-id', 'a', '--exactly-once', '--producer', 'kafkajs'], /--exactly-once writes with the wire producer/],
    [['consume', '--topic', 't', '--app-id', 'a', '--exactly-once', '--checkpoint-interval', '8'], /--transaction-timeout 10 is too short for --checkpoint-interval 8/],
  ])('%j: exit 2 with one line', (args, re) => {
    const r = run(...args);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(re);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
  test('a capture that does not exist: exit 1, one line', () => {
    const r = run('replay', join(dir, 'none.pcap'), '--topic', 't');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/cannot read .*none.pcap: no such file/);
  });
  test('replay - as tshark-ek with a socket for standard input (as a parent process pipes it): exit 1 before connecting, saying what to do', () => {
    const r = spawnSync(process.execPath, [join(ROOT, 'dist', 'src', 'cli', 'main.js'), 'replay', '-', '--topic', 't', '--input-format', 'tshark-ek', '--brokers', '127.0.0.1:1'], {
      encoding: 'utf8',
      env,
      input: Buffer.alloc(100),
    });
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/tshark reads standard input only from a pipe or a file, and this one is a socket: pipe the capture in through a shell/)]);
  });
});
