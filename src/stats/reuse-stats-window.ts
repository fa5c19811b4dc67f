import type { FlowOpenEvent, PortReuseEvent, ReuseStatsEvent, Watermark } from '../model/events';
import { numberOption, US_PER_S } from '../util/options';
import { ClientCountTable, CONNECTIONS_SLOT, SEVERITY_SLOT } from './client-counts';

export interface ReuseStatsOptions {
  /** Tumbling window length in event time. @default 60 */
  readonly windowS?: number;
  /** Also report clients that opened connections but had no reuse in the window. @default false */
  readonly includeQuietClients?: boolean;
  /**
   * Most clients counted in one window (a SYN flood from spoofed addresses brings millions);
   * further clients of a full window are not counted, and `clientsNotCounted` says how many
   * events that left out. @default 100000
   */
  readonly maxClients?: number;
}

export interface ReuseStatsState {
  /** Window start → counts per client, in the order the windows were opened. */
  readonly windows: ReadonlyMap<number, ClientCountTable>;
  readonly sizeHint: number;
  readonly now: number;
}

/**
 * The core of `reuseStats`: per sensor and client, counts reuses by severity and connections
 * opened in tumbling event-time windows; a window is emitted once the watermark passes its end.
 * An item arriving for a window already emitted is counted in a second record for that window,
 * never dropped.
 */
export class ReuseStatsWindows {
  private readonly windowUs: number;
  private readonly includeQuiet: boolean;
  private readonly maxClients: number;
  /** Flow opens and reuses not counted because their window held maxClients clients already. */
  clientsNotCounted = 0;
  /** windowStart → counts per client */
  private readonly windows = new Map<number, ClientCountTable>();
  private lastStart = NaN;
  private lastWindow: ClientCountTable | undefined;
  /** Clients in the window emitted last: a new window's table starts that big instead of growing there. */
  private sizeHint = 16;
  private now = -Infinity;
  /** End of the earliest open window: nothing closes before the watermark reaches it. */
  private nextEnd = Infinity;

  constructor(
    options: ReuseStatsOptions,
    private readonly emit: (e: ReuseStatsEvent) => void,
  ) {
    this.windowUs = numberOption('reuseStats', 'windowS', options.windowS, 60, { min: 0.001 }) * US_PER_S;
    this.includeQuiet = options.includeQuietClients === true;
    this.maxClients = numberOption('reuseStats', 'maxClients', options.maxClients, 100_000, { min: 1, integer: true });
  }

  /** The state a checkpoint holds (src/state/client-stage-state.ts). */
  checkpointState(): ReuseStatsState {
    return { windows: this.windows, sizeHint: this.sizeHint, now: this.now };
  }

  restoreState(s: ReuseStatsState): void {
    this.windows.clear();
    for (const [start, w] of s.windows) this.windows.set(start, w);
    this.sizeHint = s.sizeHint;
    this.now = s.now;
    this.nextEnd = Infinity;
    for (const start of this.windows.keys()) this.nextEnd = Math.min(this.nextEnd, start + this.windowUs);
    this.lastStart = NaN;
    this.lastWindow = undefined;
  }

  push(item: { type: string; ts: number }): void {
    if (item.type === 'flow.open') {
      const e = item as FlowOpenEvent;
      if (e.openedBy !== 'midstream') this.count(e.ts, e.sensor, e.client.ip, CONNECTIONS_SLOT);
    } else if (item.type === 'port.reuse') {
      const e = item as PortReuseEvent;
      this.count(e.ts, e.sensor, e.client.ip, SEVERITY_SLOT[e.severity]);
    }
    const ts = (item as Watermark).ts;
    if (ts > this.now) {
      this.now = ts;
      if (ts >= this.nextEnd) this.close(ts);
    }
  }

  flush(): void {
    this.close(Infinity);
  }

  private count(ts: number, sensor: string, client: string, slot: number): void {
    const start = Math.floor(ts / this.windowUs) * this.windowUs;
    // Consecutive items nearly always fall in the same window.
    let w = start === this.lastStart ? this.lastWindow : this.windows.get(start);
    if (!w) {
      w = new ClientCountTable(Math.min(this.sizeHint, this.maxClients));
      this.windows.set(start, w);
      this.nextEnd = Math.min(this.nextEnd, start + this.windowUs);
    }
    this.lastStart = start;
    this.lastWindow = w;
    const row = w.row(sensor, client, this.maxClients);
    if (row < 0) this.clientsNotCounted++;
    else w.count(row, slot);
  }

  private close(watermark: number): void {
    const done = [...this.windows.keys()].filter((start) => start + this.windowUs <= watermark).sort((a, b) => a - b);
    this.nextEnd = Infinity;
    for (const start of this.windows.keys()) if (start + this.windowUs > watermark) this.nextEnd = Math.min(this.nextEnd, start + this.windowUs);
    for (const start of done) {
      const w = this.windows.get(start)!;
      this.windows.delete(start);
      if (start === this.lastStart) this.lastWindow = undefined;
      this.sizeHint = Math.max(16, w.size);
      const end = start + this.windowUs;
      for (let row = 0; row < w.size; row++) {
        if (w.reuses(row) === 0 && !this.includeQuiet) continue;
        this.emit({
          type: 'reuse.stats',
          ts: end,
          sensor: w.sensor[row],
          windowStart: start,
          windowEnd: end,
          client: w.client[row],
          counts: w.severities(row),
          connections: w.connections(row),
        });
      }
    }
  }
}
