import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Logger } from '../util/logger';
import type { KafkaConnection, Sink, SinkOptions } from './client';
import type { ConnectionHealth } from './connection-health';
import { isPacked, packMessages, type PackedMessages } from './message-pack';

type SinkCall = { op: 'connect' | 'disconnect' } | { op: 'send'; packed: PackedMessages };
export type SinkRequest = SinkCall & { id: number };
export type SinkReply = { log: string } | { unreachable: string | null } | { id: number; error?: { name: string; message: string } };

/**
 * A Sink whose producer runs in a worker thread (see sink-worker). Messages cross packed into one
 * transferred buffer (message-pack), so encoding, CRC and socket writes use another core; the
 * promise `send` returns still resolves only once the broker acknowledged everything.
 */
export function threadedSink(connection: KafkaConnection, options: SinkOptions, logger: Logger, reachability?: ConnectionHealth): Sink {
  const worker = new Worker(join(__dirname, 'sink-worker.js'), { workerData: { connection, options, logLevel: logger.level } });
  worker.unref(); // the requests in flight keep the process alive, not the idle worker
  const waiting = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  let nextId = 0;
  let dead: Error | null = null;
  const failAll = (err: Error): void => {
    dead = err;
    for (const w of waiting.values()) w.reject(err);
    waiting.clear();
  };
  worker.on('message', (r: SinkReply) => {
    if ('log' in r) {
      const { level, msg, time: _time, ...fields } = JSON.parse(r.log) as { level: 'debug' | 'info' | 'warn' | 'error'; msg: string; time: string };
      logger[level](msg, fields);
      return;
    }
    if ('unreachable' in r) {
      if (r.unreachable === null) reachability?.ok();
      else reachability?.failed(r.unreachable);
      return;
    }
    const w = waiting.get(r.id);
    if (!w) return;
    waiting.delete(r.id);
    if (!r.error) w.resolve();
    else w.reject(Object.assign(new Error(r.error.message), { name: r.error.name }));
  });
  worker.on('error', failAll);
  worker.on('exit', (code) => failAll(new Error(`producer thread exited (code ${code})`)));
  const request = (req: SinkCall): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      if (dead) return reject(dead);
      const id = nextId++;
      waiting.set(id, { resolve, reject });
      worker.ref();
      if (req.op === 'send') worker.postMessage({ ...req, id } as SinkRequest, [req.packed.bytes.buffer as ArrayBuffer]);
      else worker.postMessage({ ...req, id } as SinkRequest);
    }).finally(() => {
      if (waiting.size === 0) worker.unref();
    });
  return {
    connect: () => request({ op: 'connect' }),
    send: (messages) => request({ op: 'send', packed: isPacked(messages) ? messages : packMessages(messages) }),
    async disconnect() {
      await request({ op: 'disconnect' }).catch(() => undefined);
      await worker.terminate();
    },
  };
}
