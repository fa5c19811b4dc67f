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
  const items = Array.isArray(parsed) ? parsed : [parsed];
  return items.map((item, i) => {
    try {
      return validatePacketRecord(item);
    } catch (err) {
      if (!(err instanceof PacketRecordError)) throw err;
      throw new InputError(Array.isArray(parsed) ? `packet [${i}]: ${err.message}` : err.message);
    }
  });
}
