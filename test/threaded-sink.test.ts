import { join } from 'node:path';
import type * as ClientModule from '../src/kafka/kafka-client';
import type * as LoggerModule from '../src/util/logger';
import { ROOT } from './helpers/run';

// The producer thread loads the compiled worker file, so this runs the build (npm test builds first).
const { createKafkaClient } = require(join(ROOT, 'dist', 'src', 'kafka', 'kafka-client')) as typeof ClientModule;
const { createLogger } = require(join(ROOT, 'dist', 'src', 'util', 'logger')) as typeof LoggerModule;

describe('producer in a worker thread', () => {
  test.each([
    ['wire', { name: 'KafkaConnectionError' }, 'connect failed, will retry'],
    ['kafkajs', { name: 'KafkaJSNumberOfRetriesExceeded' }, 'kafkajs'],
  ] as const)("%s: an unreachable broker rejects connect with the producer's error, logged through the caller's logger, and the thread stops", async (producer, error, logged) => {
    const lines: string[] = [];
    const logger = createLogger('debug', (line) => lines.push(line));
    const sink = createKafkaClient({ brokers: ['127.0.0.1:1'], clientId: 'thread-test', connectionTimeoutMs: 500, producer }, logger).sink({ compression: 'none', thread: true });
    await expect(sink.connect()).rejects.toMatchObject({ ...error, message: expect.stringContaining('ECONNREFUSED') });
    expect(lines.some((l) => JSON.stringify(JSON.parse(l)).includes(logged))).toBe(true);
    await sink.disconnect();
    await expect(sink.send([{ topic: 't', key: null, value: 'x', timestampMs: 0 }])).rejects.toThrow(/producer thread exited/);
  });
});
