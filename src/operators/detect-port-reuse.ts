import type { OperatorFunction } from 'rxjs';
import type { PortReuseEvent } from '../model/events';
import { ReuseDetector, type DetectPortReuseOptions } from '../reuse/reuse-detector';
import { statefulOperator } from './stateful-operator';

export type { DetectPortReuseOptions };

/**
 * Flow events → the same events plus `port.reuse` for every connection opened on a 4-tuple whose
 * previous connection is remembered (window in event time), with kind, gap, how the previous one
 * ended, severity and a reason. Input items are forwarded unchanged, in order.
 *
 * ```
 * input:   --c(fin)----o(syn)----|
 * output:  --c---------o-r-------|    (r port.reuse, kind after-close)
 * ```
 *
 * @example
 * packets$.pipe(trackFlows(), detectPortReuse({ timeWaitS: 240 }), filter((e) => e.type === 'port.reuse'))
 */
export function detectPortReuse<T extends { type: string; ts: number }>(
  options: DetectPortReuseOptions = {},
  hooks: { readonly onDetector?: (d: ReuseDetector) => void } = {},
): OperatorFunction<T, T | PortReuseEvent> {
  return statefulOperator<T, T | PortReuseEvent>((emit) => {
    const detector = new ReuseDetector(options, emit);
    hooks.onDetector?.(detector);
    return {
      push(item) {
        emit(item);
        detector.push(item);
      },
      flush() {
        detector.flush();
      },
    };
  });
}
