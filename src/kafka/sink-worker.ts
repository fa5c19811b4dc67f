/**
 * Worker-thread side of `threadedSink`: runs the producer, so record encoding, CRC, the
 * partitioner and the garbage they make use the second core instead of the pipeline's thread.
 * Requests (connect, send, disconnect) come one message each and are answered in order.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createLogger, type LogLevel } from '../util/logger';
import type { KafkaConnection, SinkOptions } from './client';
import { ConnectionHealth } from './connection-health';
import { createSink } from './kafka-client';
import type { SinkReply, SinkRequest } from './threaded-sink';

const { connection, options, logLevel } = workerData as { connection: KafkaConnection; options: SinkOptions; logLevel: LogLevel };
const port = parentPort!;
const logger = createLogger(logLevel, (line) => port.postMessage({ log: line } satisfies SinkReply));
// The producer's view of the cluster's reachability, passed on as it changes (see threadedSink).
const reachability = new ConnectionHealth();
reachability.subscribe((trouble) => port.postMessage({ unreachable: trouble } satisfies SinkReply));
const sink = createSink(connection, { ...options, thread: false }, logger, reachability);

// One request at a time, in arrival order: the output's order is the order of the sends.
let previous: Promise<unknown> = Promise.resolve();
port.on('message', (req: SinkRequest) => {
  const work = (): Promise<void> => (req.op === 'connect' ? sink.connect() : req.op === 'send' ? sink.send(req.packed) : sink.disconnect());
  previous = previous.then(work).then(
    () => port.postMessage({ id: req.id } satisfies SinkReply),
    (err: Error) => port.postMessage({ id: req.id, error: { name: err.name, message: err.message } } satisfies SinkReply),
  );
});
