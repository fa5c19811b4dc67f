import type { OperatorFunction } from 'rxjs';
import { FlowTracker, type TrackFlowsOptions, type TrackerCounters } from '../flow/flow-tracker';
import type { FlowEvent, FlowInterleave, PacketAnnotation, Watermark } from '../model/events';
import type { PacketRecord } from '../model/packet-record';
import { statefulOperator } from './stateful-operator';

export type { TrackFlowsOptions, TrackerCounters };

export interface TrackFlowsHooks {
  /** Receives each subscription's tracker (counters, open flows) when it starts, e.g. for metrics. */
  readonly onTracker?: (tracker: FlowTracker) => void;
}

/**
 * Turns packets into TCP flow events.
 *
 * Each packet gets Wireshark's `tcp.stream` and tcpreuse's own connection (flowId); the operator
 * emits `flow.open` when a connection starts and `flow.close` when it ends (FIN/RST plus a short
 * linger, idle timeout in event time, replaced by a new connection, evicted, or end of input),
 * optionally a `packet` annotation per packet, and watermarks as event time advances. Watermarks
 * in the input (e.g. from a timer on a quiet live feed) advance the clock too and are forwarded.
 * When a SYN replaces a connection that is still open and the old client keeps sending, a
 * `flow.interleave` goes out for detectPortReuse (the old connection's packets are kept out of
 * the new flow's counts).
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
): OperatorFunction<PacketRecord | Watermark, FlowEvent | FlowInterleave | PacketAnnotation | Watermark> {
  return statefulOperator<PacketRecord | Watermark, FlowEvent | PacketAnnotation | Watermark>((emit) => {
    const tracker = new FlowTracker(options, emit as (e: unknown) => void);
    hooks.onTracker?.(tracker);
    return {
      push(item) {
        if ((item as Watermark).type === 'watermark') tracker.advance(item.ts, true);
        else tracker.process(item as PacketRecord);
      },
      flush: () => tracker.flush(),
    };
  });
}
