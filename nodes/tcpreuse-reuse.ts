import type { DetectionEvent, FlowEvent, FlowInterleave, Severity, StreamItem, Watermark } from '../src/model/events';
import { SEVERITIES, severityBelow } from '../src/model/events';
import { eventKey } from '../src/kafka/event-records';
import { detectPortCycles } from '../src/operators/detect-port-cycles';
import { detectPortReuse } from '../src/operators/detect-port-reuse';
import { reuseStats } from '../src/operators/reuse-stats';
import { pipe } from 'rxjs';
import { choiceField, numberField } from './lib/config-values';
import { plural } from './lib/status-text';
import { failConfiguration, runEventTimeNode } from './lib/event-time-node';
import type { Node, NodeAPI, NodeMessage } from './lib/node-red';

interface ReuseConfig {
  timeWait?: string;
  window?: string;
  maxEntries?: string;
  statsWindow?: string;
  minSeverity?: string;
  idleTick?: string;
  rstRecur?: string;
  interleaveWait?: string;
  includeQuietClients?: boolean;
  minConnections?: string;
  sequentialShare?: string;
  maxStep?: string;
  rateWindow?: string;
  pressureThreshold?: string;
  maxClients?: string;
}

const OUTPUT: Record<string, number> = { 'port.reuse': 0, 'port.cycle': 1, 'port.pressure': 2, 'reuse.stats': 3 };

type FlowInput = FlowEvent | FlowInterleave | Watermark;

function flowEventsFromMessage(msg: NodeMessage): FlowInput[] {
  const items = Array.isArray(msg.payload) ? (msg.payload as unknown[]) : [msg.payload];
  return items.map((e, i) => {
    const t = (e as { type?: unknown } | null)?.type;
    if (t !== 'flow.open' && t !== 'flow.close' && t !== 'flow.interleave' && t !== 'watermark') {
      throw new Error(`msg.payload${Array.isArray(msg.payload) ? `[${i}]` : ''} is not a flow event (type flow.open or flow.close): got ${JSON.stringify(t ?? typeof e)}`);
    }
    if (typeof (e as { ts?: unknown }).ts !== 'number') throw new Error('flow event without a numeric ts');
    return e as FlowInput;
  });
}

/**
 * tcpreuse-reuse: flow events in (from tcpreuse-flows), detections out — output 1 port.reuse
 * (at or above the severity filter), 2 port.cycle, 3 port.pressure, 4 reuse.stats. Wraps
 * detectPortReuse, detectPortCycles and reuseStats; the status shows reuses in the last minute.
 */
module.exports = function register(RED: NodeAPI): void {
  function TcpreuseReuseNode(this: Node, config: ReuseConfig): void {
    RED.nodes.createNode(this, config);
    const node = this;
    // The status counts reuses in the last minute of event time (capture time for a file, which
    // may span hours; packet time on a live feed), plus all since the start.
    const recent: number[] = []; // event time (µs) of recent reuses
    let total = 0;
    let latest = 0; // latest event time seen (µs)
    try {
      const c = config as unknown as Record<string, unknown>;
      const timeWaitS = numberField(c, 'timeWait', 'TIME_WAIT');
      const minSeverity = choiceField<Severity>(c, 'minSeverity', 'minimum severity', SEVERITIES, 'info');
      const operator = pipe(
        detectPortReuse<StreamItem>({
          timeWaitS,
          windowS: numberField(c, 'window', 'window'),
          maxEntries: numberField(c, 'maxEntries', 'max entries', 1),
          rstRecurS: numberField(c, 'rstRecur', 'RST recurrence'),
          interleaveWaitS: numberField(c, 'interleaveWait', 'interleave wait'),
        }),
        detectPortCycles<StreamItem>({
          timeWaitS,
          minConnections: numberField(c, 'minConnections', 'min connections', 2),
          sequentialShare: numberField(c, 'sequentialShare', 'sequential share'),
          maxStep: numberField(c, 'maxStep', 'max step', 1),
          rateWindowS: numberField(c, 'rateWindow', 'rate window', 0.001),
          pressureThreshold: numberField(c, 'pressureThreshold', 'pressure threshold'),
          maxClients: numberField(c, 'maxClients', 'max clients', 1),
        }),
        reuseStats<StreamItem>({ windowS: numberField(c, 'statsWindow', 'stats window', 0.001), includeQuietClients: config.includeQuietClients === true }),
      );
      runEventTimeNode<FlowInput, StreamItem>(node, {
        operator,
        outputs: 4,
        completePort: OUTPUT['reuse.stats'], // after the last statistics window
        tickS: numberField(c, 'idleTick', 'idle tick') ?? 1,
        itemsOf: flowEventsFromMessage,
        route: (e) => {
          latest = Math.max(latest, e.ts);
          const port = OUTPUT[e.type];
          if (port === undefined) return null; // flow events and watermarks pass through the operators: not ours to send
          const d = e as DetectionEvent;
          if (d.type === 'port.reuse') {
            recent.push(d.ts);
            total++;
            if (severityBelow(d.severity, minSeverity)) return null;
          }
          return { port, msg: { topic: d.type, key: eventKey(d), payload: d } };
        },
        showStatus: () => {
          const cutoff = latest - 60_000_000;
          while (recent.length > 0 && recent[0] < cutoff) recent.shift();
          node.status({ fill: recent.length > 0 ? 'yellow' : 'green', shape: 'dot', text: `${plural(recent.length, 'reuse')} in the last minute of packet time, ${total} in all` });
        },
      });
    } catch (err) {
      failConfiguration(node, err);
    }
  }
  RED.nodes.registerType('tcpreuse-reuse', TcpreuseReuseNode as never);
};
