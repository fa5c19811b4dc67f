import { PacketRecordError, validatePacketRecord, type PacketRecord } from '../model/packet-record';
import { InputError } from './input-error';

/**
 * JSON input: one PacketRecord object, or an array of them (a batch), with the field names of
 * the JSON contract. A batch with one bad packet is rejected whole, so the dead-letter record
 * holds the message exactly as it arrived.
 */
export function decodeJsonPackets(value: Buffer): PacketRecord[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString('utf8'));
  } catch (err) {
    throw new InputError(`not JSON: ${(err as Error).message}`);
  }
  return validatePackets(parsed);
}

/**
 * A value that should be one PacketRecord or an array of them (parsed JSON, a Node-RED payload):
 * the packets, or an InputError naming the first bad one (`where` prefixes the message).
 */
export function validatePackets(value: unknown, where?: string): PacketRecord[] {
  const items = Array.isArray(value) ? value : [value];
  return items.map((item, i) => {
    try {
      return validatePacketRecord(item);
    } catch (err) {
      if (!(err instanceof PacketRecordError)) throw err;
      const at = Array.isArray(value) ? `${where ?? 'packet '}[${i}]` : where;
      throw new InputError(at ? `${at} is not a PacketRecord: ${err.message}` : err.message);
    }
  });
}
