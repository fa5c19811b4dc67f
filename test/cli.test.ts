import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { gzipSync } from 'node:zlib';
import { formatEvent } from '../src/formats/siem-format';
import { capturePath, cutCapture, ROOT, splitCapture } from './helpers/run';

// Runs the built CLI (`npm test` builds first), as a user would.
const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const run = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8' });

describe('tcpreuse CLI', () => {
  test('analyze on the bundled sample prints the report', () => {
    const r = run('analyze', 'samples/sample.pcap');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/Port reuse: 13 \(high 5, medium 6, low 2, info 0\); Wireshark flags 13 of them/);
    expect(r.stdout).toMatch(/connections 53/);
  });

  test('--community-id-seed: the events\' Community ID changes with the seed; a seed outside 0..65535 is a usage error', () => {
    const ids = (...extra: string[]) => run('analyze', 'samples/sample.pcap', '--json', ...extra).stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.type === 'flow.open').map((e) => e.communityId as string);
    const [plain, seeded] = [ids(), ids('--community-id-seed', '7')];
    expect(plain.length).toBeGreaterThan(0);
    expect(plain.every((id) => /^1:[A-Za-z0-9+/]{27}=$/.test(id))).toBe(true);
    expect(seeded.every((id, i) => id !== plain[i])).toBe(true);
    const r = run('analyze', 'samples/sample.pcap', '--community-id-seed', '65536');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--community-id-seed must be an integer in 0\.\.65535, got "65536"/);
  });

  test('--format ecs | ocsf | cef prints each event in that SIEM schema, and says on stderr what the schema has no place for', () => {
    const events = run('analyze', 'samples/sample.pcap', '--json').stdout.trim().split('\n').map((l) => JSON.parse(l));
    for (const format of ['ecs', 'ocsf', 'cef'] as const) {
      const r = run('analyze', 'samples/sample.pcap', '--format', format);
      expect(r.status).toBe(0);
      const want = events.map((e) => formatEvent(format, e)).filter((f) => f !== null).map((f) => f!.text);
      expect(r.stdout.trim().split('\n')).toEqual(want);
      const skipped = events.length - want.length;
      if (skipped === 0) expect(r.stderr).toBe('');
      else expect(r.stderr).toMatch(new RegExp(`^tcpreuse: --format ${format} has no place for .*: not printed`));
    }
    expect(run('analyze', 'samples/sample.pcap', '--format', 'json').stdout).toBe(run('analyze', 'samples/sample.pcap', '--json').stdout);
    const bad = run('analyze', 'samples/sample.pcap', '--format', 'splunk');
    expect([bad.status, bad.stderr]).toEqual([2, expect.stringMatching(/--format must be one of report, json, ecs, ocsf, cef, got "splunk"/)]);
    const both = run('analyze', 'samples/sample.pcap', '--json', '--format', 'cef');
    expect([both.status, both.stderr]).toEqual([2, expect.stringMatching(/--json and --format cef disagree/)]);
  });

  test("the report's top clients start with the worst reuse, counted as --json says", () => {
    const report = run('analyze', 'samples/sample.pcap').stdout.split('\n');
    const at = report.indexOf('Top clients (by worst reuse, then reuses, then connections):');
    expect(at).toBeGreaterThan(0);
    const rows = report.slice(at + 1).filter((l) => l.trim() !== '').map((l) => l.trim().split(/\s+/));
    // From the events: per client, its connections, its reuses and the worst severity among them.
    const order = ['high', 'medium', 'low', 'info'];
    const perClient = new Map<string, { connections: number; reuses: number; worst: number }>();
    for (const line of run('analyze', 'samples/sample.pcap', '--json').stdout.trim().split('\n')) {
      const e = JSON.parse(line);
      if (e.type !== 'flow.open' && e.type !== 'port.reuse') continue;
      const c = perClient.get(e.client.ip) ?? { connections: 0, reuses: 0, worst: order.length };
      if (e.type === 'flow.open') c.connections++;
      else [c.reuses, c.worst] = [c.reuses + 1, Math.min(c.worst, order.indexOf(e.severity))];
      perClient.set(e.client.ip, c);
    }
    const key = (c: { connections: number; reuses: number; worst: number }) => [c.worst, -c.reuses, -c.connections];
    const expected = [...perClient.values()].map(key).sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2]).slice(0, 5);
    // Each row says what the events say of that client, and the rows come in the ranking's order.
    const plural = (n: number, noun: string) => (n === 1 ? noun : noun + 's');
    expect(rows.map((r) => r.slice(1).join(' '))).toEqual(
      rows.map((r) => {
        const c = perClient.get(r[0])!;
        return `${c.connections} ${plural(c.connections, 'connection')} ${c.reuses} ${plural(c.reuses, 'reuse')}${c.reuses ? ` worst ${order[c.worst]}` : ''}`;
      }),
    );
    expect(rows.map((r) => key(perClient.get(r[0])!))).toEqual(expected);
  });

  test('--min-severity leaves the less severe reuses out of the listing and the --json lines, not out of the counts', () => {
    const all = run('analyze', 'samples/sample.pcap', '--json').stdout.trim().split('\n');
    const json = run('analyze', 'samples/sample.pcap', '--json', '--min-severity', 'medium').stdout.trim().split('\n');
    const severityOf = (line: string) => (JSON.parse(line) as { type: string; severity?: string });
    const lowOrInfo = (line: string) => severityOf(line).type === 'port.reuse' && ['low', 'info'].includes(severityOf(line).severity!);
    expect(all.filter(lowOrInfo).length).toBe(2);
    expect(json).toEqual(all.filter((l) => !lowOrInfo(l))); // reuse.stats lines unchanged: they count every reuse
    const report = run('analyze', 'samples/sample.pcap', '--min-severity', 'high').stdout;
    expect(report).toMatch(/Port reuse: 13 \(high 5, medium 6, low 2, info 0\)/);
    expect(report).toMatch(/^ {2}HIGH \(5\)$/m);
    expect(report).not.toMatch(/^ {2}MEDIUM \(6\)$/m);
    expect(report).toMatch(/^ {2}MEDIUM \(6\), LOW \(2\): not listed \(below --min-severity high\)$/m);
    const bad = run('analyze', 'samples/sample.pcap', '--min-severity', 'severe');
    expect([bad.status, bad.stderr]).toEqual([2, 'tcpreuse: --min-severity must be one of info, low, medium, high, got "severe"\n']);
  });

  test('--json prints one event per line, each with type, ts and sensor', () => {
    const r = run('analyze', 'samples/sample.pcap', '--json', '--sensor', 'tap1');
    expect(r.status).toBe(0);
    const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; ts: number; sensor: string });
    expect(events.filter((e) => e.type === 'port.reuse')).toHaveLength(13);
    expect(events.every((e) => typeof e.ts === 'number' && e.sensor === 'tap1')).toBe(true);
  });

  test('annotate prints frame,stream,reused for every TCP frame', () => {
    const r = run('annotate', 'samples/sample.pcap');
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe('frame,stream,reused');
    expect(lines).toHaveLength(408);
    expect(lines.filter((l) => l.endsWith(',1'))).toHaveLength(13);
  });

  test.each([
    [['analyze'], 2, /analyze needs a capture file/],
    [['frobnicate', 'x'], 2, /unknown command "frobnicate"/],
    [['analyze', 'samples/sample.pcap', '--time-wait', 'soon'], 2, /--time-wait must be a number of seconds/],
    [['analyze', 'samples/sample.pcap', '--bogus'], 2, /unknown option '--bogus' \(tcpreuse --help lists the options\)\n$/],
    [['analyze', 'no/such.pcap'], 1, /no\/such\.pcap: no such file/],
    [['analyze', 'package.json'], 1, /not a capture file/],
  ])('%j exits %i with one line and no stack trace', (args, code, re) => {
    const r = run(...args);
    expect(r.status).toBe(code);
    expect(r.stderr).toMatch(re);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  test('a capture damaged midway: the report of the frames before it (open flows closed as at its end), then one line, exit 1', () => {
    const path = cutCapture('vlan-mixed');
    const r = run('analyze', path);
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/cut\.pcap: file is truncated: the last record is incomplete/)]);
    expect(r.stdout).toMatch(/capture damaged: file is truncated.*; this report covers the \d+ frames before it/);
    expect(r.stdout).toMatch(/closed by .*eof \d+/);
    expect(r.stdout).toMatch(/Port reuse: [1-9]/);

    const json = run('analyze', path, '--json');
    expect(json.status).toBe(1);
    const events = json.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; closedBy?: string });
    expect(events.some((e) => e.type === 'flow.close' && e.closedBy === 'eof')).toBe(true);
    expect(events.some((e) => e.type === 'port.reuse')).toBe(true);
  });

  test('analyze loads neither the RxJS index nor the Kafka and Avro libraries (start-up time on every run)', () => {
    const script = `process.argv = [process.argv[0], 'tcpreuse', 'analyze', 'samples/sample.pcap', '--json'];
      process.on('exit', () => process.stderr.write(JSON.stringify(Object.keys(require.cache))));
      require(${JSON.stringify(CLI)});`;
    const r = spawnSync(process.execPath, ['-e', script], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status).toBe(0);
    const loaded = JSON.parse(r.stderr) as string[];
    expect(loaded.filter((m) => /[\\/]node_modules[\\/](kafkajs|avsc|lz4|snappy|@mongodb-js|zstd)/.test(m) || /rxjs[\\/]dist[\\/]cjs[\\/]index\.js$/.test(m))).toEqual([]);
    expect(loaded.some((m) => m.includes('rxjs'))).toBe(true); // it does use RxJS, by its module files
  });

  test('--sample analyses the bundled capture from any directory (the first --help example)', () => {
    const elsewhere = spawnSync(process.execPath, [CLI, 'analyze', '--sample'], { cwd: tmpdir(), encoding: 'utf8' });
    expect(elsewhere.status).toBe(0);
    // The same report, but for its first line, which names the file by the path it was given.
    const body = (out: string): string => out.slice(out.indexOf('\n'));
    expect(body(elsewhere.stdout)).toBe(body(run('analyze', 'samples/sample.pcap').stdout));
    expect(elsewhere.stdout).toMatch(/^tcpreuse analyze \S+\/samples\/sample\.pcap {2}\(sensor "sample"\)/);
    expect(run('--help').stdout).toMatch(/^ {2}tcpreuse analyze --sample/m);
  });

  test('no command at all: one line saying what to run, exit 2 (a usage error, as elsewhere)', () => {
    const r = run();
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('tcpreuse: a command is needed: tcpreuse analyze <capture> (tcpreuse --help lists the commands)\n');
  });

  test('--help teaches the commands, options and the severity policy', () => {
    const r = run('--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/tcpreuse analyze <capture>/);
    expect(r.stdout).toMatch(/Severity policy/);
  });

  describe('a capture on standard input ("-")', () => {
    const sample = readFileSync(join(ROOT, 'samples', 'sample.pcap'));
    const runWithInput = (input: Buffer, ...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8', input });

    test('analyze --json and annotate read it as they read the file (sensor "stdin"); gzip is detected there too', () => {
      const fromFile = run('analyze', 'samples/sample.pcap', '--json', '--sensor', 'stdin');
      const piped = runWithInput(sample, 'analyze', '-', '--json');
      expect(piped.status).toBe(0);
      expect(piped.stdout).toBe(fromFile.stdout);
      const gz = runWithInput(gzipSync(sample), 'annotate', '-');
      expect(gz.status).toBe(0);
      expect(gz.stdout).toBe(run('annotate', 'samples/sample.pcap').stdout);
      expect(runWithInput(sample, 'analyze', '-').stdout).toMatch(/^tcpreuse analyze - {2}\(sensor "stdin"\)/);
    });

    test('a long gzipped stream waits for the decompressor without piling up listeners', () => {
      const r = runWithInput(readFileSync(join(ROOT, 'test', 'fixtures', 'captures', 'many-flows.pcap.gz')), 'analyze', '-');
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/connections 8008/);
      expect(r.stderr).not.toMatch(/MaxListenersExceededWarning/);
    });

    test('nothing on it: one line, exit 1', () => {
      const r = runWithInput(Buffer.alloc(0), 'analyze', '-');
      expect(r.status).toBe(1);
      expect(r.stderr.trim().split('\n')).toEqual(['tcpreuse: stdin: nothing came on standard input']);
    });

    test('a live capture ends with an interrupt: the report covers what was read, even if the writer keeps the pipe open', async () => {
      // The first 100 records, then the writer stays silent and alive (as a capture on a quiet link).
      let end = 24;
      for (let i = 0; i < 100; i++) end += 16 + sample.readUInt32LE(end + 8);
      const child = spawn(process.execPath, [CLI, 'analyze', '-'], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.stdin.write(sample.subarray(0, end));
      await new Promise((r) => setTimeout(r, 500));
      child.kill('SIGINT');
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      child.stdin.destroy();
      expect(code).toBe(0);
      expect(stderr).toMatch(/interrupted: finishing with the packets read so far/);
      expect(stdout).toMatch(/frames 100, TCP packets \d+/);
      expect(stdout).toMatch(/Port reuse: \d+/);
    });
  });

  describe('several captures, read one after another as one', () => {
    const whole = capturePath('vlan-mixed');

    test('the same annotations and events as the whole capture, one part gzip-compressed', () => {
      const { paths } = splitCapture('vlan-mixed', 3);
      writeFileSync(`${paths[1]}.gz`, gzipSync(readFileSync(paths[1])));
      const parts = [paths[0], `${paths[1]}.gz`, paths[2]];
      const annotated = run('annotate', ...parts);
      expect(annotated.status).toBe(0);
      expect(annotated.stdout).toBe(run('annotate', whole).stdout);
      const json = run('analyze', ...parts, '--json', '--sensor', 's');
      expect(json.status).toBe(0);
      expect(json.stdout).toBe(run('analyze', whole, '--json', '--sensor', 's').stdout);
      const report = run('analyze', ...parts);
      expect(report.stdout).toMatch(/^tcpreuse analyze \S+part0\.pcap \S+part1\.pcap\.gz \S+part2\.pcap {2}\(sensor "part0"\)/);
      expect(report.stdout.split('\n').slice(1).join('\n')).toBe(run('analyze', whole, '--sensor', 'part0').stdout.split('\n').slice(1).join('\n'));
    });

    test('a missing file among them fails at once: one line, exit 1, nothing analysed', () => {
      const { paths } = splitCapture('vlan-mixed', 2);
      const r = run('analyze', paths[0], `${paths[1]}.missing`, paths[1]);
      expect(r.status).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/part1\.pcap\.missing: no such file/)]);
    });

    test('damage in one ends the capture there: the report covers the frames before it, the files after it are not read', () => {
      const { paths, records } = splitCapture('vlan-mixed', 3);
      const middle = readFileSync(paths[1]);
      let end = 24;
      for (let i = 0; i < 10; i++) end += 16 + middle.readUInt32LE(end + 8);
      writeFileSync(paths[1], middle.subarray(0, end + 20)); // ten whole records, then part of one
      const r = run('analyze', ...paths);
      expect(r.status).toBe(1);
      expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/part1\.pcap: file is truncated: the last record is incomplete .* after frame \d+/)]);
      expect(r.stdout).toMatch(new RegExp(`capture damaged: \\S+part1\\.pcap: file is truncated.*; this report covers the ${records[0] + 10} frames before it`));
    });

    test('- (standard input) only alone: a usage error', () => {
      const r = run('analyze', 'samples/sample.pcap', '-');
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/standard input\) is a capture of its own/);
    });
  });
});
