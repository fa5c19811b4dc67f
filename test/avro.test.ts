import { lastValueFrom, toArray } from 'rxjs';
import { decodeBatch, decodePacket, encodeBatch, encodePacket } from '../src/avro/packet-schemas';
import { readCapture } from '../src/capture/pcap-reader';
import { validatePacketRecord, type PacketRecord } from '../src/model/packet-record';
import { decodeFrames } from '../src/operators/decode-frames';

describe('Avro PacketRecord schemas', () => {
  let packets: PacketRecord[];
  beforeAll(async () => {
    packets = await lastValueFrom(readCapture('samples/sample.pcap').pipe(decodeFrames({ sensor: 'tap1' }), toArray()));
  });

  test('every decoded packet round-trips through the single-record schema unchanged', () => {
    for (const p of packets) expect(validatePacketRecord(decodePacket(encodePacket(p)))).toEqual(p);
  });

  test('a batch round-trips in order', () => {
    expect(decodeBatch(encodeBatch(packets))).toEqual(packets);
  });

  test('a value that does not fit the schema is refused', () => {
    expect(() => encodePacket({ ...packets[0], sport: 'x' as unknown as number })).toThrow();
  });
});
