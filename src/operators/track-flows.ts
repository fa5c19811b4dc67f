import { Observable, type OperatorFunction } from 'rxjs';
import { FlowTracker, type TrackFlowsOptions, type TrackerCounters } from '../flow/flow-tracker';
import type { FlowEvent, PacketAnnotation, Watermark } from '../model/events';
import type { PacketRecord } from '../model/packet-record';

export type { TrackFlowsOptions, TrackerCounters };

export interface TrackFlowsHooks {
  /** Receives the tracker's live counters once per subscription (e.g. for metrics or a report). */
  readonly onCounters?: (counters: TrackerCounters, tracker: FlowTracker) => void;
}

/**
 * Turns packets into TCP flow events.
 *
 * Each packet gets Wireshark's `tcp.stream` and tcpreuse's own connection (flowId); the operator
 * emits `flow.open` when a connection starts and `flow.close` when it ends (FIN/RST plus a short
 * linger, idle timeout in event time, replaced by a new connection, evicted, or end of input),
 * optionally a `packet` annotation per packet, and watermarks as event time advances. Watermarks
 * in the input (e.g. from a timer on a quiet live feed) advance the clock too and are forwarded.
 *
 * ```
 * packets:  --S--A--D--F--f--A----------------|
 * output:   --o--------------------------c----|   (o flow.open, c flow.close; watermarks omitted)
 * ```
 *
 * @example
 * readCapture('x.pcap').pipe(decodeFrames(), trackFlows({ establishedTimeoutS: 120 }))
 *   .subscribe((e) => console.log(e.type));
 */
export function trackFlows(
  options: TrackFlowsOptions = {},
  hooks: TrackFlowsHooks = {},
): OperatorFunction<PacketRecord | Watermark, FlowEvent | PacketAnnotation | Watermark> {
  return (source) =>
    new Observable((subscriber) => {
      // State lives in this subscription: each subscriber gets its own table.
      const tracker = new FlowTracker(options, (e) => subscriber.next(e as FlowEvent | PacketAnnotation | Watermark));
      hooks.onCounters?.(tracker.counters, tracker);
      return source.subscribe({
        next(item) {
          try {
            if ((item as Watermark).type === 'watermark') {
              tracker.advance(item.ts);
              subscriber.next(item as Watermark);
            } else tracker.process(item as PacketRecord);
          } catch (err) {
            subscriber.error(err);
          }
        },
        error(err) {
          subscriber.error(err);
        },
        complete() {
          tracker.flush();
          subscriber.complete();
        },
      });
    });
}
