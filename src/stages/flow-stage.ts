import { FlowTracker, type TrackFlowsOptions } from '../flow/flow-tracker';
import type { PortReuseEvent, StreamItem, Watermark } from '../model/events';
import type { PacketRecord } from '../model/packet-record';
import type { EventProcessor } from '../operators/stateful-operator';
import { ReuseDetector, type DetectPortReuseOptions } from '../reuse/reuse-detector';
import { readFlowStageState, writeFlowStageState } from '../state/flow-stage-state';

export interface FlowStageOptions {
  readonly flows?: TrackFlowsOptions;
  readonly reuse?: DetectPortReuseOptions;
}

/**
 * The flow stage of the Kafka consumer: everything that needs the packets of one address pair
 * and nothing else, i.e. `trackFlows` then `detectPortReuse` as one synchronous processor, whose
 * whole state can be checkpointed between two packets and restored elsewhere (the state of one
 * input partition moves with the partition). Emits what the two operators emit, in their order.
 */
export class FlowStage implements EventProcessor<PacketRecord | Watermark> {
  readonly tracker: FlowTracker;
  readonly detector: ReuseDetector;

  constructor(options: FlowStageOptions, emit: (e: StreamItem | PortReuseEvent) => void) {
    this.detector = new ReuseDetector(options.reuse ?? {}, emit);
    this.tracker = new FlowTracker(options.flows ?? {}, (item) => {
      emit(item);
      this.detector.push(item);
    });
  }

  push(item: PacketRecord | Watermark): void {
    if ((item as Watermark).type === 'watermark') this.tracker.advance(item.ts, true);
    else this.tracker.process(item as PacketRecord);
  }

  flush(): void {
    this.tracker.flush();
    this.detector.flush();
  }

  /** The whole state as bytes (see state/flow-stage-state.ts). */
  checkpoint(): Buffer {
    return writeFlowStageState(this.tracker, this.detector);
  }

  /** Continues from a checkpoint; only on a stage that has processed nothing yet. */
  restore(checkpoint: Buffer): void {
    const s = readFlowStageState(checkpoint);
    this.tracker.restoreState(s.tracker);
    this.detector.restoreState(s.detector);
  }
}
