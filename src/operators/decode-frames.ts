import type { OperatorFunction } from 'rxjs';
import { Observable } from '../util/rx';
import type { CapturedFrame } from '../capture/pcap-reader';
import { FrameDecoder, type DecoderOptions } from '../decode/frame-decoder';
import type { PacketRecord } from '../model/packet-record';

export interface DecodeFramesHooks {
  /** Receives the decoder (its `skipped` counts by reason) once per subscription. */
  readonly onDecoder?: (decoder: FrameDecoder) => void;
}

/**
 * Captured frames → TCP PacketRecords. Frames that are not TCP (or cannot be decoded) are
 * counted by reason on the decoder, never thrown.
 */
export function decodeFrames(options: DecoderOptions = {}, hooks: DecodeFramesHooks = {}): OperatorFunction<CapturedFrame, PacketRecord> {
  return (source) =>
    new Observable((subscriber) => {
      const decoder = new FrameDecoder(options);
      hooks.onDecoder?.(decoder);
      return source.subscribe({
        next(f) {
          const r = decoder.decode(f);
          if (r) subscriber.next(r);
        },
        error: (e) => subscriber.error(e),
        complete: () => subscriber.complete(),
      });
    });
}
