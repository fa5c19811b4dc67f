/**
 * The client the service, the CLI and the nodes use: kafkajs for consuming and admin, and for
 * producing either our wire producer (the default) or kafkajs's, in this thread or in a worker.
 */
import type { Logger } from '../util/logger';
import type { KafkaClient, KafkaConnection, Sink, SinkOptions } from './client';
import { createKafkajsClient } from './kafkajs-client';
import { threadedSink } from './threaded-sink';
import { WireProducer } from './wire/producer';

export function createKafkaClient(connection: KafkaConnection, logger: Logger): KafkaClient {
  const kafkajs = createKafkajsClient(connection, logger);
  let told = false;
  return {
    source: (options) => kafkajs.source(options),
    admin: () => kafkajs.admin(),
    sink(options: SinkOptions): Sink {
      if (options.thread) return threadedSink(connection, options, logger);
      if ((connection.producer ?? 'wire') === 'kafkajs') return kafkajs.sink(options);
      if (connection.sasl) {
        if (!told) logger.info('SASL is configured: writing with the kafkajs producer (the wire producer speaks plain TCP and TLS only)');
        told = true;
        return kafkajs.sink(options);
      }
      return new WireProducer(connection, options, logger);
    },
  };
}
