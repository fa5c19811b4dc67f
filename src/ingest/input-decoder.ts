import type { PacketRecord } from '../model/packet-record';
import { OptionError } from '../util/options';
import { AVRO_SHAPE_HEADER, decodeAvroPackets, type AvroShape } from './avro-packets';
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
}

/**
 * Turns messages of one input format into packets. Throws InputError for a message that cannot
 * be decoded (the caller dead-letters it); counts, by reason, what was valid but not a TCP packet.
 */
export class InputDecoder {
  readonly format: InputFormat;
  /** Valid input that carried no TCP packet (non-TCP frames, ek bulk index lines), by reason. */
  readonly skipped = new Map<string, number>();
  private readonly pcap: PcapRecordDecoder | null;

  constructor(options: InputDecoderOptions) {
    if (!(INPUT_FORMATS as readonly string[]).includes(options.format)) {
      throw new OptionError(`input format must be one of ${INPUT_FORMATS.join(', ')}, got ${JSON.stringify(options.format)}`);
    }
    this.format = options.format;
    this.pcap = options.format === 'pcap-record' ? new PcapRecordDecoder(options.pcapRecord) : null;
  }

  decode(m: InputMessage): PacketRecord[] {
    if (m.value === null || m.value.length === 0) throw new InputError('empty message (null or zero-length value)');
    switch (this.format) {
      case 'json':
        return decodeJsonPackets(m.value);
      case 'avro': {
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
