import type { OperatorFunction } from 'rxjs';
import { filter, pipe } from '../util/rx';
import type { FlowTracker } from '../flow/flow-tracker';
import type { StreamItem, TcpReuseEvent, Watermark } from '../model/events';
import type { PacketRecord } from '../model/packet-record';
import type { PortCycleDetector } from '../cycles/port-cycle-detector';
import type { ReuseDetector } from '../reuse/reuse-detector';
import type { ReuseStatsWindows } from '../stats/reuse-stats-window';
import { detectPortCycles, type DetectPortCyclesOptions } from './detect-port-cycles';
import { detectPortReuse, type DetectPortReuseOptions } from './detect-port-reuse';
import { reuseStats, type ReuseStatsOptions } from './reuse-stats';
import { trackFlows, type TrackFlowsOptions } from './track-flows';

export interface AnalyzeOptions {
  /** Sensor for packets that do not name one. @default "default" */
  readonly sensor?: string;
  /** TIME_WAIT judged against by reuse severity and port pressure: 60 (Linux), 240 (Windows). @default 60 */
  readonly timeWaitS?: number;
  readonly flows?: Omit<TrackFlowsOptions, 'sensor' | 'annotate'>;
  readonly reuse?: Omit<DetectPortReuseOptions, 'timeWaitS'>;
  readonly cycles?: Omit<DetectPortCyclesOptions, 'timeWaitS'>;
  readonly stats?: ReuseStatsOptions;
  /** Also emit a `packet` annotation per packet. @default false */
  readonly annotate?: boolean;
  /** Keep watermarks in the output (for chaining further event-time operators). @default false */
  readonly watermarks?: boolean;
  /** Access to the per-subscription state, for counters and metrics. */
  readonly hooks?: {
    readonly onTracker?: (t: FlowTracker) => void;
    readonly onDetector?: (d: ReuseDetector) => void;
    readonly onCycles?: (d: PortCycleDetector) => void;
    readonly onStats?: (w: ReuseStatsWindows) => void;
  };
}

/**
 * The whole tcpreuse pipeline, used alike by the CLI, the Kafka consumer and the Node-RED nodes:
 * packets → flow events, port reuses, port cycles and pressure, and windowed reuse statistics.
 *
 * @example
 * readCapture('trace.pcap').pipe(decodeFrames(), analyze({ timeWaitS: 240 }))
 *   .subscribe((e) => e.type === 'port.reuse' && console.log(e.severity, e.reason));
 */
export function analyze(options?: AnalyzeOptions & { readonly watermarks?: false }): OperatorFunction<PacketRecord | Watermark, TcpReuseEvent>;
export function analyze(options: AnalyzeOptions): OperatorFunction<PacketRecord | Watermark, TcpReuseEvent | Watermark>;
export function analyze(options: AnalyzeOptions = {}): OperatorFunction<PacketRecord | Watermark, TcpReuseEvent | Watermark> {
  const { timeWaitS } = options;
  const body = pipe(
    trackFlows({ ...options.flows, sensor: options.sensor, annotate: options.annotate }, { onTracker: options.hooks?.onTracker }),
    detectPortReuse<StreamItem>({ ...options.reuse, timeWaitS }, { onDetector: options.hooks?.onDetector }),
    detectPortCycles<StreamItem>({ ...options.cycles, timeWaitS }, { onDetector: options.hooks?.onCycles }),
    reuseStats<StreamItem>(options.stats, { onWindows: options.hooks?.onStats }),
  );
  // flow.interleave is plumbing between trackFlows and detectPortReuse, not an event of the contract.
  if (options.watermarks) return pipe(body, filter((e): e is TcpReuseEvent | Watermark => e.type !== 'flow.interleave'));
  return pipe(body, filter((e): e is TcpReuseEvent => e.type !== 'watermark' && e.type !== 'flow.interleave'));
}
