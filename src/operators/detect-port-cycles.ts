import type { OperatorFunction } from 'rxjs';
import { PortCycleDetector, type DetectPortCyclesOptions } from '../cycles/port-cycle-detector';
import type { PortCycleEvent, PortPressureEvent } from '../model/events';
import { statefulOperator } from './stateful-operator';

export type { DetectPortCyclesOptions };

/**
 * Flow events → the same events plus `port.cycle` (a sequential ephemeral-port allocator wrapped:
 * range, cycle period, OS hint) and `port.pressure` (connection rate × TIME_WAIT nears the range
 * size), learned per client from the `flow.open` events. Input items are forwarded unchanged.
 *
 * ```
 * input:   --o(4999)--o(5000)--o(1025)--|
 * output:  --o--------o--------o-y------|    (y port.cycle 1025-5000)
 * ```
 */
export function detectPortCycles<T extends { type: string; ts: number }>(
  options: DetectPortCyclesOptions = {},
  hooks: { readonly onDetector?: (d: PortCycleDetector) => void } = {},
): OperatorFunction<T, T | PortCycleEvent | PortPressureEvent> {
  return statefulOperator<T, T | PortCycleEvent | PortPressureEvent>((emit) => {
    const detector = new PortCycleDetector(options, emit);
    hooks.onDetector?.(detector);
    return {
      push(item) {
        emit(item);
        detector.push(item);
      },
      flush() {},
    };
  });
}
