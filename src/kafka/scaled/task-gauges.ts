/**
 * The scaled consumer's gauges over its tasks (docs/kafka.md lists them): how many it owns, the
 * state they hold, how old their checkpoints are, and how far each stage lags its input.
 */
import type { Metrics } from '../metrics';
import type { ClientTask, FlowTask } from './tasks';

export interface TaskView {
  readonly flowTasks: ReadonlyMap<string, FlowTask>;
  readonly clientTasks: ReadonlyMap<string, ClientTask>;
  /** Size of the last checkpoint written. */
  lastCheckpointBytes(): number;
}

/** Messages of `tasks`' partitions not processed yet: the broker's end offset minus the task's position. */
function lag(tasks: Iterable<FlowTask | ClientTask>): number {
  let n = 0;
  for (const t of tasks) if (t.highWatermark >= 0) n += Math.max(0, t.highWatermark - Math.max(t.nextOffset, 0));
  return n;
}

export function registerTaskGauges(metrics: Metrics, view: TaskView): void {
  const flows = (): FlowTask[] => [...view.flowTasks.values()];
  const clients = (): ClientTask[] => [...view.clientTasks.values()];
  metrics.gauge('tasks', 'Tasks this instance owns, by stage.', () => [
    { labels: { stage: 'flow' }, value: view.flowTasks.size },
    { labels: { stage: 'client' }, value: view.clientTasks.size },
  ]);
  metrics.gauge('open_flows', 'TCP flows open in the flow tables of this instance\'s tasks.', () => [{ labels: {}, value: flows().reduce((n, t) => n + t.stage.tracker.openFlows, 0) }]);
  metrics.gauge('remembered_tuples', '4-tuples remembered for reuse detection by this instance\'s tasks.', () => [{ labels: {}, value: flows().reduce((n, t) => n + t.stage.detector.remembered, 0) }]);
  metrics.gauge('checkpoint_age_seconds', 'Age of the oldest task checkpoint.', () => {
    const now = Date.now();
    const oldest = [...flows(), ...clients()].reduce((o, t) => Math.min(o, t.lastCheckpointMs), now);
    return [{ labels: {}, value: (now - oldest) / 1000 }];
  });
  metrics.gauge('checkpoint_bytes', 'Size of the last checkpoint written.', () => [{ labels: {}, value: view.lastCheckpointBytes() }]);
  // Per stage: the flow stage's input is the sensors' topics, the client stage's the clients topic.
  metrics.gauge('lag_messages', 'Messages of this instance\'s partitions not processed yet (the broker\'s end offset minus the task\'s position), by stage.', () => [
    { labels: { stage: 'flow' }, value: lag(flows()) },
    { labels: { stage: 'client' }, value: lag(clients()) },
  ]);
  metrics.gauge('client_feed_waiting', 'Client-stage items waiting for the flow stages\' watermarks.', () => [{ labels: {}, value: clients().reduce((n, t) => n + t.stage.merge.buffered, 0) }]);
}
