import { FlowTracker, type TrackFlowsOptions } from '../flow/flow-tracker';
import type { PortReuseEvent, StreamItem, Watermark } from '../model/events';
import type { PacketRecord } from '../model/packet-record';
import type { EventProcessor } from '../operators/stateful-operator';
import { ReuseDetector, type DetectPortReuseOptions } from '../reuse/reuse-detector';
import { readFlowStageState, writeFlowStageState } from '../state/flow-stage-state';
import { isClientFeed, type ClientFeedEvent } from './client-stage';

export interface FlowStageOptions {
  readonly flows?: TrackFlowsOptions;
  readonly reuse?: DetectPortReuseOptions;
}

/**
 * The flow stage of the Kafka consumer: everything that needs the packets of one address pair
 * and nothing else, i.e. `trackFlows` then `detectPortReuse` as one synchronous processor, whose
 * whole state can be checkpointed between two packets and restored elsewhere (the state of one
 * input partition moves with the partition). Emits what the two operators emit, in their order;
 * what the client stage needs also goes to `onClientFeed`, numbered (the numbers are part of the
 * state, so a restored stage numbers what it sends again as it did the first time).
 */
export class FlowStage implements EventProcessor<PacketRecord | Watermark> {
  readonly tracker: FlowTracker;
  readonly detector: ReuseDetector;
  private feedSeq = 0;

  constructor(
    options: FlowStageOptions,
    emit: (e: StreamItem | PortReuseEvent) => void,
    onClientFeed?: (seq: number, e: ClientFeedEvent) => void,
  ) {
    const out = onClientFeed
      ? (e: StreamItem | PortReuseEvent): void => {
          emit(e);
          if (isClientFeed(e)) onClientFeed(this.feedSeq++, e);
        }
      : emit;
    this.detector = new ReuseDetector(options.reuse ?? {}, out);
    this.tracker = new FlowTracker(options.flows ?? {}, (item) => {
      out(item);
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

  /**
   * What the client stage may take as this stage's watermark: nothing it sends later is older,
   * except for packets that arrive late (a reuse held back to see whether the old connection
   * carries on is as old as its SYN).
   */
  lowWatermark(): number {
    return Math.min(this.tracker.eventTime, this.detector.oldestHeld);
  }

  /**
   * Whether the client stage may stop waiting for this stage once its input is read to the end:
   * only when it holds nothing back (a while-open reuse waiting for its verdict comes out later,
   * as old as its SYN, and the statistics window it falls in must not close before it does).
   */
  idleWhenCaughtUp(): boolean {
    return this.detector.oldestHeld === Infinity;
  }

  /** The whole state as bytes (see state/flow-stage-state.ts). */
  checkpoint(): Buffer {
    return writeFlowStageState(this.tracker, this.detector, this.feedSeq);
  }

  /** Continues from a checkpoint; only on a stage that has processed nothing yet. */
  restore(checkpoint: Buffer): void {
    const s = readFlowStageState(checkpoint);
    this.tracker.restoreState(s.tracker);
    this.detector.restoreState(s.detector);
    this.feedSeq = s.feedSeq;
  }
}
