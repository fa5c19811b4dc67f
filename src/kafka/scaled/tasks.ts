/**
 * The two kinds of task of the scaled consumer (docs/scale-out.md), each the state of one
 * partition: what it has processed (the offset after it), when it was last checkpointed, and the
 * stage doing the analysis.
 */
import type { PortReuseEvent, StreamItem, TcpReuseEvent } from '../../model/events';
import { ClientStage, type ClientStageEvent, type ClientStageOptions } from '../../stages/client-stage';
import { FlowStage, type FlowStageOptions } from '../../stages/flow-stage';
import { US_PER_S } from '../../util/options';
import type { WrittenCheckpoint } from './changelog';
import { FeedBatches } from './feed-records';

export type TaskKind = 'flow' | 'client';

abstract class Task {
  /** The offset after the last message processed; -1 before the first (a task with no checkpoint starts where the group is). */
  nextOffset = -1;
  /** Messages processed since the last checkpoint. */
  dirty = false;
  lastCheckpointMs = Date.now();
  /** The task's last two checkpoints in the changelog, oldest first (the next one tombstones the first: changelog.ts). */
  written: WrittenCheckpoint[] = [];
  /** The partition's high watermark as last reported by the broker (-1: not known). */
  highWatermark = -1;
  /** `--until-end`: flushed and checkpointed, nothing more to do. */
  finished = false;
  /** Resolves once the task's checkpoint is restored (or there was none). */
  ready: Promise<void> = Promise.resolve();

  constructor(
    readonly topic: string,
    readonly partition: number,
  ) {}

  get key(): string {
    return `${this.topic}/${this.partition}`;
  }

  /** Taken up to the partition's end, as far as the broker last said. */
  get caughtUp(): boolean {
    return this.highWatermark >= 0 && this.nextOffset >= this.highWatermark;
  }

  abstract checkpoint(): Buffer;
  abstract restore(checkpoint: Buffer): void;
}

/** An input partition's flow stage. Sends the client stage what it needs, and its watermarks. */
export class FlowTask extends Task {
  readonly kind = 'flow';
  stage: FlowStage;
  /** What the stage gave the client stage and the service has not written yet (see feed-records.ts). */
  readonly feed: FeedBatches;
  /** The last mark sent to the clients topic. */
  sentMark = { ts: -Infinity, idle: false, final: false };

  constructor(
    topic: string,
    partition: number,
    private readonly options: FlowStageOptions,
    private readonly onEvent: (e: TcpReuseEvent) => void,
    /** Partitions of the clients topic. */
    clientPartitions: number,
  ) {
    super(topic, partition);
    this.feed = new FeedBatches(clientPartitions);
    this.stage = this.newStage();
  }

  /** Whether a mark is due: idleness changed, or the low watermark moved a second on. */
  markDue(idle: boolean): boolean {
    return idle !== this.sentMark.idle || this.stage.lowWatermark() - this.sentMark.ts >= US_PER_S;
  }

  checkpoint(): Buffer {
    return this.stage.checkpoint();
  }

  restore(checkpoint: Buffer): void {
    this.stage = this.newStage();
    this.stage.restore(checkpoint);
  }

  private newStage(): FlowStage {
    const emit = (e: StreamItem | PortReuseEvent): void => {
      if (e.type !== 'watermark' && e.type !== 'flow.interleave') this.onEvent(e as TcpReuseEvent);
    };
    return new FlowStage(this.options, emit, (seq, e) => this.feed.add(seq, e));
  }
}

/** A clients-topic partition's client stage. */
export class ClientTask extends Task {
  readonly kind = 'client';
  stage: ClientStage;

  constructor(
    topic: string,
    partition: number,
    private readonly options: ClientStageOptions,
    private readonly upstreams: readonly string[],
    private readonly onEvent: (e: ClientStageEvent) => void,
  ) {
    super(topic, partition);
    this.stage = new ClientStage(options, upstreams, onEvent);
  }

  checkpoint(): Buffer {
    return this.stage.checkpoint();
  }

  restore(checkpoint: Buffer): void {
    this.stage = new ClientStage(this.options, this.upstreams, this.onEvent);
    this.stage.restore(checkpoint);
  }
}
