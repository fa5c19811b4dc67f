import { FrameDecoder } from '../decode/frame-decoder';
import type { PacketRecord } from '../model/packet-record';
import { InputError } from './input-error';

/** Where a pcap-record message's capture time comes from. */
export type PcapTimestampSource = 'header' | 'kafka';

export interface PcapRecordOptions {
  /** LINKTYPE_* of the frames (1 Ethernet, 101 raw IP, 113 Linux SLL, 276 SLL2 …). @default 1 */
  readonly linkType?: number;
  /**
   * `header`: the value starts with a classic pcap record header (16 bytes, little-endian:
   * ts_sec, ts_usec, incl_len, orig_len) followed by the frame. `kafka`: the value is the bare
   * frame and the Kafka message timestamp (ms) is the capture time. @default "header"
   */
  readonly timestamp?: PcapTimestampSource;
  /** The header's second field counts nanoseconds (pcap magic 0xa1b23c4d). @default false */
  readonly nanoseconds?: boolean;
  readonly sensor?: string;
}

export const PCAP_RECORD_HEADER_BYTES = 16;
/** Kafka header that overrides the configured link type for one message (`tcpreuse replay` sets it). */
export const LINK_TYPE_HEADER = 'tcpreuse-linktype';

/** Builds the `header`-form message for one frame: what `tcpreuse replay --input-format pcap-record` sends. */
export function encodePcapRecord(tsUs: number, frame: Buffer): Buffer {
  const h = Buffer.allocUnsafe(PCAP_RECORD_HEADER_BYTES);
  h.writeUInt32LE(Math.floor(tsUs / 1_000_000), 0);
  h.writeUInt32LE(tsUs % 1_000_000, 4);
  h.writeUInt32LE(frame.length, 8);
  h.writeUInt32LE(frame.length, 12);
  return Buffer.concat([h, frame]);
}

/**
 * pcap-record input: one raw captured frame per message, decoded with the same frame decoder as
 * capture files (every link layer and tunnel it knows). A frame that is not TCP is skipped and
 * counted; a frame cut short or undecodable is an input error (dead-letter topic).
 */
export class PcapRecordDecoder {
  readonly frames: FrameDecoder;
  private readonly linkType: number;
  private readonly timestamp: PcapTimestampSource;
  private readonly nanoseconds: boolean;

  constructor(options: PcapRecordOptions = {}) {
    this.frames = new FrameDecoder({ sensor: options.sensor });
    this.linkType = options.linkType ?? 1;
    this.timestamp = options.timestamp ?? 'header';
    this.nanoseconds = options.nanoseconds ?? false;
  }

  /** Returns the packet, or null when the frame is valid but carries no TCP segment. */
  decode(value: Buffer, kafkaTimestampMs: number, linkTypeHeader?: string): PacketRecord | null {
    let linkType = this.linkType;
    if (linkTypeHeader !== undefined) {
      linkType = Number(linkTypeHeader);
      if (!Number.isInteger(linkType) || linkType < 0) throw new InputError(`pcap-record: header ${LINK_TYPE_HEADER} is not a link type: ${JSON.stringify(linkTypeHeader)}`);
    }
    let ts: number;
    let frame: Buffer;
    if (this.timestamp === 'header') {
      if (value.length < PCAP_RECORD_HEADER_BYTES) throw new InputError(`pcap-record: ${value.length} bytes, shorter than a pcap record header`);
      const sec = value.readUInt32LE(0);
      const frac = value.readUInt32LE(4);
      const incl = value.readUInt32LE(8);
      if (incl !== value.length - PCAP_RECORD_HEADER_BYTES) {
        throw new InputError(`pcap-record: header says ${incl} captured bytes, message carries ${value.length - PCAP_RECORD_HEADER_BYTES}`);
      }
      ts = sec * 1_000_000 + (this.nanoseconds ? Math.floor(frac / 1000) : frac);
      frame = value.subarray(PCAP_RECORD_HEADER_BYTES);
    } else {
      ts = kafkaTimestampMs * 1000;
      frame = value;
    }
    const p = this.frames.decodeBytes(linkType, frame, ts);
    if (p) {
      if (p.frame === 0) delete p.frame;
      return p;
    }
    const reason = this.frames.lastSkipReason ?? 'undecodable';
    if (reason.startsWith('truncated') || reason.startsWith('undecodable') || reason.startsWith('unsupported-link')) {
      throw new InputError(`pcap-record: ${reason} (link type ${linkType})`);
    }
    return null;
  }
}
