import { InputError, type InputDecoder } from '../ingest/input-decoder';
import type { PacketRecord } from '../model/packet-record';
import type { Logger } from '../util/logger';
import type { Admin, ConsumedBatch } from './client';
import type { MessagePacker } from './message-pack';

/** Headers of a dead-letter record: where the message came from and why it was refused. */
export const DLQ_HEADERS = {
  topic: 'tcpreuse-dlq-topic',
  partition: 'tcpreuse-dlq-partition',
  offset: 'tcpreuse-dlq-offset',
  error: 'tcpreuse-dlq-error',
  format: 'tcpreuse-dlq-format',
  /** Set when the value was cut to fit the dead-letter topic: the original value's size in bytes. */
  truncated: 'tcpreuse-dlq-truncated-from',
} as const;

/** Bytes a record may carry besides its value (key, headers, record and batch overhead). */
const RECORD_OVERHEAD = 16 * 1024;
const MAX_ERROR_CHARS = 400;

/**
 * A reason as one printable line of bounded length: decoder messages may quote payload bytes
 * and JSON errors newlines, which break log lines and the tools that read headers.
 */
export function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex
  const flat = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\ufffd]+/g, ' ').replace(/ {2,}/g, ' ').trim();
  return flat.length > MAX_ERROR_CHARS ? `${flat.slice(0, MAX_ERROR_CHARS - 1)}…` : flat;
}

/**
 * A message the decoder refused, appended to the dead-letter topic with why in its headers. Its
 * value goes as it came when it fits `maxMessageBytes` (the dead-letter topic's limit); a larger
 * one goes cut to fit, with the original size in a header: a dead letter must never be the
 * record the broker refuses (that would stop consuming at the same message after every restart).
 */
export function packDeadLetter(packer: MessagePacker, dlqTopic: string, batch: ConsumedBatch, msg: ConsumedBatch['messages'][number], err: InputError, format: string, maxMessageBytes = 1024 * 1024): void {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(msg.headers)) if (v !== undefined) headers[k] = v;
  const value = msg.value ?? Buffer.alloc(0);
  const room = Math.max(0, maxMessageBytes - RECORD_OVERHEAD - (msg.key?.length ?? 0));
  packer.add({
    topic: dlqTopic,
    key: msg.key,
    value: value.length > room ? value.subarray(0, room) : value,
    timestampMs: msg.timestampMs,
    headers: {
      ...headers,
      [DLQ_HEADERS.topic]: batch.topic,
      [DLQ_HEADERS.partition]: String(batch.partition),
      [DLQ_HEADERS.offset]: msg.offset,
      [DLQ_HEADERS.error]: oneLine(err.message),
      [DLQ_HEADERS.format]: format,
      ...(value.length > room ? { [DLQ_HEADERS.truncated]: String(value.length) } : {}),
    },
  });
}

/**
 * The dead-letter topic, created (when missing) with the input topic's max.message.bytes, so any
 * message the input could hold fits; returns the limit the dead-letter topic has (it may exist
 * already with a smaller one: dead letters are then cut to fit, see packDeadLetter).
 */
export async function prepareDeadLetterTopic(admin: Admin, inputTopic: string, dlqTopic: string, partitions: number): Promise<number> {
  const inputMax = await admin.topicConfig(inputTopic, 'max.message.bytes').catch(() => null);
  await admin.ensureTopics([{ topic: dlqTopic, partitions, ...(inputMax ? { configs: { 'max.message.bytes': inputMax } } : {}) }]);
  const dlqMax = Number(await admin.topicConfig(dlqTopic, 'max.message.bytes').catch(() => null));
  return Number.isFinite(dlqMax) && dlqMax > 0 ? dlqMax : 1024 * 1024;
}

/** Where a consumer sends the messages its decoder refuses, counted and logged. */
export class DeadLetters {
  /** The dead-letter topic's max.message.bytes (see prepareDeadLetterTopic). */
  maxBytes = 1024 * 1024;

  constructor(
    private readonly outbox: () => MessagePacker,
    private readonly topic: string,
    private readonly format: string,
    private readonly counted: (n: number, labels: Record<string, string>) => void,
    private readonly log: Logger,
  ) {}

  /** The packets of `msg`; none when it is not valid input, and then it is dead-lettered. */
  decode(decoder: InputDecoder, batch: ConsumedBatch, msg: ConsumedBatch['messages'][number]): PacketRecord[] {
    try {
      return decoder.decode(msg);
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      this.send(batch, msg, err);
      return [];
    }
  }

  send(batch: ConsumedBatch, msg: ConsumedBatch['messages'][number], err: InputError): void {
    this.counted(1, { format: this.format });
    this.log.warn('message sent to the dead-letter topic', { topic: batch.topic, partition: batch.partition, offset: msg.offset, error: oneLine(err.message) });
    packDeadLetter(this.outbox(), this.topic, batch, msg, err, this.format, this.maxBytes);
  }
}
