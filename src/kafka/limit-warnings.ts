import type { LimitCount } from '../operators/limit-counts';
import type { Logger } from '../util/logger';

/** At most one warning per limit this often while it keeps being reached. */
const EVERY_MS = 60_000;

/**
 * Makes an eviction storm visible in the log of a long-running consumer: when a limit's count has
 * grown, one warning with how much since the last one, at most once a minute per limit (the
 * `limit_reached_total` metric has the counts all the time).
 */
export class LimitWarnings {
  private readonly last = new Map<string, { count: number; atMs: number }>();

  constructor(private readonly log: Logger) {}

  check(counts: readonly LimitCount[], nowMs: number): void {
    for (const c of counts) {
      const prev = this.last.get(c.table) ?? { count: 0, atMs: -Infinity };
      if (c.count <= prev.count || nowMs - prev.atMs < EVERY_MS) continue;
      this.log.warn(`limit reached (--${c.limit}): ${c.meaning}`, { table: c.table, since: c.count - prev.count, total: c.count });
      this.last.set(c.table, { count: c.count, atMs: nowMs });
    }
  }
}
