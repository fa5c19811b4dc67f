/**
 * The client the service, the CLI and the nodes use: kafkajs for consuming and admin, and for
 * producing either our wire producer (the default) or kafkajs's, in this thread or in a worker.
 */
import type { Logger } from '../util/logger';
import type { ConnectionHealth } from './connection-health';
import type { KafkaClient, KafkaConnection, Sink, SinkOptions } from './client';
import { threadedSink } from './threaded-sink';
import { WireProducer } from './wire/producer';
import { TransactionalProducer } from './wire/transactional-producer';

/** kafkajs is loaded only where it is used (the producer thread usually does without it). */
const kafkajs = (): typeof import('./kafkajs-client') => require('./kafkajs-client') as typeof import('./kafkajs-client');

/** A producer in this thread: the wire producer, or kafkajs's when asked for. */
export function createSink(connection: KafkaConnection, options: SinkOptions, logger: Logger, reachability?: ConnectionHealth): Sink {
  if (options.transaction) {
    if ((connection.producer ?? 'wire') !== 'wire') throw new Error('transactions (--exactly-once) are written by the wire producer only; drop --producer kafkajs');
    return new TransactionalProducer(connection, options, logger, options.transaction, reachability);
  }
  if ((connection.producer ?? 'wire') === 'kafkajs') return kafkajs().createKafkajsClient(connection, logger, reachability).sink(options);
  return new WireProducer(connection, options, logger, undefined, reachability);
}

/** `reachability`: see createKafkajsClient (the consumer passes one for /healthz; the nodes follow the log themselves). */
export function createKafkaClient(connection: KafkaConnection, logger: Logger, reachability?: ConnectionHealth): KafkaClient {
  const client = kafkajs().createKafkajsClient(connection, logger, reachability);
  return {
    reachability,
    source: (options) => client.source(options),
    admin: () => client.admin(),
    // A transaction is committed from this thread, so its producer lives here too.
    sink: (options: SinkOptions): Sink => (options.thread && !options.transaction ? threadedSink(connection, options, logger, reachability) : createSink(connection, options, logger, reachability)),
  };
}
