/**
 * The scaled consumer's operations surface against the real broker: /healthz, and the metrics an
 * operator scales and alerts on (tasks per stage, lag per stage, checkpoints, state entries),
 * while it runs, as more input arrives, and down to a lag of zero.
 */
import { cli, describeKafka, killChildren, metricsPortOf, metricTotal, runCli, uniqueName, waitForHealth } from '../helpers/kafka';
import { capturePath } from '../helpers/run';

afterEach(() => killChildren());

async function metric(port: number, line: string): Promise<number | null> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const found = text.split('\n').find((l) => l.startsWith(`${line} `));
  return found === undefined ? null : Number(found.split(' ').pop());
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describeKafka('scaled consumer metrics', () => {
  test('tasks, lag per stage, checkpoints and state entries, as input arrives', async () => {
    const id = uniqueName('sm');
    const topic = `${id}.in`;
    await cli(['replay', capturePath('xp-ephemeral-cycle'), '--topic', topic, '--partitions', '4', '--sensor', 'a', '--log-level', 'warn', '--quiet']);
    const c = runCli(['consume', '--topic', topic, '--app-id', `${id}.app`, '--metrics-port', '0', '--flows-topic', `${id}.flows`, '--alerts-topic', `${id}.alerts`, '--dlq-topic', `${id}.dlq`, '--checkpoint-interval', '0.5', '--log-level', 'info']);
    const port = await metricsPortOf(c.stderr);
    await waitForHealth([port], (h) => h.ok && h.status === 'consuming', 60_000);
    const caughtUp = async (): Promise<boolean> =>
      (await metric(port, 'tcpreuse_lag_messages{stage="flow"}')) === 0 && (await metric(port, 'tcpreuse_lag_messages{stage="client"}')) === 0 && (await metricTotal(port, 'events_out_total')) > 0;
    await until('the first capture consumed', caughtUp);
    expect(await metric(port, 'tcpreuse_tasks{stage="flow"}')).toBe(4);
    expect(await metric(port, 'tcpreuse_tasks{stage="client"}')).toBe(4);
    const events = await metricTotal(port, 'events_out_total');
    // More input: the events grow, and the lag comes back to zero once it is processed.
    await cli(['replay', capturePath('nat-collision'), '--topic', topic, '--sensor', 'a', '--log-level', 'warn', '--quiet']);
    await until('the second capture consumed', async () => (await caughtUp()) && (await metricTotal(port, 'events_out_total')) > events);
    await until('a checkpoint of every busy task', async () => (await metricTotal(port, 'checkpoints_total')) >= 4);
    expect(await metric(port, 'tcpreuse_remembered_tuples')).toBeGreaterThan(0);
    expect(await metric(port, 'tcpreuse_checkpoint_age_seconds')).toBeLessThan(600);
    c.child.kill('SIGTERM');
    expect((await c.done).code).toBe(0);
  }, 180_000);
});
