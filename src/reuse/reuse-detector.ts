import type {
  ClosedBy,
  FlowCloseEvent,
  FlowInterleave,
  FlowOpenEvent,
  PortReuseEvent,
  PreviousEnd,
  ReuseKind,
  Watermark,
} from '../model/events';
import { numberOption, secondsBetween, US_PER_S } from '../util/options';
import { judgeReuse, type ReuseFacts, type SeverityPolicy } from './severity-policy';
import { NIL, TupleMemory } from './tuple-memory';

export interface DetectPortReuseOptions {
  /** How long an ended connection is remembered per 4-tuple. @default 14400 (4 h) */
  readonly windowS?: number;
  /** Most 4-tuples remembered; beyond it the oldest are forgotten (and counted). @default 1000000 */
  readonly maxEntries?: number;
  /** TIME_WAIT the severity policy judges against: 60 (Linux) or 240 (Windows). @default 60 */
  readonly timeWaitS?: number;
  /** RST-closed tuples re-opened faster than once per this many seconds are `medium`. @default 1 */
  readonly rstRecurS?: number;
  /**
   * How long (event time) a `while-open` reuse waits for the replaced connection's client to keep
   * sending, which makes it "interleaved: NAT collision". @default 2
   */
  readonly interleaveWaitS?: number;
}

/** A while-open reuse waiting to learn whether the old connection carries on. */
export interface HeldReuse {
  event: PortReuseEvent;
  facts: ReuseFacts;
  until: number;
}

export interface ReuseCounters {
  reuses: number;
  /** Remembered connections dropped because maxEntries was reached before their window ended. */
  forgotten: number;
  /** Remembered connections dropped because their window ended. */
  expired: number;
}

/** A detector's whole state, for checkpoints (src/state/flow-stage-state.ts). */
export interface DetectorState {
  readonly memory: TupleMemory;
  /** New flowId → its while-open reuse, in SYN order. */
  readonly held: ReadonlyMap<string, HeldReuse>;
  readonly now: number;
  readonly counters: ReuseCounters;
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
  private memory = new TupleMemory();
  private readonly windowUs: number;
  private readonly maxEntries: number;
  private readonly timeWaitS: number;
  private readonly rstRecurS: number;
  private readonly interleaveWaitUs: number;
  private readonly policy: SeverityPolicy;
  /** new flowId → its while-open reuse, in SYN order. */
  private readonly held = new Map<string, HeldReuse>();
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
    this.policy = { timeWaitS: this.timeWaitS, rstRecurS: this.rstRecurS };
    this.interleaveWaitUs = numberOption(o, 'interleaveWaitS', options.interleaveWaitS, 2, { min: 0 }) * US_PER_S;
  }

  /** The state a checkpoint holds (live references: write it out before the next event). */
  checkpointState(): DetectorState {
    return { memory: this.memory, held: this.held, now: this.now, counters: this.counters };
  }

  /** Continues from a checkpoint's state, as if this detector had seen what built it. */
  restoreState(s: DetectorState): void {
    this.memory = s.memory;
    this.held.clear();
    for (const [k, v] of s.held) this.held.set(k, v);
    this.now = s.now;
    Object.assign(this.counters, s.counters);
  }

  /** The time of the oldest while-open reuse still held back (Infinity when none): nothing older comes out later. */
  get oldestHeld(): number {
    for (const h of this.held.values()) return h.event.ts;
    return Infinity;
  }

  get remembered(): number {
    return this.memory.size;
  }

  advance(ts: number): void {
    if (ts <= this.now) return;
    this.now = ts;
    for (const [flowId, h] of this.held) {
      if (h.until > ts) break;
      this.release(flowId, h);
    }
    const limit = ts - this.windowUs;
    const m = this.memory;
    // Entries are rewritten on every close, so the oldest is (nearly) the earliest ended.
    for (let e = m.oldest(); e !== NIL && m.endTs[e] <= limit; e = m.oldest()) {
      m.remove(e);
      this.counters.expired++;
    }
  }

  onClose(e: FlowCloseEvent): void {
    const h = this.held.size > 0 ? this.held.get(e.flowId) : undefined;
    if (h) this.release(e.flowId, h); // its connection is over: nothing more to wait for
    const m = this.memory;
    const entry = m.find(e.sensor, e.client, e.server);
    if (entry === NIL && m.size >= this.maxEntries) {
      m.remove(m.oldest());
      this.counters.forgotten++;
    }
    m.write(entry, e.flowId, e.stream, e.startTs, e.endTs, e.closedBy, e.activeCloser, e.openedBy !== 'midstream', e.vlan);
  }

  onOpen(e: FlowOpenEvent): void {
    this.advance(e.ts);
    if (e.openedBy === 'midstream') return; // a reuse is a new connection opened by a handshake
    const m = this.memory;
    const prev = m.find(e.sensor, e.client, e.server);
    if (prev === NIL || m.endTs[prev] < e.ts - this.windowUs) return;
    const closedBy = m.closedBy(prev);
    const activeCloser = m.activeCloser(prev);
    const endTs = m.endTs[prev];
    const { kind, previousEnd } = classify(closedBy);
    // Time can run backwards between connections (a clock step, merged interfaces): no negative gaps.
    const clockBackS = e.ts < endTs ? secondsBetween(e.ts, endTs) : 0;
    const gapS = clockBackS > 0 ? 0 : secondsBetween(endTs, e.ts);
    const facts: ReuseFacts = {
      kind,
      previousEnd,
      activeCloser,
      gapS,
      clockBackS,
      sincePreviousStartS: m.startSeen(prev) ? Math.max(0, secondsBetween(m.startTs[prev], e.ts)) : null,
      previousEvicted: closedBy === 'evicted',
      vlan: e.vlan,
      previousVlan: m.vlan[prev] === -1 ? null : m.vlan[prev],
      interleaved: false,
    };
    const { severity, reason } = judgeReuse(facts, this.policy);
    this.counters.reuses++;
    const reuse: PortReuseEvent = {
      type: 'port.reuse',
      ts: e.ts,
      sensor: e.sensor,
      flowId: e.flowId,
      communityId: e.communityId,
      previousFlowId: m.flowId[prev]!,
      stream: e.stream,
      previousStream: m.stream[prev],
      frame: e.frame,
      client: e.client,
      server: e.server,
      kind,
      previousEnd,
      activeCloser,
      gapS,
      timeWaitS: this.timeWaitS,
      severity,
      reason,
      wireshark: e.wireshark,
    };
    if (kind === 'while-open' && this.interleaveWaitUs > 0) this.held.set(e.flowId, { event: reuse, facts, until: e.ts + this.interleaveWaitUs });
    else this.emit(reuse);
  }

  /** The replaced connection's client kept sending after the SYN: the held reuse says so, now. */
  onInterleave(e: FlowInterleave): void {
    const h = this.held.get(e.flowId);
    if (!h) return;
    h.facts.interleaved = true;
    const { severity, reason } = judgeReuse(h.facts, this.policy);
    h.event.severity = severity;
    h.event.reason = reason;
    this.release(e.flowId, h);
  }

  /** Input complete: emits the reuses still waiting. */
  flush(): void {
    for (const [flowId, h] of this.held) this.release(flowId, h);
  }

  private release(flowId: string, h: HeldReuse): void {
    this.held.delete(flowId);
    this.emit(h.event);
  }

  push(item: { type: string; ts: number }): void {
    switch (item.type) {
      case 'flow.open':
        this.onOpen(item as FlowOpenEvent);
        break;
      case 'flow.close':
        this.onClose(item as FlowCloseEvent);
        break;
      case 'flow.interleave':
        this.onInterleave(item as FlowInterleave);
        break;
      case 'watermark':
        this.advance((item as Watermark).ts);
        break;
      default:
    }
  }
}
