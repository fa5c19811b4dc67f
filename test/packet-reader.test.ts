/**
 * The hand-written Avro reader against avsc on the same bytes: where the reader answers, it
 * answers exactly what avsc (plus fromAvro) gives; where avsc refuses, the reader never accepts.
 */
import { randomBytes } from 'node:crypto';
import { plausibleBatch, readPacketBatch, readPacketRecord } from '../src/avro/packet-reader';
import { decodeAvroPackets } from '../src/ingest/avro-packets';
import { InputError } from '../src/ingest/input-error';
import { encodeBatch, encodePacket, fromAvro, packetBatchType, packetRecordType } from '../src/avro/packet-schemas';
import type { PacketRecord } from '../src/model/packet-record';

function avsc(type: typeof packetRecordType, buf: Buffer): unknown {
  try {
    const { value, offset } = type.decode(buf, 0);
    return offset === buf.length ? value : undefined;
  } catch {
    return undefined;
  }
}
const avscRecord = (buf: Buffer): PacketRecord | undefined => {
  const v = avsc(packetRecordType, buf) as Record<string, unknown> | undefined;
  return v && fromAvro(v);
};
/** avsc behind the structural guard (unguarded, a corrupt block count makes it exhaust the heap). */
const avscBatch = (buf: Buffer): PacketRecord[] | undefined => {
  if (!plausibleBatch(buf)) return undefined;
  const v = avsc(packetBatchType, buf) as { packets: Record<string, unknown>[] } | undefined;
  return v && v.packets.map(fromAvro);
};

/** Same answer, field order included; or the reader defers (undefined). */
function agrees<T>(fast: T | undefined, slow: T | undefined): void {
  if (fast === undefined) return;
  expect(slow).toBeDefined();
  expect(JSON.stringify(fast)).toBe(JSON.stringify(slow));
}

const packet = (i: number): PacketRecord => {
  const p: PacketRecord = { ts: 1_700_000_000_000_000 + i * 977, src: `10.0.${i % 7}.${i % 250}`, dst: i % 3 ? '2001:db8::1' : '192.0.2.9', sport: 1024 + i, dport: 443, flags: i & 0xff, seq: (i * 2654435761) >>> 0, ack: 4294967295 - i, len: i % 1500 };
  if (i % 2) p.win = 65535 - i;
  if (i % 3 === 0) p.vlan = i % 4095;
  if (i % 5 === 0) p.sensor = i % 10 === 0 ? 'tap-ünï' : `tap-${i % 4}`;
  if (i % 7) p.frame = i + 1;
  if (i % 11 === 0) p.icmpQuote = 20;
  return p;
};

describe('hand-written Avro packet reader', () => {
  test('decodes what replay and sensors write exactly as avsc does, optional fields in schema order', () => {
    const packets = Array.from({ length: 500 }, (_, i) => packet(i));
    const batch = encodeBatch(packets);
    agrees(readPacketBatch(batch), avscBatch(batch));
    // Only the non-ASCII sensor name makes it defer.
    const ascii = packets.filter((p) => !(p.sensor ?? '').includes('ü'));
    expect(readPacketBatch(encodeBatch(ascii))).toEqual(avscBatch(encodeBatch(ascii)));
    for (const p of packets) {
      const one = encodePacket(p);
      agrees(readPacketRecord(one), avscRecord(one));
      if (!(p.sensor ?? '').includes('ü')) expect(readPacketRecord(one)).toEqual(avscRecord(one));
    }
    expect(readPacketBatch(encodeBatch([]))).toEqual([]);
  });

  test('every truncation and every one-byte corruption of a batch: never an answer avsc would not give', () => {
    const batch = encodeBatch(Array.from({ length: 6 }, (_, i) => packet(i * 13 + 1)));
    for (let n = 0; n < batch.length; n++) {
      const cut = batch.subarray(0, n);
      agrees(readPacketBatch(cut), avscBatch(cut));
      agrees(readPacketRecord(cut), avscRecord(cut));
    }
    for (let i = 0; i < batch.length; i++) {
      for (const v of [0x00, 0x01, 0x7f, 0x80, 0xff, batch[i] ^ 0x40]) {
        const bad = Buffer.from(batch);
        bad[i] = v;
        agrees(readPacketBatch(bad), avscBatch(bad));
        agrees(readPacketRecord(bad), avscRecord(bad));
      }
    }
  });

  test('random bytes, multi-block arrays and oversized numbers are left to avsc', () => {
    for (let i = 0; i < 2000; i++) {
      const junk = randomBytes(1 + (i % 80));
      agrees(readPacketBatch(junk), avscBatch(junk));
      agrees(readPacketRecord(junk), avscRecord(junk));
    }
    // Two blocks of one packet each (count, items…, count, items…, 0): valid Avro, deferred.
    const one = encodePacket(packet(3));
    const twoBlocks = Buffer.concat([Buffer.from([2]), one, Buffer.from([2]), one, Buffer.from([0])]);
    expect(readPacketBatch(twoBlocks)).toBeUndefined();
    expect(avscBatch(twoBlocks)).toHaveLength(2);
    // A timestamp beyond 2^53: avsc refuses it, and so does the reader.
    const huge = Buffer.from(one);
    const big = Buffer.from([0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]);
    const withHugeTs = Buffer.concat([big, huge.subarray(8)]);
    agrees(readPacketRecord(withHugeTs), avscRecord(withHugeTs));
  });

  test('values out of range are refused with the field named, in batches and single records', () => {
    const bad = { ...packet(1), sport: 70000 };
    const want = 'field "sport" must be an integer in 0..65535, got 70000';
    expect(() => decodeAvroPackets(encodeBatch([packet(2), bad]))).toThrow(want);
    expect(() => decodeAvroPackets(encodePacket(bad), 'record')).toThrow(want);
    expect(() => decodeAvroPackets(encodePacket({ ...packet(4), src: '' }), 'record')).toThrow('field "src" must be an IPv4 or IPv6 address string');
    expect(decodeAvroPackets(encodeBatch([packet(2), packet(3)]))).toHaveLength(2);
  });

  test('the guard passes every well-formed batch (one block or many) and refuses counts the bytes cannot hold', () => {
    const one = encodePacket(packet(3));
    expect(plausibleBatch(encodeBatch(Array.from({ length: 50 }, (_, i) => packet(i))))).toBe(true);
    expect(plausibleBatch(Buffer.concat([Buffer.from([2]), one, Buffer.from([3, one.length * 2]), one, one, Buffer.from([0])]))).toBe(true);
    expect(plausibleBatch(encodeBatch([]))).toBe(true);
    // 10^8 packets declared in 60 bytes: what made avsc allocate until the heap ran out.
    const lying = Buffer.concat([Buffer.from([0x80, 0x84, 0xaf, 0x5f]), one]);
    expect(plausibleBatch(lying)).toBe(false);
    expect(() => decodeAvroPackets(lying)).toThrow(InputError);
    expect(() => decodeAvroPackets(lying, 'batch')).toThrow('not an Avro PacketBatch');
  });
});
