import type { FlowOpenEvent, PortReuseEvent, ReuseStatsEvent, Severity, Watermark } from '../model/events';
import { numberOption, US_PER_S } from '../util/options';

export interface ReuseStatsOptions {
  /** Tumbling window length in event time. @default 60 */
  readonly windowS?: number;
  /** Also report clients that opened connections but had no reuse in the window. @default false */
  readonly includeQuietClients?: boolean;
}

interface ClientCounts {
  counts: Record<Severity, number>;
  connections: number;
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
  /** windowStart → "sensor|client" → counts */
  private readonly windows = new Map<number, Map<string, ClientCounts>>();
  private now = -Infinity;
  /** End of the earliest open window: nothing closes before the watermark reaches it. */
  private nextEnd = Infinity;

  constructor(
    options: ReuseStatsOptions,
    private readonly emit: (e: ReuseStatsEvent) => void,
  ) {
    this.windowUs = numberOption('reuseStats', 'windowS', options.windowS, 60, { min: 0.001 }) * US_PER_S;
    this.includeQuiet = options.includeQuietClients === true;
  }

  push(item: { type: string; ts: number }): void {
    if (item.type === 'flow.open') {
      const e = item as FlowOpenEvent;
      if (e.openedBy !== 'midstream') this.counts(e.ts, e.sensor, e.client.ip).connections++;
    } else if (item.type === 'port.reuse') {
      const e = item as PortReuseEvent;
      this.counts(e.ts, e.sensor, e.client.ip).counts[e.severity]++;
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

  private counts(ts: number, sensor: string, client: string): ClientCounts {
    const start = Math.floor(ts / this.windowUs) * this.windowUs;
    let w = this.windows.get(start);
    if (!w) {
      w = new Map();
      this.windows.set(start, w);
      this.nextEnd = Math.min(this.nextEnd, start + this.windowUs);
    }
    const key = sensor + '|' + client;
    let c = w.get(key);
    if (!c) {
      c = { counts: { info: 0, low: 0, medium: 0, high: 0 }, connections: 0 };
      w.set(key, c);
    }
    return c;
  }

  private close(watermark: number): void {
    const done = [...this.windows.keys()].filter((start) => start + this.windowUs <= watermark).sort((a, b) => a - b);
    this.nextEnd = Infinity;
    for (const start of this.windows.keys()) if (start + this.windowUs > watermark) this.nextEnd = Math.min(this.nextEnd, start + this.windowUs);
    for (const start of done) {
      const w = this.windows.get(start)!;
      this.windows.delete(start);
      const end = start + this.windowUs;
      for (const [key, c] of w) {
        const reuses = c.counts.info + c.counts.low + c.counts.medium + c.counts.high;
        if (reuses === 0 && !this.includeQuiet) continue;
        const cut = key.lastIndexOf('|');
        this.emit({
          type: 'reuse.stats',
          ts: end,
          sensor: key.slice(0, cut),
          windowStart: start,
          windowEnd: end,
          client: key.slice(cut + 1),
          counts: c.counts,
          connections: c.connections,
        });
      }
    }
  }
}
