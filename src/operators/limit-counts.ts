import type { PortCycleDetector } from '../cycles/port-cycle-detector';
import type { FlowTracker } from '../flow/flow-tracker';
import type { ReuseDetector } from '../reuse/reuse-detector';
import type { ReuseStatsWindows } from '../stats/reuse-stats-window';

/** The analysis stages whose tables the limits bound (each may be missing: not subscribed yet). */
export interface LimitedTables {
  tracker?: FlowTracker;
  detector?: ReuseDetector;
  cycles?: PortCycleDetector;
  stats?: ReuseStatsWindows;
  /** Events of clients the text report's table had no room for. */
  reportUntracked?: number;
}

/** What each limit has cost so far, and what that means for the output. */
export interface LimitCount {
  readonly limit: 'max-flows' | 'max-remembered' | 'max-clients';
  /** A name for the metric label and the log. */
  readonly table: string;
  readonly count: number;
  readonly meaning: string;
}

/**
 * How often each limit was reached: a SYN flood or a scan fills the tables, and the output is then
 * partial in a known way (flows closed early as "evicted", reuses of forgotten connections not
 * seen, clients not counted). Only the limits reached are listed.
 */
export function limitCounts(t: LimitedTables): LimitCount[] {
  const out: LimitCount[] = [];
  const add = (limit: LimitCount['limit'], table: string, count: number, meaning: string): void => {
    if (count > 0) out.push({ limit, table, count, meaning });
  };
  add('max-flows', 'flows', t.tracker?.counters.evicted ?? 0, 'flows closed early as "evicted"');
  add('max-remembered', 'remembered', Math.max(t.tracker?.counters.forgotten ?? 0, t.detector?.counters.forgotten ?? 0), 'ended connections forgotten before their window ended (a reuse of their 4-tuple is not reported as one)');
  add('max-clients', 'cycle_clients', t.cycles?.counters.droppedClients ?? 0, 'least recently active client and client/server entries dropped from port-cycle and pressure tracking');
  add('max-clients', 'stats_clients', t.stats?.clientsNotCounted ?? 0, 'connections and reuses of further clients not counted in reuse.stats windows');
  add('max-clients', 'report_clients', t.reportUntracked ?? 0, "connections and reuses of further clients not ranked in the report's top clients");
  return out;
}

/** One stderr line per limit reached (analyze prints them at the end). */
export function limitNotes(t: LimitedTables): string[] {
  return limitCounts(t).map((c) => `tcpreuse: limit reached (--${c.limit}): ${c.count.toLocaleString('en-US')} ${c.meaning}\n`);
}

/**
 * What bounds the process's memory (docs/limits.md): a fixed part (Node, code, read and write
 * buffers) and, per entry of each limited table, its measured size with room for the garbage
 * collector's slack (3 M-SYN flood, every table full: 242 MB peak RSS with --json, 310 MB with the
 * report, at 100 k each, against 370 MB from this formula).
 */
export const MEMORY_PER_ENTRY = { baseBytes: 200e6, flow: 300, remembered: 700, client: 700 } as const;

/** The peak RSS the limits allow, in bytes. */
export function memoryBound(limits: { maxFlows: number; maxRemembered: number; maxClients: number }): number {
  const m = MEMORY_PER_ENTRY;
  return m.baseBytes + m.flow * limits.maxFlows + m.remembered * limits.maxRemembered + m.client * limits.maxClients;
}
