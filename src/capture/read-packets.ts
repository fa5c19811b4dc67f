import type { Subscription } from 'rxjs';
import { Observable } from '../util/rx';
import { FrameDecoder, type DecoderOptions } from '../decode/frame-decoder';
import type { PacketRecord } from '../model/packet-record';
import type { DecodeFramesHooks } from '../operators/decode-frames';
import { captureBytes, RawCaptureParser, streamCapture, type CaptureError, type ReadCaptureOptions } from './pcap-reader';

/**
 * A capture file straight to TCP PacketRecords: what `readCapture(path).pipe(decodeFrames())`
 * gives, with each frame decoded where it lies in the chunk read from the file, so no frame
 * object, no Buffer view and no Observable hop is made per frame (a quarter of the allocation
 * per packet; the CLI reads captures this way).
 */
export function readPackets(path: string, options: ReadCaptureOptions & DecoderOptions = {}, hooks: DecodeFramesHooks = {}): Observable<PacketRecord> {
  return streamCapture<PacketRecord>(path, options, (emit, firstFrame) => {
    const decoder = new FrameDecoder(options);
    hooks.onDecoder?.(decoder);
    return new RawCaptureParser(
      path,
      (buf, start, end, frame, ts, linkType) => {
        const r = decoder.decodeFrame(linkType, buf, start, end, ts, frame);
        if (r) emit(r);
      },
      { firstFrame },
    );
  });
}

/**
 * Several captures read one after another as one, as `mergecap -a` joins them (the files of a
 * rotating capture, say): frame numbers go on from file to file, so a connection or a port reuse
 * spanning files is seen as in one file. Every file is checked before the first is read (a
 * mistyped name fails at once, with its CaptureError); damage in one ends the whole capture
 * there, as in a single file: with `onDamage`, the files after it are not read. `onProgress`
 * counts the bytes of all of them; `onDecoder` sees each file's decoder.
 */
export function readPacketsInSequence(paths: readonly string[], options: ReadCaptureOptions & DecoderOptions = {}, hooks: DecodeFramesHooks = {}): Observable<PacketRecord> {
  if (paths.length === 1) return readPackets(paths[0], options, hooks);
  const sizes = paths.map(captureBytes);
  const total = sizes.reduce((a, b) => a + b, 0);
  const { onProgress, onDamage } = options;
  // One file after another by hand: RxJS's concat would load a few dozen more of its modules
  // into every CLI start-up.
  return new Observable<PacketRecord>((subscriber) => {
    let lastFrame = (options.firstFrame ?? 1) - 1;
    let bytesBefore = 0;
    let previous: FrameDecoder | undefined; // the last file's: every frame it got, it decoded or skipped
    let damaged = false;
    let current: Subscription | undefined;
    let i = 0;
    const readNext = (): void => {
      if (subscriber.closed) return;
      if (i === paths.length || damaged) return subscriber.complete();
      if (previous) lastFrame += previous.decoded + previous.skippedTotal;
      const bytesOfEarlier = bytesBefore;
      bytesBefore += sizes[i];
      const fileOptions: ReadCaptureOptions & DecoderOptions = {
        ...options,
        firstFrame: lastFrame + 1,
        onProgress: onProgress && ((done) => onProgress(bytesOfEarlier + done, total)),
        onDamage: onDamage && ((err: CaptureError) => ((damaged = true), onDamage(err))),
      };
      const onDecoder = (d: FrameDecoder): void => {
        previous = d;
        hooks.onDecoder?.(d);
      };
      // A file's stream completes asynchronously (after its reads), so this never recurses deeply.
      current = readPackets(paths[i++], fileOptions, { onDecoder }).subscribe({
        next: (p) => subscriber.next(p),
        error: (err) => subscriber.error(err),
        complete: readNext,
      });
    };
    readNext();
    return () => current?.unsubscribe();
  });
}
