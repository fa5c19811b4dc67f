import { PortCycleDetector, type DetectPortCyclesOptions } from '../cycles/port-cycle-detector';
import type { FlowOpenEvent, PortCycleEvent, PortPressureEvent, PortReuseEvent, ReuseStatsEvent } from '../model/events';
import { ReuseStatsWindows, type ReuseStatsOptions } from '../stats/reuse-stats-window';
import { readClientStageState, writeClientStageState } from '../state/client-stage-state';
import { UpstreamMerge } from './upstream-merge';

/**
 * What the flow stage sends the client stage: connections opened by a handshake, and reuses; of
 * each only what port cycles, pressure and statistics read (the clients topic carries no more).
 */
export type ClientFeedEvent = Pick<FlowOpenEvent, 'type' | 'ts' | 'sensor' | 'client' | 'server' | 'openedBy'> | Pick<PortReuseEvent, 'type' | 'ts' | 'sensor' | 'client' | 'server' | 'severity'>;
export type ClientStageEvent = PortCycleEvent | PortPressureEvent | ReuseStatsEvent;

export interface ClientStageOptions {
  /** TIME_WAIT judged against by port pressure. @default 60 */
  readonly timeWaitS?: number;
  readonly cycles?: Omit<DetectPortCyclesOptions, 'timeWaitS'>;
  readonly stats?: ReuseStatsOptions;
}

/** Whether the flow stage sends this event to the client stage (what port cycles, pressure and stats read). */
export function isClientFeed(e: { type: string }): e is ClientFeedEvent {
  return (e.type === 'flow.open' && (e as FlowOpenEvent).openedBy !== 'midstream') || e.type === 'port.reuse';
}

/**
 * The client stage: everything that needs all connections of one client, whichever servers (and
 * so whichever input partitions) they went to: ephemeral-port cycles, port pressure and the
 * per-client reuse statistics (`detectPortCycles` and `reuseStats`). Its input is what the flow
 * stages of every input partition send it (`isClientFeed`), each with its sequence number, and
 * their watermarks; merged in event time (UpstreamMerge), it sees one client's connections in the
 * order one process analysing everything would.
 */
export class ClientStage {
  readonly merge: UpstreamMerge<ClientFeedEvent>;
  readonly cycles: PortCycleDetector;
  readonly stats: ReuseStatsWindows;
  private readonly release = (e: ClientFeedEvent): void => {
    this.cycles.push(e);
    this.stats.push(e);
  };

  constructor(options: ClientStageOptions, upstreams: Iterable<string>, emit: (e: ClientStageEvent) => void) {
    this.merge = new UpstreamMerge<ClientFeedEvent>(upstreams);
    this.cycles = new PortCycleDetector({ ...options.cycles, timeWaitS: options.timeWaitS }, emit);
    this.stats = new ReuseStatsWindows(options.stats ?? {}, emit);
  }

  /** An event from upstream `from` with its sequence number (a repeat is dropped). */
  add(from: string, seq: number, e: ClientFeedEvent): void {
    this.merge.add(from, seq, e);
  }

  /** Upstream `from`'s low watermark, or that its input is at its end for now (idle) or for good (final). */
  mark(from: string, ts: number, idle: boolean, final = false): void {
    this.merge.mark(from, ts, idle, final);
  }

  /** Processes what the upstreams' watermarks allow, then lets the statistics windows close up to there. */
  drain(): void {
    this.merge.drain(this.release);
    const w = this.merge.watermark;
    if (w > -Infinity) this.stats.push({ type: 'watermark', ts: w });
  }

  /** The whole state as bytes (see state/client-stage-state.ts): take it between two calls. */
  checkpoint(): Buffer {
    return writeClientStageState(this.merge, this.cycles, this.stats);
  }

  /** Continues from a checkpoint; only on a stage that has been given nothing yet. */
  restore(checkpoint: Buffer): void {
    const s = readClientStageState(checkpoint, this.cycles);
    this.merge.restoreState(s.merge);
    this.cycles.restoreState(s.cycles);
    this.stats.restoreState(s.stats);
  }

  /** End of input: everything merged and processed, every window closed. */
  flush(): void {
    this.merge.flush(this.release);
    this.cycles.flush();
    this.stats.flush();
  }
}
