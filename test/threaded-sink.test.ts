import { join } from 'node:path';
import type * as ClientModule from '../src/kafka/kafkajs-client';
import type * as LoggerModule from '../src/util/logger';
import { ROOT } from './helpers/run';

// The producer thread loads the compiled worker file, so this runs the build (npm test builds first).
const { createKafkajsClient } = require(join(ROOT, 'dist', 'src', 'kafka', 'kafkajs-client')) as typeof ClientModule;
const { createLogger } = require(join(ROOT, 'dist', 'src', 'util', 'logger')) as typeof LoggerModule;

describe('producer in a worker thread', () => {
  test("an unreachable broker rejects connect with kafkajs's own error, logged through the caller's logger, and the thread stops", async () => {
    const lines: string[] = [];
    const logger = createLogger('debug', (line) => lines.push(line));
    const sink = createKafkajsClient({ brokers: ['127.0.0.1:1'], clientId: 'thread-test', connectionTimeoutMs: 500 }, logger).sink({ compression: 'none', thread: true });
    await expect(sink.connect()).rejects.toMatchObject({ name: 'KafkaJSNumberOfRetriesExceeded', message: expect.stringContaining('ECONNREFUSED') });
    expect(lines.some((l) => JSON.parse(l).component === 'kafkajs')).toBe(true);
    await sink.disconnect();
    await expect(sink.send([{ topic: 't', key: null, value: 'x', timestampMs: 0 }])).rejects.toThrow(/producer thread exited/);
  });
});
