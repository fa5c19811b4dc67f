import type { OperatorFunction } from 'rxjs';
import type { ReuseStatsEvent } from '../model/events';
import { ReuseStatsWindows, type ReuseStatsOptions } from '../stats/reuse-stats-window';
import { statefulOperator } from './stateful-operator';

export type { ReuseStatsOptions };

/**
 * Events → the same events plus `reuse.stats`: per client, reuse counts by severity and
 * connections opened, in tumbling event-time windows (default 60 s) closed by the watermark:
 * a rate signal a SIEM can alert on. Input items are forwarded unchanged.
 *
 * ```
 * input:   --o--r--o--r--w(60s)--|
 * output:  --o--r--o--r--w-s-----|    (s reuse.stats for [0, 60 s))
 * ```
 */
export function reuseStats<T extends { type: string; ts: number }>(
  options: ReuseStatsOptions = {},
  hooks: { readonly onWindows?: (w: ReuseStatsWindows) => void } = {},
): OperatorFunction<T, T | ReuseStatsEvent> {
  return statefulOperator<T, T | ReuseStatsEvent>((emit) => {
    const windows = new ReuseStatsWindows(options, emit);
    hooks.onWindows?.(windows);
    return {
      push(item) {
        emit(item);
        windows.push(item);
      },
      flush: () => windows.flush(),
    };
  });
}
