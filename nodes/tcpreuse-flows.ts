import type { FlowTracker } from '../src/flow/flow-tracker';
import type { FlowEvent, PacketAnnotation, Watermark } from '../src/model/events';
import type { PacketRecord } from '../src/model/packet-record';
import { eventKey } from '../src/kafka/event-records';
import { trackFlows } from '../src/operators/track-flows';
import { validatePackets } from '../src/ingest/json-packets';
import { numberField, textField } from './lib/config-values';
import { IdleClock } from './lib/idle-clock';
import type { Node, NodeAPI, NodeMessage } from './lib/node-red';
import { OperatorBridge } from './lib/operator-bridge';

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
}

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
    let bridge: OperatorBridge<PacketRecord | Watermark, FlowEvent | PacketAnnotation | Watermark>;
    let clock: IdleClock;
    // Events caused by an input go out through that input's send(); timer-driven ones through node.send.
    let send: (m: (NodeMessage | null)[]) => void = (m) => node.send(m);
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
      };
      const tickS = numberField(c, 'idleTick', 'idle tick', 0) ?? 1;
      const operator = trackFlows(options, { onTracker: (t) => (tracker = t) });
      bridge = new OperatorBridge(operator, (e) => {
        if (e.type === 'watermark') return;
        const msg: NodeMessage = { topic: e.type, key: eventKey(e), payload: e };
        if (e.type === 'flow.open') send([msg, null, null]);
        else if (e.type === 'flow.close') send([null, msg, null]);
        else send([null, null, msg]);
      });
      clock = new IdleClock(tickS * 1000, (ts) => {
        try {
          bridge.push([{ type: 'watermark', ts }]);
          showStatus();
        } catch (err) {
          node.error(err);
        }
      });
    } catch (err) {
      node.status({ fill: 'red', shape: 'ring', text: (err as Error).message });
      node.error(err);
      node.on('input', (_msg, _send, done) => done(err as Error));
      return;
    }

    const showStatus = (): void => {
      node.status({ fill: 'green', shape: 'dot', text: `${tracker?.openFlows ?? 0} open flows, ${tracker?.counters.flowsOpened ?? 0} seen` });
    };

    node.on('input', (msg, inputSend, done) => {
      send = inputSend;
      try {
        const packets = validatePackets(msg.payload, 'msg.payload');
        bridge.push(packets);
        for (const p of packets) clock.saw(p.ts);
        if (msg.complete === true) {
          // End of a capture: open flows close as "eof"; the marker goes on to tcpreuse-reuse.
          bridge.finish();
          send([null, { complete: true, payload: [] }, null]);
        }
        showStatus();
        done();
      } catch (err) {
        node.status({ fill: 'red', shape: 'ring', text: (err as Error).message.slice(0, 60) });
        done(err as Error);
      } finally {
        send = (m) => node.send(m);
      }
    });

    node.on('close', (_removed, done) => {
      clock.stop();
      bridge.close();
      node.status({});
      done();
    });
  }
  RED.nodes.registerType('tcpreuse-flows', TcpreuseFlowsNode as never);
};
