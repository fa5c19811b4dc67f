import type { InputError } from '../ingest/input-decoder';
import type { ConsumedBatch } from './client';
import type { MessagePacker } from './message-pack';

/** Headers of a dead-letter record: where the message came from and why it was refused. */
export const DLQ_HEADERS = {
  topic: 'tcpreuse-dlq-topic',
  partition: 'tcpreuse-dlq-partition',
  offset: 'tcpreuse-dlq-offset',
  error: 'tcpreuse-dlq-error',
  format: 'tcpreuse-dlq-format',
} as const;

/** A message the decoder refused, appended to the dead-letter topic unchanged, with why in its headers. */
export function packDeadLetter(packer: MessagePacker, dlqTopic: string, batch: ConsumedBatch, msg: ConsumedBatch['messages'][number], err: InputError, format: string): void {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(msg.headers)) if (v !== undefined) headers[k] = v;
  packer.add({
    topic: dlqTopic,
    key: msg.key,
    value: msg.value ?? Buffer.alloc(0),
    timestampMs: msg.timestampMs,
    headers: {
      ...headers,
      [DLQ_HEADERS.topic]: batch.topic,
      [DLQ_HEADERS.partition]: String(batch.partition),
      [DLQ_HEADERS.offset]: msg.offset,
      [DLQ_HEADERS.error]: err.message,
      [DLQ_HEADERS.format]: format,
    },
  });
}
