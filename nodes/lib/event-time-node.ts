import type { OperatorFunction } from 'rxjs';
import type { Watermark } from '../../src/model/events';
import { IdleClock } from './idle-clock';
import type { Node, NodeMessage } from './node-red';
import { OperatorBridge } from './operator-bridge';

export interface EventTimeNodeOptions<I extends { ts: number }, O> {
  /** The library operator the node runs (watermarks in and out). */
  readonly operator: OperatorFunction<I | Watermark, O | Watermark>;
  /** The node's number of outputs. */
  readonly outputs: number;
  /** Output that carries the `complete: true` marker on after the operator flushed. */
  readonly completePort: number;
  /** Idle-clock period in seconds (0: no timer). */
  readonly tickS: number;
  /** msg.payload → operator input; throws (with a message naming the problem) on bad input. */
  readonly itemsOf: (msg: NodeMessage) => I[];
  /** Where an operator output goes: an output port and its message, or null to drop it. */
  readonly route: (o: O) => { port: number; msg: NodeMessage } | null;
  readonly showStatus: () => void;
}

/**
 * The life both analysis nodes share: input items into the operator (events caused by an input
 * leave through that input's send()), the idle clock moving event time on a quiet network,
 * msg.complete flushing the operator and passing the marker on, errors through done(err), and a
 * close that stops the timer and unsubscribes without flushing.
 */
export function runEventTimeNode<I extends { ts: number }, O>(node: Node, o: EventTimeNodeOptions<I, O>): void {
  let send: (m: (NodeMessage | null)[]) => void = (m) => node.send(m);
  const out = (port: number, msg: NodeMessage): void => {
    const ports: (NodeMessage | null)[] = new Array<NodeMessage | null>(o.outputs).fill(null);
    ports[port] = msg;
    send(ports);
  };
  const bridge = new OperatorBridge<I | Watermark, O | Watermark>(o.operator, (e) => {
    if ((e as Watermark).type === 'watermark') return;
    const r = o.route(e as O);
    if (r) out(r.port, r.msg);
  });
  const clock = new IdleClock(o.tickS * 1000, (ts) => {
    try {
      bridge.push([{ type: 'watermark', ts }]);
    } catch (err) {
      node.error(err);
    }
    o.showStatus();
  });

  node.on('input', (msg, inputSend, done) => {
    send = inputSend;
    try {
      const items = o.itemsOf(msg);
      bridge.push(items);
      for (const item of items) clock.saw(item.ts);
      if (msg.complete === true) {
        bridge.finish();
        out(o.completePort, { complete: true, payload: [] });
      }
      o.showStatus();
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

/** A node whose configuration is unusable: red status, one error, and every input fails with it. */
export function failConfiguration(node: Node, err: unknown): void {
  node.status({ fill: 'red', shape: 'ring', text: (err as Error).message });
  node.error(err);
  node.on('input', (_msg, _send, done) => done(err as Error));
}

/** Close handler body for nodes holding a Kafka client: disconnect, and finish either way. */
export function disconnectThen(client: { disconnect(): Promise<void> } | null, done: () => void): void {
  if (!client) {
    done();
    return;
  }
  client.disconnect().then(
    () => done(),
    () => done(),
  );
}
