import type { FlowTracker } from '../src/flow/flow-tracker';
import { validatePackets } from '../src/ingest/json-packets';
import { eventKey } from '../src/kafka/event-records';
import { trackFlows } from '../src/operators/track-flows';
import { plural } from './lib/status-text';
import { numberField, textField } from './lib/config-values';
import { failConfiguration, runEventTimeNode } from './lib/event-time-node';
import type { Node, NodeAPI } from './lib/node-red';

interface FlowsConfig {
  sensor?: string;
  establishedTimeout?: string;
  halfOpenTimeout?: string;
  closedTimeout?: string;
  maxFlows?: string;
  annotate?: boolean;
  idleTick?: string;
  streamMemory?: string;
  maxRemembered?: string;
  communityIdSeed?: string;
}

// flow.interleave (a replaced connection still sending) rides with the closes to tcpreuse-reuse.
const PORT = { 'flow.open': 0, 'flow.close': 1, 'flow.interleave': 1, packet: 2 } as const;

/**
 * tcpreuse-flows: packets in (msg.payload a PacketRecord or an array), flow events out —
 * output 1 flow.open, output 2 flow.close, output 3 per-packet annotations (when enabled).
 * The trackFlows operator does the work; an idle timer moves event time on when no packets come.
 */
module.exports = function register(RED: NodeAPI): void {
  function TcpreuseFlowsNode(this: Node, config: FlowsConfig): void {
    RED.nodes.createNode(this, config);
    const node = this;
    let tracker: FlowTracker | undefined;
    let seenBefore = 0; // flows of trackers already finished (each msg.complete starts a new one)
    try {
      const c = config as unknown as Record<string, unknown>;
      const options = {
        sensor: textField(c, 'sensor'),
        establishedTimeoutS: numberField(c, 'establishedTimeout', 'established timeout', 0.001),
        halfOpenTimeoutS: numberField(c, 'halfOpenTimeout', 'half-open timeout', 0.001),
        closedTimeoutS: numberField(c, 'closedTimeout', 'closed timeout'),
        maxFlows: numberField(c, 'maxFlows', 'max flows', 1),
        streamMemoryS: numberField(c, 'streamMemory', 'stream memory'),
        maxRemembered: numberField(c, 'maxRemembered', 'max remembered', 1),
        annotate: config.annotate === true,
        communityIdSeed: numberField(c, 'communityIdSeed', 'community ID seed'),
      };
      runEventTimeNode(node, {
        operator: trackFlows(options, {
          onTracker: (t) => {
            seenBefore += tracker?.counters.flowsOpened ?? 0;
            tracker = t;
          },
        }),
        outputs: 3,
        completePort: PORT['flow.close'], // the marker goes on to tcpreuse-reuse with the eof closes
        tickS: numberField(c, 'idleTick', 'idle tick') ?? 1,
        itemsOf: (msg) => validatePackets(msg.payload, 'msg.payload'),
        route: (e) => ({ port: PORT[e.type], msg: { topic: e.type, key: e.type === 'flow.interleave' ? undefined : eventKey(e), payload: e } }),
        showStatus: () => {
          const seen = seenBefore + (tracker?.counters.flowsOpened ?? 0);
          node.status({ fill: 'green', shape: 'dot', text: `${tracker?.openFlows ?? 0} open, ${plural(seen, 'flow')} seen` });
        },
      });
    } catch (err) {
      failConfiguration(node, err);
    }
  }
  RED.nodes.registerType('tcpreuse-flows', TcpreuseFlowsNode as never);
};
