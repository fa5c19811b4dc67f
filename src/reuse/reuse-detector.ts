import type {
  ClosedBy,
  FlowCloseEvent,
  FlowOpenEvent,
  PortReuseEvent,
  PreviousEnd,
  ReuseKind,
  Side,
  Watermark,
} from '../model/events';
import { numberOption, secondsBetween, US_PER_S } from '../util/options';
import { judgeReuse } from './severity-policy';

export interface DetectPortReuseOptions {
  /** How long an ended connection is remembered per 4-tuple. @default 14400 (4 h) */
  readonly windowS?: number;
  /** Most 4-tuples remembered; beyond it the oldest are forgotten (and counted). @default 1000000 */
  readonly maxEntries?: number;
  /** TIME_WAIT the severity policy judges against: 60 (Linux) or 240 (Windows). @default 60 */
  readonly timeWaitS?: number;
  /** RST-closed tuples re-opened faster than once per this many seconds are `medium`. @default 1 */
  readonly rstRecurS?: number;
}

export interface ReuseCounters {
  reuses: number;
  /** Remembered connections dropped because maxEntries was reached before their window ended. */
  forgotten: number;
  /** Remembered connections dropped because their window ended. */
  expired: number;
}

/** What is remembered of the last connection on a 4-tuple. */
interface Previous {
  flowId: string;
  stream: number;
  startTs: number;
  endTs: number;
  closedBy: ClosedBy;
  activeCloser: Side | null;
  vlan: number | null;
  /** The previous connection's start was seen (its handshake), so its age is known. */
  startSeen: boolean;
}

function tupleKey(e: FlowOpenEvent | FlowCloseEvent): string {
  const a = e.client.ip + '|' + e.client.port;
  const b = e.server.ip + '|' + e.server.port;
  return e.sensor + '|' + (a < b ? a + '|' + b : b + '|' + a);
}

function classify(closedBy: ClosedBy): { kind: ReuseKind; previousEnd: PreviousEnd } {
  switch (closedBy) {
    case 'fin':
    case 'rst':
      return { kind: 'after-close', previousEnd: closedBy };
    case 'reused':
      return { kind: 'while-open', previousEnd: 'open' };
    default:
      // idle, evicted (and eof, which cannot precede a later open)
      return { kind: 'after-idle', previousEnd: 'idle' };
  }
}

/**
 * The core of `detectPortReuse`: remembers how each 4-tuple's last connection ended and turns a
 * connection opened by SYN (or SYN-ACK) on a remembered tuple into a classified `port.reuse`.
 */
export class ReuseDetector {
  readonly counters: ReuseCounters = { reuses: 0, forgotten: 0, expired: 0 };
  private readonly memory = new Map<string, Previous>();
  private readonly windowUs: number;
  private readonly maxEntries: number;
  private readonly timeWaitS: number;
  private readonly rstRecurS: number;
  private now = -Infinity;

  constructor(
    options: DetectPortReuseOptions,
    private readonly emit: (e: PortReuseEvent) => void,
  ) {
    const o = 'detectPortReuse';
    this.windowUs = numberOption(o, 'windowS', options.windowS, 14400, { min: 0 }) * US_PER_S;
    this.maxEntries = numberOption(o, 'maxEntries', options.maxEntries, 1_000_000, { min: 1, integer: true });
    this.timeWaitS = numberOption(o, 'timeWaitS', options.timeWaitS, 60, { min: 0 });
    this.rstRecurS = numberOption(o, 'rstRecurS', options.rstRecurS, 1, { min: 0 });
  }

  get remembered(): number {
    return this.memory.size;
  }

  advance(ts: number): void {
    if (ts <= this.now) return;
    this.now = ts;
    const limit = ts - this.windowUs;
    // Entries are re-inserted on every close, so the Map's order is (nearly) end-time order.
    for (const [key, prev] of this.memory) {
      if (prev.endTs > limit) break;
      this.memory.delete(key);
      this.counters.expired++;
    }
  }

  onClose(e: FlowCloseEvent): void {
    const key = tupleKey(e);
    this.memory.delete(key);
    if (this.memory.size >= this.maxEntries) {
      this.memory.delete(this.memory.keys().next().value as string);
      this.counters.forgotten++;
    }
    this.memory.set(key, {
      flowId: e.flowId,
      stream: e.stream,
      startTs: e.startTs,
      endTs: e.endTs,
      closedBy: e.closedBy,
      activeCloser: e.activeCloser,
      vlan: e.vlan,
      startSeen: e.openedBy !== 'midstream',
    });
  }

  onOpen(e: FlowOpenEvent): void {
    this.advance(e.ts);
    if (e.openedBy === 'midstream') return; // a reuse is a new connection opened by a handshake
    const prev = this.memory.get(tupleKey(e));
    if (!prev || prev.endTs < e.ts - this.windowUs) return;
    const { kind, previousEnd } = classify(prev.closedBy);
    const gapS = secondsBetween(prev.endTs, e.ts);
    const { severity, reason } = judgeReuse(
      {
        kind,
        previousEnd,
        activeCloser: prev.activeCloser,
        gapS,
        sincePreviousStartS: prev.startSeen ? secondsBetween(prev.startTs, e.ts) : null,
        previousEvicted: prev.closedBy === 'evicted',
        vlan: e.vlan,
        previousVlan: prev.vlan,
      },
      { timeWaitS: this.timeWaitS, rstRecurS: this.rstRecurS },
    );
    this.counters.reuses++;
    this.emit({
      type: 'port.reuse',
      ts: e.ts,
      sensor: e.sensor,
      flowId: e.flowId,
      previousFlowId: prev.flowId,
      stream: e.stream,
      previousStream: prev.stream,
      frame: e.frame,
      client: e.client,
      server: e.server,
      kind,
      previousEnd,
      activeCloser: prev.activeCloser,
      gapS,
      timeWaitS: this.timeWaitS,
      severity,
      reason,
      wireshark: e.wireshark,
    });
  }

  push(item: { type: string; ts: number }): void {
    switch (item.type) {
      case 'flow.open':
        this.onOpen(item as FlowOpenEvent);
        break;
      case 'flow.close':
        this.onClose(item as FlowCloseEvent);
        break;
      case 'watermark':
        this.advance((item as Watermark).ts);
        break;
      default:
    }
  }
}
