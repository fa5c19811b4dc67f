import type { TcpReuseEvent } from '../../src/model/events';

/** The event types of the contract (what tcpreuse nodes send as msg.payload). */
export const EVENT_TYPES: ReadonlySet<string> = new Set(['flow.open', 'flow.close', 'port.reuse', 'port.cycle', 'port.pressure', 'reuse.stats', 'packet']);

/** Whether a payload is a tcpreuse event. */
export function isEvent(p: unknown): p is TcpReuseEvent {
  return typeof p === 'object' && p !== null && EVENT_TYPES.has((p as { type?: string }).type ?? '') && typeof (p as { ts?: unknown }).ts === 'number';
}
