/**
 * Worker-thread side of `threadedSink`: runs the kafkajs producer, so record encoding, CRC, the
 * partitioner and the garbage they make use the second core instead of the pipeline's thread.
 * Requests (connect, send, disconnect) come one message each and are answered in order.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createLogger, type LogLevel } from '../util/logger';
import type { OutgoingMessage, SinkOptions } from './client';
import { createKafkajsClient, type KafkaConnection } from './kafkajs-client';
import type { SinkReply, SinkRequest } from './threaded-sink';

const { connection, options, logLevel } = workerData as { connection: KafkaConnection; options: SinkOptions; logLevel: LogLevel };
const port = parentPort!;
const logger = createLogger(logLevel, (line) => port.postMessage({ log: line } satisfies SinkReply));
const sink = createKafkajsClient(connection, logger).sink({ ...options, thread: false });

port.on('message', (req: SinkRequest) => {
  const work = req.op === 'connect' ? sink.connect() : req.op === 'send' ? sink.send(req.messages.map(revive)) : sink.disconnect();
  work.then(
    () => port.postMessage({ id: req.id } satisfies SinkReply),
    (err: Error) => port.postMessage({ id: req.id, error: { name: err.name, message: err.message } } satisfies SinkReply),
  );
});

/** Buffers arrive as plain Uint8Arrays after the copy between threads. */
function revive(m: OutgoingMessage): OutgoingMessage {
  const value = typeof m.value === 'string' ? m.value : Buffer.from(m.value.buffer, m.value.byteOffset, m.value.byteLength);
  const key = m.key === null || typeof m.key === 'string' ? m.key : Buffer.from(m.key.buffer, m.key.byteOffset, m.key.byteLength);
  return { ...m, key, value };
}
