/**
 * A message that cannot be turned into packets: undecodable bytes, wrong types, a truncated frame.
 * The Kafka consumer sends such a message to the dead-letter topic with this error's message.
 */
export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputError';
  }
}
