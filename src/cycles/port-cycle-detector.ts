import type { Endpoint, FlowOpenEvent, PortCycleEvent, PortPressureEvent, Severity } from '../model/events';
import { numberOption, US_PER_S } from '../util/options';

export interface DetectPortCyclesOptions {
  /** Connections a client must have made before its allocator is judged. @default 32 */
  readonly minConnections?: number;
  /** Share of +1..+maxStep port steps that makes an allocator sequential. @default 0.8 */
  readonly sequentialShare?: number;
  /** Largest port step still counted as sequential (other programs take ports in between). @default 16 */
  readonly maxStep?: number;
  /** TIME_WAIT used for port pressure. @default 60 */
  readonly timeWaitS?: number;
  /** Sliding window over which the connection rate is measured. @default 60 */
  readonly rateWindowS?: number;
  /** Utilisation (rate × TIME_WAIT / range) at which `port.pressure` is emitted. @default 0.5 */
  readonly pressureThreshold?: number;
  /** Most clients (and client/server pairs) tracked; the least recently active are dropped. @default 100000 */
  readonly maxClients?: number;
}

/** Well-known ephemeral ranges and who uses them. */
export const KNOWN_RANGES: readonly { low: number; high: number; hint: string }[] = [
  { low: 1025, high: 5000, hint: 'legacy Windows (XP/2003 and older): ephemeral range 1025-5000' },
  { low: 49152, high: 65535, hint: 'Windows Vista or later / IANA dynamic range 49152-65535' },
  { low: 32768, high: 60999, hint: 'Linux default ip_local_port_range 32768-60999' },
  { low: 10000, high: 65535, hint: 'FreeBSD/macOS-style range 10000-65535' },
];
const SNAP_PORTS = 64; // an observed edge this close to a known one is that range

/** Running view of one allocator: a client (all servers) or one client toward one server. */
interface Allocator {
  firstTs: number;
  lastTs: number;
  lastPort: number;
  connections: number;
  sequentialSteps: number;
  minPort: number;
  maxPort: number;
  /** Ports advanced since the first connection, counting across wraps. */
  advanced: number;
  wraps: number;
  /** Connection timestamps (oldest first) for pressure, kept for pairs only; those before `recentHead` have left the window. */
  recent: number[];
  recentHead: number;
  /** `touches` when the entry was last (re)inserted into its map: its place in the LRU order. */
  touched: number;
  lastPressure: Severity | null;
  lastPressureTs: number;
}

/**
 * The core of `detectPortCycles`: learns each client's ephemeral-port allocator from the source
 * ports of the connections it opens, emits `port.cycle` when a sequential allocator wraps (with
 * the range, the cycle period and an OS hint) and `port.pressure` when a client opens connections
 * to one server so fast that TIME_WAIT would hold a large share of its port range.
 */
export class PortCycleDetector {
  readonly counters = { cycles: 0, pressure: 0, droppedClients: 0 };
  private readonly perClient = new Map<string, Allocator>();
  private readonly perPair = new Map<string, Allocator>();
  private readonly minConnections: number;
  private readonly sequentialShare: number;
  private readonly maxStep: number;
  private readonly timeWaitS: number;
  private readonly rateWindowUs: number;
  private readonly threshold: number;
  private readonly maxClients: number;
  private touches = 0;

  constructor(
    options: DetectPortCyclesOptions,
    private readonly emit: (e: PortCycleEvent | PortPressureEvent) => void,
  ) {
    const o = 'detectPortCycles';
    this.minConnections = numberOption(o, 'minConnections', options.minConnections, 32, { min: 2, integer: true });
    this.sequentialShare = numberOption(o, 'sequentialShare', options.sequentialShare, 0.8, { min: 0, max: 1 });
    this.maxStep = numberOption(o, 'maxStep', options.maxStep, 16, { min: 1, max: 1024, integer: true });
    this.timeWaitS = numberOption(o, 'timeWaitS', options.timeWaitS, 60, { min: 0 });
    this.rateWindowUs = numberOption(o, 'rateWindowS', options.rateWindowS, 60, { min: 1 }) * US_PER_S;
    this.threshold = numberOption(o, 'pressureThreshold', options.pressureThreshold, 0.5, { min: 0, max: 10 });
    this.maxClients = numberOption(o, 'maxClients', options.maxClients, 100_000, { min: 1, integer: true });
  }

  push(item: { type: string; ts: number }): void {
    if (item.type !== 'flow.open') return;
    const e = item as FlowOpenEvent;
    if (e.openedBy === 'midstream') return; // only a handshake tells who allocated the port
    this.touches++;
    const clientKey = e.sensor + '|' + e.client.ip;
    const client = this.observe(this.perClient, clientKey, e, false);
    const pair = this.observe(this.perPair, clientKey + '|' + e.server.ip + '|' + e.server.port, e, true);
    // A host-wide sequential allocator shows per client; per-destination allocators only per pair.
    if (client.wrapped) this.emitCycle(e, client.a, null, client.wrapped);
    else if (pair.wrapped && !this.isSequential(client.a)) this.emitCycle(e, pair.a, e.server, pair.wrapped);
    this.checkPressure(e, pair.a, client.a);
  }

  flush(): void {}

  /**
   * Drops the least recently active sixteenth of `map` in one pass. Dropping one entry per new
   * client made every drop walk past all the entries dropped before it (V8 keeps a Map's deleted
   * slots until it rehashes): quadratic, 27% of the Kafka consumer's time with 200,000 clients.
   */
  private dropOldest(map: Map<string, Allocator>): void {
    let n = Math.max(1, Math.ceil(map.size / 16));
    for (const key of map.keys()) {
      if (n-- === 0) break;
      map.delete(key);
      this.counters.droppedClients++;
    }
  }

  private observe(map: Map<string, Allocator>, key: string, e: FlowOpenEvent, keepRecent: boolean): { a: Allocator; wrapped: { low: number; high: number } | null } {
    const port = e.client.port;
    const touch = this.touches;
    let a = map.get(key);
    if (!a) {
      if (map.size >= this.maxClients) this.dropOldest(map);
      a = {
        firstTs: e.ts,
        lastTs: e.ts,
        lastPort: port,
        connections: 1,
        sequentialSteps: 0,
        minPort: port,
        maxPort: port,
        advanced: 0,
        wraps: 0,
        recent: keepRecent ? [e.ts] : [],
        recentHead: 0,
        touched: touch,
        lastPressure: null,
        lastPressureTs: -Infinity,
      };
      map.set(key, a);
      return { a, wrapped: null };
    }
    // The Map's order is the eviction order (for the size limit). Re-inserting on every
    // connection would keep it exact; re-inserting only entries that have drifted into the older
    // half keeps it close (nothing active within the last maxClients/2 connections is dropped)
    // for a fraction of the cost.
    if (touch - a.touched > this.maxClients / 2) {
      map.delete(key);
      map.set(key, a);
      a.touched = touch;
    }
    let wrapped: { low: number; high: number } | null = null;
    const step = port - a.lastPort;
    if (step >= 1 && step <= this.maxStep) {
      a.sequentialSteps++;
      a.advanced += step;
    } else if (step < -256 && this.isSequential(a)) {
      // The allocator ran off the top of its range and started again at the bottom.
      const range = snapRange(Math.min(port, a.minPort), Math.max(a.maxPort, a.lastPort));
      a.advanced += range.high - a.lastPort + (port - range.low) + 1;
      a.wraps++;
      a.sequentialSteps++; // a wrap is the allocator's next step
      wrapped = range;
    }
    a.connections++;
    a.lastPort = port;
    a.lastTs = e.ts;
    if (port < a.minPort) a.minPort = port;
    if (port > a.maxPort) a.maxPort = port;
    if (keepRecent) a.recent.push(e.ts);
    return { a, wrapped };
  }

  private isSequential(a: Allocator): boolean {
    return a.connections >= this.minConnections && a.sequentialSteps / (a.connections - 1) >= this.sequentialShare;
  }

  private emitCycle(e: FlowOpenEvent, a: Allocator, server: Endpoint | null, range: { low: number; high: number }): void {
    const size = range.high - range.low + 1;
    const portsPerS = a.advanced / ((a.lastTs - a.firstTs) / US_PER_S);
    this.counters.cycles++;
    this.emit({
      type: 'port.cycle',
      ts: e.ts,
      sensor: e.sensor,
      client: e.client.ip,
      server,
      rangeLow: range.low,
      rangeHigh: range.high,
      allocation: 'sequential',
      // Time to walk the whole range at the measured allocation rate = time until a port recurs.
      cycleS: Math.round((size / portsPerS) * 1000) / 1000,
      connections: a.connections,
      osHint: KNOWN_RANGES.find((k) => k.low === range.low && k.high === range.high)?.hint ?? null,
    });
  }

  private checkPressure(e: FlowOpenEvent, pair: Allocator, client: Allocator): void {
    const windowStart = e.ts - this.rateWindowUs;
    const recent = pair.recent;
    let head = pair.recentHead;
    while (head < recent.length && recent[head] <= windowStart) head++;
    // Compact only once half the array has left the window: a shift per connection is O(window).
    if (head > 64 && head * 2 > recent.length) {
      recent.splice(0, head);
      head = 0;
    }
    pair.recentHead = head;
    const inWindow = recent.length - head;
    const span = Math.max(e.ts - pair.firstTs, 1);
    // Until a full window has passed, measure over what was seen (but at least 1 s).
    const seconds = Math.max(Math.min(span, this.rateWindowUs) / US_PER_S, 1);
    const rate = inWindow / seconds;
    const rangeSize = rangeSizeFor(client);
    const utilisation = (rate * this.timeWaitS) / rangeSize;
    if (utilisation < this.threshold) {
      pair.lastPressure = null;
      return;
    }
    const severity: Severity = utilisation >= 1 ? 'high' : utilisation >= 0.8 ? 'medium' : 'low';
    const rank = ['info', 'low', 'medium', 'high'];
    // Once per rate window while it lasts, and at once when it gets worse.
    if (
      pair.lastPressure !== null &&
      rank.indexOf(severity) <= rank.indexOf(pair.lastPressure) &&
      e.ts - pair.lastPressureTs < this.rateWindowUs
    ) {
      return;
    }
    pair.lastPressure = severity;
    pair.lastPressureTs = e.ts;
    this.counters.pressure++;
    this.emit({
      type: 'port.pressure',
      ts: e.ts,
      sensor: e.sensor,
      client: e.client.ip,
      server: e.server,
      connectionsPerS: Math.round(rate * 1000) / 1000,
      timeWaitS: this.timeWaitS,
      rangeSize,
      utilisation: Math.round(utilisation * 1000) / 1000,
      severity,
    });
  }
}

/** Snaps an observed range to a well-known one when its edges are within a few ports of it. */
export function snapRange(low: number, high: number): { low: number; high: number } {
  for (const k of KNOWN_RANGES) {
    if (low >= k.low && low <= k.low + SNAP_PORTS && high <= k.high && high >= k.high - SNAP_PORTS) return { low: k.low, high: k.high };
  }
  return { low, high };
}

/** The client's port range: the smallest well-known range holding every port it used. */
function rangeSizeFor(a: Allocator): number {
  let best = 65535 - 1024 + 1;
  for (const k of KNOWN_RANGES) {
    if (a.minPort >= k.low && a.maxPort <= k.high) best = Math.min(best, k.high - k.low + 1);
  }
  return best;
}
