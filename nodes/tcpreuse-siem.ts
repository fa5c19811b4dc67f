import { toCef } from '../src/formats/cef';
import { toEcs } from '../src/formats/ecs';
import { toOcsf } from '../src/formats/ocsf';
import { SIEM_FORMATS, type SiemFormat } from '../src/formats/siem-format';
import { eventKey } from '../src/kafka/event-records';
import { choiceField } from './lib/config-values';
import { isEvent } from './lib/event-payload';
import { failConfiguration } from './lib/event-time-node';
import type { Node, NodeAPI, NodeMessage } from './lib/node-red';
import { plural } from './lib/status-text';

/**
 * tcpreuse-siem: a tcpreuse event in, the same event in a SIEM's schema out — an ECS or OCSF
 * document (object) or a CEF line (string) in msg.payload, the event itself in msg.event, its flow
 * key in msg.key — for whatever node takes it on (events to kafka, http request, a syslog node).
 * An event the schema has no place for sends nothing and is counted in the status.
 */
module.exports = function register(RED: NodeAPI): void {
  function TcpreuseSiemNode(this: Node, config: { format?: string }): void {
    RED.nodes.createNode(this, config);
    const node = this;
    let format: SiemFormat;
    try {
      format = choiceField(config as Record<string, unknown>, 'format', 'format', SIEM_FORMATS, 'ecs');
    } catch (err) {
      failConfiguration(node, err);
      return;
    }
    let sent = 0;
    const skipped = new Map<string, number>();
    node.on('input', (msg, send, done) => {
      const items = Array.isArray(msg.payload) ? (msg.payload as unknown[]) : [msg.payload];
      if (msg.complete === true && items.length === 0) return done(); // the end-of-file marker of tcp flows / port reuse
      const out: NodeMessage[] = [];
      for (const [i, e] of items.entries()) {
        if (!isEvent(e)) {
          const t = (e as { type?: unknown } | null)?.type;
          if (t === 'flow.interleave' || t === 'watermark') continue; // plumbing between tcpreuse nodes
          return done(new Error(`msg.payload${Array.isArray(msg.payload) ? `[${i}]` : ''} is not a tcpreuse event: got ${JSON.stringify(t ?? typeof e)}`));
        }
        const payload = format === 'ecs' ? toEcs(e) : format === 'ocsf' ? toOcsf(e) : (toCef(e)?.line ?? null);
        if (payload === null) skipped.set(e.type, (skipped.get(e.type) ?? 0) + 1);
        else out.push({ topic: e.type, key: eventKey(e), payload, event: e });
      }
      sent += out.length;
      for (const m of out) send(m);
      const notes = [...skipped].map(([t, n]) => `${n} ${t}`).join(', ');
      node.status({ fill: 'green', shape: 'dot', text: `${plural(sent, format.toUpperCase() + ' event')}${notes ? `; not in ${format.toUpperCase()}: ${notes}` : ''}` });
      done();
    });
    node.on('close', (_removed, done) => {
      node.status({});
      done();
    });
  }
  RED.nodes.registerType('tcpreuse-siem', TcpreuseSiemNode as never);
};
