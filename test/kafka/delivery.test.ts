import { get } from 'node:http';
import { join } from 'node:path';
import type { FlowCloseEvent, FlowOpenEvent, PortReuseEvent, TcpReuseEvent } from '../../src/model/events';
import { cli, createTopic, describeKafka, kafka, killChildren, readTopic, runCli, uniqueName } from '../helpers/kafka';
import { sleep } from '../helpers/wait';
import { analyzeCapture, CAPTURES } from '../helpers/run';


async function endOffset(topic: string): Promise<number> {
  const admin = kafka().admin();
  await admin.connect();
  try {
    if (!(await admin.listTopics()).includes(topic)) return 0;
    return (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high), 0);
  } catch {
    return 0; // a topic just created may have no leader yet: the caller polls again
  } finally {
    await admin.disconnect();
  }
}

function httpGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get(url, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

const consumeArgs = (id: string, extra: string[] = []): string[] => [
  'consume', '--topic', `${id}.in`, '--group', `${id}.g`, '--input-format', 'avro', '--sensor', 'cap', '--session-timeout-ms', '6000',
  '--flows-topic', `${id}.flows`, '--alerts-topic', `${id}.alerts`, '--dlq-topic', `${id}.dlq`, '--log-level', 'info', ...extra,
];

describeKafka('delivery guarantees of tcpreuse consume', () => {
  afterEach(killChildren);
  test('SIGKILL in the middle of a replay, restart: no flow and no reuse is lost', async () => {
    const capture = join(CAPTURES, 'many-flows.pcap.gz');
    const id = uniqueName('kill');
    // A paced replay, so the consumer is killed while input is still arriving.
    const replay = runCli(['replay', capture, '--topic', `${id}.in`, '--partitions', '3', '--batch-size', '100', '--rate', '12000', '--quiet', '--log-level', 'warn']);
    const first = runCli(consumeArgs(id, ['--no-metrics']));
    const t0 = Date.now();
    while ((await endOffset(`${id}.flows`)) < 500 && Date.now() - t0 < 60000) await sleep(200);
    expect(await endOffset(`${id}.flows`)).toBeGreaterThanOrEqual(500);
    first.child.kill('SIGKILL');
    const killed = await first.done;
    expect(killed.signal).toBe('SIGKILL');
    const r = await replay.done;
    expect(r.code).toBe(0);
    await cli(consumeArgs(id, ['--no-metrics', '--until-end']));

    const want = await analyzeCapture(capture, { sensor: 'cap' });
    const got = [...(await readTopic(`${id}.flows`)), ...(await readTopic(`${id}.alerts`))].map((m) => JSON.parse(m.value.toString()) as TcpReuseEvent);
    const closes = (events: TcpReuseEvent[]) => events.filter((e): e is FlowCloseEvent => e.type === 'flow.close');
    const reuses = (events: TcpReuseEvent[]) => events.filter((e): e is PortReuseEvent => e.type === 'port.reuse');
    const gotFlows = new Set(closes(got).map((e) => e.flowId));
    const gotOpens = new Set(got.filter((e): e is FlowOpenEvent => e.type === 'flow.open').map((e) => e.flowId));
    const gotReuses = new Set(reuses(got).map((e) => `${e.flowId}<${e.previousFlowId}`));
    const missingFlows = closes(want).filter((e) => !gotFlows.has(e.flowId) || !gotOpens.has(e.flowId));
    const missingReuses = reuses(want).filter((e) => !gotReuses.has(`${e.flowId}<${e.previousFlowId}`));
    expect(missingFlows).toEqual([]);
    expect(missingReuses).toEqual([]);
    // Duplicates are allowed (at-least-once) and counted here.
    const duplicates = closes(got).length - gotFlows.size;
    process.stdout.write(`SIGKILL test: ${closes(want).length} flows, ${reuses(want).length} reuses expected; all present; ${duplicates} duplicate flow.close after the restart\n`);
    expect(duplicates).toBeGreaterThan(0); // the restart really did replay what the killed consumer had done
  });

  test('two instances in one group rebalance mid-stream without failing, and nothing is lost', async () => {
    const capture = join(CAPTURES, 'many-flows.pcap.gz');
    const id = uniqueName('group');
    await createTopic(`${id}.in`, 3);
    const a = runCli(consumeArgs(id, ['--no-metrics']));
    const replay = runCli(['replay', capture, '--topic', `${id}.in`, '--batch-size', '100', '--rate', '15000', '--quiet', '--log-level', 'warn']);
    await sleep(1500);
    const b = runCli(consumeArgs(id, ['--no-metrics'])); // joining forces a rebalance while packets flow
    expect((await replay.done).code).toBe(0);
    await sleep(3000);
    a.child.kill('SIGTERM');
    b.child.kill('SIGHUP'); // a closed terminal or a supervisor's stop: as graceful as SIGTERM
    const [ra, rb] = await Promise.all([a.done, b.done]);
    expect(rb.stderr).toMatch(/"reason":"SIGHUP"/);
    expect([ra.code, rb.code, (ra.stderr + rb.stderr).split("\n").filter((l) => /"level":"error"|failed/.test(l)).join("\n")]).toEqual([0, 0, ""]);
    expect(ra.stderr + rb.stderr).toMatch(/partitions assigned/);
    // A last instance takes the input to its end from what the two committed.
    await cli(consumeArgs(id, ['--no-metrics', '--until-end']));
    const want = await analyzeCapture(capture, { sensor: 'cap' });
    const got = [...(await readTopic(`${id}.flows`)), ...(await readTopic(`${id}.alerts`))].map((m) => JSON.parse(m.value.toString()) as TcpReuseEvent);
    const ids = (events: TcpReuseEvent[], type: string) => new Set(events.filter((e) => e.type === type).map((e) => (e as FlowCloseEvent).flowId));
    const gotCloses = ids(got, 'flow.close');
    const gotReuses = ids(got, 'port.reuse');
    expect([...ids(want, 'flow.close')].filter((f) => !gotCloses.has(f))).toEqual([]);
    expect([...ids(want, 'port.reuse')].filter((f) => !gotReuses.has(f))).toEqual([]);
  });

  test('two --until-end instances in one group: both exit 0, whoever consumed which partition, and nothing is lost', async () => {
    const capture = join(CAPTURES, 'many-flows.pcap.gz');
    const id = uniqueName('ends');
    await createTopic(`${id}.in`, 6);
    expect((await runCli(['replay', capture, '--topic', `${id}.in`, '--batch-size', '50', '--quiet', '--log-level', 'warn']).done).code).toBe(0);
    // The second reads its start offsets, then may be given partitions the first has already taken to their end.
    const a = runCli(consumeArgs(id, ['--no-metrics', '--until-end']));
    await sleep(300);
    const b = runCli(consumeArgs(id, ['--no-metrics', '--until-end']));
    const started = Date.now();
    const [ra, rb] = await Promise.all([a.done, b.done]);
    expect([ra.code, rb.code, ra.code ? ra.stderr.slice(-1500) : '', rb.code ? rb.stderr.slice(-1500) : '']).toEqual([0, 0, '', '']);
    expect(Date.now() - started).toBeLessThan(90_000);
    const want = await analyzeCapture(capture, { sensor: 'cap' });
    const got = [...(await readTopic(`${id}.flows`)), ...(await readTopic(`${id}.alerts`))].map((m) => JSON.parse(m.value.toString()) as TcpReuseEvent);
    const ids = (events: TcpReuseEvent[], type: string) => new Set(events.filter((e) => e.type === type).map((e) => (e as FlowCloseEvent).flowId));
    for (const type of ['flow.close', 'port.reuse']) {
      const have = ids(got, type);
      expect({ type, missing: [...ids(want, type)].filter((f) => !have.has(f)) }).toEqual({ type, missing: [] });
    }
  }, 180_000);

  test('metrics and health while running; SIGTERM stops gracefully with exit 0', async () => {
    const capture = join(CAPTURES, 'fast-reuse-timewait.pcap.gz');
    const id = uniqueName('live');
    await createTopic(`${id}.in`, 3);
    const svc = runCli(consumeArgs(id, ['--metrics-port', '0']));
    let port = 0;
    const t0 = Date.now();
    while (!port && Date.now() - t0 < 30000) {
      const line = /metrics endpoint[^\n]*:(\d+)\/metrics/.exec(svc.stderr());
      if (line) port = Number(line[1]);
      else await sleep(100);
    }
    expect(port).toBeGreaterThan(0);
    while ((await httpGet(`http://127.0.0.1:${port}/healthz`)).status !== 200 && Date.now() - t0 < 30000) await sleep(100);
    expect(JSON.parse((await httpGet(`http://127.0.0.1:${port}/healthz`)).body)).toEqual({ ok: true, status: 'consuming' });
    await cli(['replay', capture, '--topic', `${id}.in`, '--partitions', '3', '--batch-size', '50', '--quiet', '--log-level', 'warn']);
    const reuses = (await analyzeCapture(capture)).filter((e) => e.type === 'port.reuse').length;
    let metrics = '';
    while (Date.now() - t0 < 60000) {
      metrics = (await httpGet(`http://127.0.0.1:${port}/metrics`)).body;
      if (new RegExp(`tcpreuse_events_out_total\\{type="port.reuse"\\} ${reuses}\\b`).test(metrics)) break;
      await sleep(200);
    }
    expect(metrics).toMatch(new RegExp(`tcpreuse_events_out_total\\{type="port.reuse"\\} ${reuses}\\b`));
    expect(metrics).toMatch(/tcpreuse_messages_in_total\{topic="[^"]+"\} [1-9]/);
    expect(metrics).toMatch(/tcpreuse_packets_in_total [1-9]/);
    expect(metrics).toMatch(/tcpreuse_open_flows \d+/);
    expect(metrics).toMatch(/tcpreuse_consumer_lag\{topic="[^"]+",partition="0"\} 0/);
    expect(metrics).toMatch(/tcpreuse_processing_latency_seconds_count [1-9]/);
    svc.child.kill('SIGTERM');
    const done = await svc.done;
    expect(done.code).toBe(0);
    expect(done.stderr).toMatch(/"msg":"stopped"/);
    expect(done.stderr).toMatch(/"reason":"SIGTERM"/);
  });
});

