import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AnalyzeReport } from '../src/cli/report';
import type { FlowOpenEvent, PortReuseEvent } from '../src/model/events';
import { memoryBound } from '../src/operators/limit-counts';
import { ROOT } from './helpers/run';
import { writeSynFlood } from './helpers/syn-flood';

/**
 * Issue #21 item 9: one documented set of limits (--max-flows, --max-remembered, --max-clients)
 * bounds the whole process, whatever the input; reaching a limit is said, never silent.
 */
const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'tcpreuse-limits-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const open = (ip: string, port: number): FlowOpenEvent => ({
  type: 'flow.open', ts: 1, sensor: 's', flowId: `${ip}:${port}`, communityId: '1:x', stream: 0, client: { ip, port }, server: { ip: '10.9.9.9', port: 80 },
  clientBy: 'syn', openedBy: 'syn', reused: false, wireshark: false, frame: null, vlan: null,
});
const reuse = (ip: string, severity: PortReuseEvent['severity']): PortReuseEvent => ({
  type: 'port.reuse', ts: 2, sensor: 's', flowId: 'f', communityId: '1:x', previousFlowId: 'p', stream: 1, previousStream: 0, frame: null,
  client: { ip, port: 1 }, server: { ip: '10.9.9.9', port: 80 }, kind: 'after-close', previousEnd: 'fin', activeCloser: 'client', gapS: 1, timeWaitS: 60, severity, reason: 'r', wireshark: true,
});
const header = { capture: 'c', sensor: 's', frames: 0, packets: 0, skipped: new Map<string, number>(), streams: 0 };

describe('the text report keeps what it prints', () => {
  test('the first --limit reuses of each severity, and counts for the rest', () => {
    const report = new AnalyzeReport(2, 100);
    for (let i = 0; i < 1000; i++) report.add(reuse('10.0.0.1', i % 2 ? 'high' : 'low'));
    const text = report.render(header);
    expect(text).toContain('Port reuse: 1000 (high 500, medium 0, low 500, info 0); Wireshark flags 1000 of them');
    expect(text).toContain('    ... 498 more (--limit 0 shows all');
    expect((report as unknown as { listed: Map<string, unknown[]> }).listed.get('high')).toHaveLength(2);
  });

  test('a full client table ranks the clients with reuses first and says it is approximate', () => {
    const report = new AnalyzeReport(10, 3);
    for (let i = 0; i < 10; i++) report.add(open(`10.0.0.${i}`, 1)); // quiet ones fill their table
    report.add(reuse('10.0.1.1', 'medium')); // a reuser still gets in
    const text = report.render(header);
    expect(text).toMatch(/Top clients[^\n]*\n {2}10\.0\.1\.1 +0 connections +1 reuse +worst medium/);
    expect(report.untrackedClients).toBe(7);
    expect(text).toContain('approximate: the client table was full, --max-clients 3; 7 connections and reuses');
  });
});

describe('a 3 M-SYN flood with every limit at 100 k', () => {
  const flood = join(dir, 'flood.pcap');
  beforeAll(() => writeSynFlood(flood, 3_000_000), 60_000);
  const limits = { maxFlows: 100_000, maxRemembered: 100_000, maxClients: 100_000 };

  test.each([
    ['--json', ['--json']],
    ['the text report', []],
  ])('%s: peak RSS within the documented bound, and each limit reached is said', (_name, mode) => {
    const r = spawnSync(process.execPath, ['-r', join(ROOT, 'test', 'helpers', 'max-rss.js'), CLI, 'analyze', flood, ...mode, '--no-progress',
      '--max-flows', '100000', '--max-remembered', '100000', '--max-clients', '100000'], { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 24 });
    expect(r.status).toBe(0);
    const rssBytes = Number(/max-rss-kb=(\d+)/.exec(r.stderr)![1]) * 1024;
    process.stderr.write(`3 M-SYN flood, limits 100 k, ${_name}: peak RSS ${(rssBytes / 1e6).toFixed(0)} MB (bound ${(memoryBound(limits) / 1e6).toFixed(0)} MB)\n`);
    expect(rssBytes).toBeLessThanOrEqual(memoryBound(limits));
    expect(r.stderr).toContain('tcpreuse: limit reached (--max-flows): 2,900,000 flows closed early as "evicted"');
    expect(r.stderr).toContain('tcpreuse: limit reached (--max-remembered): 2,900,000 ended connections forgotten');
    expect(r.stderr).toMatch(/tcpreuse: limit reached \(--max-clients\): [\d,]+ connections and reuses of further clients not counted in reuse.stats windows/);
  }, 240_000);
});
