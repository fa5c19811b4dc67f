import type { Observable, Subscription } from 'rxjs';
import { type CaptureError, STDIN_PATH } from '../src/capture/pcap-reader';
import { readPacketsInSequence } from '../src/capture/read-packets';
import { InputDecoder, INPUT_FORMATS, type InputFormat } from '../src/ingest/input-decoder';
import type { PacketRecord } from '../src/model/packet-record';
import { choiceField, numberField, textField } from './lib/config-values';
import { failConfiguration } from './lib/event-time-node';
import type { Node, NodeAPI, NodeMessage } from './lib/node-red';
import { packetPayload } from './lib/packet-payload';

interface DecodeConfig {
  format?: string;
  linkType?: string;
  pcapTimestamp?: string;
  filename?: string;
  output?: string;
  batchSize?: string;
  sensor?: string;
}

const MODES = [...INPUT_FORMATS, 'capture-file'] as const;
type Mode = (typeof MODES)[number];

/**
 * tcpreuse-decode: bytes or text → PacketRecords (avro, json, tshark-ek, pcap-record, as the
 * Kafka consumer reads them), or a capture file (path in the config or msg.filename) streamed
 * through the capture reader and frame decoder. Out: one message per packet, or per batch.
 */
module.exports = function register(RED: NodeAPI): void {
  function TcpreuseDecodeNode(this: Node, config: DecodeConfig): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const reading = new Set<Subscription>();
    let mode: Mode;
    let decoder: InputDecoder | null = null;
    let perBatch: boolean;
    let batchSize: number;
    let sensor: string | undefined;
    try {
      const c = config as unknown as Record<string, unknown>;
      mode = choiceField(c, 'format', 'format', MODES, 'json');
      perBatch = choiceField(c, 'output', 'output', ['packet', 'batch'] as const, 'packet') === 'batch';
      batchSize = numberField(c, 'batchSize', 'batch size', 1) ?? 1000;
      sensor = textField(c, 'sensor');
      if (mode !== 'capture-file') {
        decoder = new InputDecoder({
          format: mode as InputFormat,
          pcapRecord: {
            linkType: numberField(c, 'linkType', 'link type') ?? 1,
            timestamp: choiceField(c, 'pcapTimestamp', 'pcap timestamp', ['header', 'kafka'] as const, 'header'),
            sensor,
          },
        });
      }
    } catch (err) {
      failConfiguration(node, err);
      return;
    }

    const emit = (msg: NodeMessage, packets: PacketRecord[], send: (m: NodeMessage) => void): void => {
      if (perBatch) {
        if (packets.length > 0) send({ ...RED.util.cloneMessage(msg), payload: packets.map((p) => packetPayload(p, sensor)) });
        return;
      }
      for (const p of packets) send({ ...RED.util.cloneMessage(msg), payload: packetPayload(p, sensor) });
    };

    node.on('input', (msg, send, done) => {
      if (mode !== 'capture-file') {
        try {
          let value = msg.payload;
          if (typeof value === 'string') value = Buffer.from(value);
          else if (mode === 'json' && value !== null && typeof value === 'object' && !Buffer.isBuffer(value)) value = Buffer.from(JSON.stringify(value));
          if (!Buffer.isBuffer(value)) throw new Error(`msg.payload must be a Buffer or a string for ${mode}, got ${value === null ? 'null' : typeof value}`);
          const ts = typeof msg.timestamp === 'number' ? msg.timestamp : Date.now();
          const packets = decoder!.decode({ value, timestampMs: ts, headers: (msg.headers as Record<string, string> | undefined) ?? {} });
          emit(msg, packets, send);
          done();
        } catch (err) {
          done(err as Error);
        }
        return;
      }
      // msg.filename: one path, or several read one after another as one capture (a rotated set).
      const given = msg.filename;
      const paths: unknown[] = Array.isArray(given) ? given : [(typeof given === 'string' && given) || textField(config as Record<string, unknown>, 'filename')];
      if (paths.length === 0 || paths.some((f) => typeof f !== 'string' || f === '')) {
        done(new Error(Array.isArray(given) ? 'msg.filename must be a path or a non-empty array of paths' : 'no capture file: set it in the node or send msg.filename'));
        return;
      }
      if (paths.includes(STDIN_PATH)) {
        // The library reads "-" as standard input (for the CLI); Node-RED's own is no capture.
        done(new Error('"-" (standard input) is not a capture file here: give a file path'));
        return;
      }
      const files = paths as string[];
      const file = Array.isArray(given) ? files : files[0]; // msg.filename of what is sent
      const label = files.length > 1 ? `${files.length} files` : files[0].split('/').pop();
      let batch: PacketRecord[] = [];
      let count = 0;
      let ended = false; // the reader can fail synchronously, before subscribe() returns
      let sub: Subscription | undefined = undefined;
      node.status({ fill: 'blue', shape: 'dot', text: `reading ${label}` });
      // Damage midway ends the file there (as the CLI reads it): what was decoded before it goes
      // on, then the end marker, then the error for Catch nodes.
      let damage: CaptureError | undefined;
      let reader: Observable<PacketRecord>;
      try {
        reader = readPacketsInSequence(files, { sensor, onDamage: (err) => (damage = err) });
      } catch (err) {
        // A file of the set is missing or unreadable: none is read.
        node.status({ fill: 'red', shape: 'ring', text: (err as Error).message.slice(0, 60) });
        done(err as Error);
        return;
      }
      sub = reader
        .subscribe({
          next(p) {
            count++;
            if (!perBatch) {
              send({ ...RED.util.cloneMessage(msg), filename: file, payload: packetPayload(p) });
              return;
            }
            batch.push(packetPayload(p));
            if (batch.length >= batchSize) {
              send({ ...RED.util.cloneMessage(msg), filename: file, payload: batch });
              batch = [];
            }
          },
          error(err: Error) {
            ended = true;
            if (sub) reading.delete(sub);
            node.status({ fill: 'red', shape: 'ring', text: err.message.slice(0, 60) });
            done(err);
          },
          complete() {
            ended = true;
            if (sub) reading.delete(sub);
            if (batch.length > 0) send({ ...RED.util.cloneMessage(msg), filename: file, payload: batch });
            // A last message with `complete: true` tells what follows that the file ended.
            send({ ...RED.util.cloneMessage(msg), filename: file, complete: true, payload: [] });
            if (damage) {
              node.status({ fill: 'red', shape: 'ring', text: `${count} packets, then: ${damage.reason}`.slice(0, 60) });
              done(damage);
              return;
            }
            node.status({ fill: 'green', shape: 'dot', text: `${count} packets from ${label}` });
            done();
          },
        });
      if (!ended) reading.add(sub);
    });

    node.on('close', (_removed, done) => {
      for (const s of reading) s.unsubscribe();
      reading.clear();
      node.status({});
      done();
    });
  }
  RED.nodes.registerType('tcpreuse-decode', TcpreuseDecodeNode as never);
};
