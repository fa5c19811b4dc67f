import { PacketRecordError, validatePacketRecord, type PacketRecord } from '../../src/model/packet-record';
import type { NodeMessage } from './node-red';

/** msg.payload as packets: one PacketRecord or an array of them; anything else is an error naming why. */
export function packetsFromMessage(msg: NodeMessage): PacketRecord[] {
  const items = Array.isArray(msg.payload) ? (msg.payload as unknown[]) : [msg.payload];
  return items.map((item, i) => {
    try {
      return validatePacketRecord(item);
    } catch (err) {
      if (!(err instanceof PacketRecordError)) throw err;
      throw new PacketRecordError(`msg.payload${Array.isArray(msg.payload) ? `[${i}]` : ''} is not a PacketRecord: ${err.message}`);
    }
  });
}
