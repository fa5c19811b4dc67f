import type { PacketRecord } from '../model/packet-record';
import { numberOption, OptionError, US_PER_S } from '../util/options';
import { AVRO_SHAPE_HEADER, decodeAvroPackets, decodeRegistryAvroPackets, type AvroShape, type WriterSchemas } from './avro-packets';
import { InputError } from './input-error';
import { decodeJsonPackets } from './json-packets';
import { LINK_TYPE_HEADER, PcapRecordDecoder, type PcapRecordOptions } from './pcap-record';
import { decodeTsharkEk } from './tshark-ek';

export const INPUT_FORMATS = ['avro', 'json', 'tshark-ek', 'pcap-record'] as const;
export type InputFormat = (typeof INPUT_FORMATS)[number];

/** What a transport hands the decoder: a message value plus the metadata some formats need. */
export interface InputMessage {
  readonly value: Buffer | null;
  /** The message's own timestamp (Kafka: CreateTime/LogAppendTime), ms since the epoch. */
  readonly timestampMs: number;
  readonly headers?: Readonly<Record<string, string | undefined>>;
}

export interface InputDecoderOptions {
  readonly format: InputFormat;
  readonly pcapRecord?: PcapRecordOptions;
  /**
   * A message with a packet stamped more than this far ahead of the wall clock is refused as
   * input (dead-lettered), 0 checks nothing. A live feed's event time is the latest packet
   * time, so one packet stamped years ahead (a sensor's clock fault) would expire every open
   * flow, forget the reuse memory and stop every window for good; a whole sensor off by hours (a
   * time-zone mistake) is only shifted, hence the default of a day. @default 86400
   */
  readonly maxFutureS?: number;
  /** Avro messages are in the Schema Registry wire format, their writer schemas from here. */
  readonly registry?: WriterSchemas;
  /** The wall clock, ms since the epoch (tests set it). @default Date.now */
  readonly nowMs?: () => number;
}

export const DEFAULT_MAX_FUTURE_S = 86_400;

/**
 * Turns messages of one input format into packets. Throws InputError for a message that cannot
 * be decoded (the caller dead-letters it); counts, by reason, what was valid but not a TCP packet.
 */
export class InputDecoder {
  readonly format: InputFormat;
  /** Valid input that carried no TCP packet (non-TCP frames, ek bulk index lines), by reason. */
  readonly skipped = new Map<string, number>();
  private readonly pcap: PcapRecordDecoder | null;
  private readonly maxFutureUs: number;
  private readonly nowMs: () => number;
  private readonly registry: WriterSchemas | null;

  constructor(options: InputDecoderOptions) {
    if (!(INPUT_FORMATS as readonly string[]).includes(options.format)) {
      throw new OptionError(`input format must be one of ${INPUT_FORMATS.join(', ')}, got ${JSON.stringify(options.format)}`);
    }
    this.format = options.format;
    this.pcap = options.format === 'pcap-record' ? new PcapRecordDecoder(options.pcapRecord) : null;
    this.maxFutureUs = numberOption('input', 'maxFutureS', options.maxFutureS, DEFAULT_MAX_FUTURE_S, { min: 0 }) * US_PER_S;
    this.nowMs = options.nowMs ?? Date.now;
    this.registry = options.registry ?? null;
    if (this.registry && this.format !== 'avro') throw new OptionError(`a schema registry is for avro input, not ${this.format}`);
  }

  decode(m: InputMessage): PacketRecord[] {
    const packets = this.decodeValue(m);
    if (this.maxFutureUs > 0 && packets.length > 0) this.checkNotAhead(packets);
    return packets;
  }

  /** Throws when a packet is stamped further ahead of the wall clock than `maxFutureS`. */
  private checkNotAhead(packets: readonly PacketRecord[]): void {
    const nowUs = this.nowMs() * 1000;
    const limit = nowUs + this.maxFutureUs;
    for (let i = 0; i < packets.length; i++) {
      const ts = packets[i].ts;
      if (ts <= limit) continue;
      const aheadS = Math.round((ts - nowUs) / US_PER_S);
      throw new InputError(
        `packet ${i} is stamped ${new Date(ts / 1000).toISOString()}, ${aheadS} s ahead of this machine's clock (more than ${this.maxFutureUs / US_PER_S} s): ` +
          'a sensor clock fault, refused so that it does not move event time forward for every flow',
      );
    }
  }

  private decodeValue(m: InputMessage): PacketRecord[] {
    if (m.value === null || m.value.length === 0) throw new InputError('empty message (null or zero-length value)');
    switch (this.format) {
      case 'json':
        return decodeJsonPackets(m.value);
      case 'avro': {
        if (this.registry) return decodeRegistryAvroPackets(m.value, this.registry);
        const shape = m.headers?.[AVRO_SHAPE_HEADER];
        return decodeAvroPackets(m.value, shape === 'record' || shape === 'batch' ? (shape as AvroShape) : undefined);
      }
      case 'tshark-ek': {
        const r = decodeTsharkEk(m.value);
        for (const [reason, n] of Object.entries(r.skipped)) this.count(reason, n);
        return r.packets;
      }
      case 'pcap-record': {
        const p = this.pcap!.decode(m.value, m.timestampMs, m.headers?.[LINK_TYPE_HEADER]);
        if (p) return [p];
        this.count(this.pcap!.frames.lastSkipReason ?? 'not-tcp', 1);
        return [];
      }
    }
  }

  private count(reason: string, n: number): void {
    this.skipped.set(reason, (this.skipped.get(reason) ?? 0) + n);
  }
}

export { InputError };
