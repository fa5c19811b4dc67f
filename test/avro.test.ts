import { lastValueFrom, toArray } from 'rxjs';
import { decodeEvent, encodeEvent } from '../src/avro/event-schemas';
import { decodeBatch, decodePacket, encodeBatch, encodePacket } from '../src/avro/packet-schemas';
import { readCapture } from '../src/capture/pcap-reader';
import type { PortPressureEvent } from '../src/model/events';
import { validatePacketRecord, type PacketRecord } from '../src/model/packet-record';
import { decodeFrames } from '../src/operators/decode-frames';
import { analyzeCapture, capturePath } from './helpers/run';

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

describe('Avro event schema (schemas/tcpreuse-event.avsc)', () => {
  test('every event type of a real analysis round-trips unchanged', async () => {
    const events = [
      ...(await analyzeCapture(capturePath('xp-ephemeral-cycle'), { annotate: true })),
      ...(await analyzeCapture(capturePath('fast-reuse-timewait'), { annotate: true })),
    ];
    const types = new Set(events.map((e) => e.type));
    for (const t of ['flow.open', 'flow.close', 'port.reuse', 'port.cycle', 'reuse.stats', 'packet']) expect(types).toContain(t);
    for (const e of events) expect(JSON.parse(JSON.stringify(decodeEvent(encodeEvent(e))))).toEqual(JSON.parse(JSON.stringify(e)));
  });

  test('port.pressure round-trips', () => {
    const e: PortPressureEvent = {
      type: 'port.pressure', ts: 1, sensor: 's', client: '10.0.0.1', server: { ip: '10.0.0.2', port: 80 },
      connectionsPerS: 70, timeWaitS: 60, rangeSize: 3976, utilisation: 1.05, severity: 'high',
    };
    expect(decodeEvent(encodeEvent(e))).toEqual(e);
  });

  test('an event with a wrongly typed field is refused, not written', () => {
    expect(() => encodeEvent({ type: 'port.cycle', ts: 1, sensor: 's', client: 7 } as unknown as PortPressureEvent)).toThrow();
  });
});
