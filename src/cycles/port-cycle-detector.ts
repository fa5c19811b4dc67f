import { SEVERITIES, type Endpoint, type FlowOpenEvent, type PortCycleEvent, type PortPressureEvent, type Severity } from '../model/events';
import { numberOption, US_PER_S } from '../util/options';
import { fnvClientKey } from '../util/fnv';
import { AllocatorTable, allocatorHash, NO_ALLOCATOR, NO_PRESSURE } from './allocator-table';

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

/**
 * The core of `detectPortCycles`: learns each client's ephemeral-port allocator from the source
 * ports of the connections it opens, emits `port.cycle` when a sequential allocator wraps (with
 * the range, the cycle period and an OS hint) and `port.pressure` when a client opens connections
 * to one server so fast that TIME_WAIT would hold a large share of its port range.
 *
 * Allocators are tracked per client (all servers) and per client toward one server, each in an
 * AllocatorTable of at most `maxClients` entries that drops the least recently active.
 */
export class PortCycleDetector {
  readonly counters = { cycles: 0, pressure: 0, droppedClients: 0 };
  private perClient: AllocatorTable;
  private perPair: AllocatorTable;
  private readonly maxClients: number;
  private readonly minConnections: number;
  private readonly sequentialShare: number;
  private readonly maxStep: number;
  private readonly timeWaitS: number;
  private readonly rateWindowUs: number;
  private readonly threshold: number;
  /** Set by `observe`: the range a sequential allocator just wrapped around, if it did. */
  private wrapped: { low: number; high: number } | null = null;

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
    this.perClient = this.newTable();
    this.perPair = this.newTable();
  }

  /** An empty allocator table of this detector's size (restoring a checkpoint fills one). */
  newTable(): AllocatorTable {
    return new AllocatorTable(this.maxClients, () => {
      this.counters.droppedClients++;
    });
  }

  /** The state a checkpoint holds (src/state/client-stage-state.ts). */
  checkpointState(): { perClient: AllocatorTable; perPair: AllocatorTable; counters: PortCycleDetector['counters'] } {
    return { perClient: this.perClient, perPair: this.perPair, counters: this.counters };
  }

  restoreState(s: { perClient: AllocatorTable; perPair: AllocatorTable; counters: PortCycleDetector['counters'] }): void {
    this.perClient = s.perClient;
    this.perPair = s.perPair;
    Object.assign(this.counters, s.counters);
  }

  push(item: { type: string; ts: number }): void {
    if (item.type !== 'flow.open') return;
    const e = item as FlowOpenEvent;
    if (e.openedBy === 'midstream') return; // only a handshake tells who allocated the port
    const seed = fnvClientKey(e.sensor, e.client.ip);
    const client = this.observe(this.perClient, allocatorHash(seed, '', 0), e, '', 0);
    const clientWrapped = this.wrapped;
    const pair = this.observe(this.perPair, allocatorHash(seed, e.server.ip, e.server.port), e, e.server.ip, e.server.port);
    // A host-wide sequential allocator shows per client; per-destination allocators only per pair.
    if (clientWrapped) this.emitCycle(e, this.perClient, client, null, clientWrapped);
    else if (this.wrapped && !this.isSequential(this.perClient, client)) this.emitCycle(e, this.perPair, pair, e.server, this.wrapped);
    this.checkPressure(e, pair, client);
  }

  flush(): void {}

  /** Counts connection `e` toward its allocator in `t` (made on first sight); sets `wrapped`. */
  private observe(t: AllocatorTable, hash: number, e: FlowOpenEvent, serverIp: string, serverPort: number): number {
    const port = e.client.port;
    this.wrapped = null;
    let a = t.touch(hash, e.sensor, e.client.ip, serverIp, serverPort);
    if (a === NO_ALLOCATOR) {
      a = t.add(hash, e.sensor, e.client.ip, serverIp, serverPort);
      t.firstTs[a] = e.ts;
      t.lastTs[a] = e.ts;
      t.lastPort[a] = port;
      t.connections[a] = 1;
      t.sequentialSteps[a] = 0;
      t.minPort[a] = port;
      t.maxPort[a] = port;
      t.advanced[a] = 0;
      t.wraps[a] = 0;
      return a;
    }
    const step = port - t.lastPort[a];
    if (step >= 1 && step <= this.maxStep) {
      t.sequentialSteps[a]++;
      t.advanced[a] += step;
    } else if (step < -256 && this.isSequential(t, a)) {
      // The allocator ran off the top of its range and started again at the bottom.
      const range = snapRange(Math.min(port, t.minPort[a]), Math.max(t.maxPort[a], t.lastPort[a]));
      t.advanced[a] += range.high - t.lastPort[a] + (port - range.low) + 1;
      t.wraps[a]++;
      t.sequentialSteps[a]++; // a wrap is the allocator's next step
      this.wrapped = range;
    }
    if (serverIp !== '') {
      // Connection times toward this server, for the pressure rate (the first one is firstTs).
      const recent = t.recent[a];
      if (recent) recent.push(e.ts);
      else t.recent[a] = [t.lastTs[a], e.ts];
    }
    t.connections[a]++;
    t.lastPort[a] = port;
    if (e.ts > t.lastTs[a]) t.lastTs[a] = e.ts; // the allocation rate spans firstTs..lastTs: never negative
    if (port < t.minPort[a]) t.minPort[a] = port;
    if (port > t.maxPort[a]) t.maxPort[a] = port;
    return a;
  }

  private isSequential(t: AllocatorTable, a: number): boolean {
    const connections = t.connections[a];
    return connections >= this.minConnections && t.sequentialSteps[a] / (connections - 1) >= this.sequentialShare;
  }

  private emitCycle(e: FlowOpenEvent, t: AllocatorTable, a: number, server: Endpoint | null, range: { low: number; high: number }): void {
    const size = range.high - range.low + 1;
    const portsPerS = t.advanced[a] / ((t.lastTs[a] - t.firstTs[a]) / US_PER_S);
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
      connections: t.connections[a],
      osHint: KNOWN_RANGES.find((k) => k.low === range.low && k.high === range.high)?.hint ?? null,
    });
  }

  private checkPressure(e: FlowOpenEvent, pair: number, client: number): void {
    const pairs = this.perPair;
    const windowStart = e.ts - this.rateWindowUs;
    const recent = pairs.recent[pair];
    let inWindow = 1; // a pair's first connection is this one
    if (recent) {
      let head = pairs.recentHead[pair];
      while (head < recent.length && recent[head] <= windowStart) head++;
      // Compact only once half the array has left the window: a shift per connection is O(window).
      if (head > 64 && head * 2 > recent.length) {
        recent.splice(0, head);
        head = 0;
      }
      pairs.recentHead[pair] = head;
      inWindow = recent.length - head;
    }
    const span = Math.max(e.ts - pairs.firstTs[pair], 1);
    // Until a full window has passed, measure over what was seen (but at least 1 s).
    const seconds = Math.max(Math.min(span, this.rateWindowUs) / US_PER_S, 1);
    const rate = inWindow / seconds;
    const rangeSize = rangeSizeFor(this.perClient.minPort[client], this.perClient.maxPort[client]);
    const utilisation = (rate * this.timeWaitS) / rangeSize;
    if (utilisation < this.threshold) {
      pairs.lastPressure[pair] = NO_PRESSURE;
      return;
    }
    const severity: Severity = utilisation >= 1 ? 'high' : utilisation >= 0.8 ? 'medium' : 'low';
    const rank = SEVERITIES.indexOf(severity);
    // Once per rate window while it lasts, and at once when it gets worse.
    if (pairs.lastPressure[pair] !== NO_PRESSURE && rank <= pairs.lastPressure[pair] && e.ts - pairs.lastPressureTs[pair] < this.rateWindowUs) {
      return;
    }
    pairs.lastPressure[pair] = rank;
    pairs.lastPressureTs[pair] = e.ts;
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
function rangeSizeFor(minPort: number, maxPort: number): number {
  let best = 65535 - 1024 + 1;
  for (const k of KNOWN_RANGES) {
    if (minPort >= k.low && maxPort <= k.high) best = Math.min(best, k.high - k.low + 1);
  }
  return best;
}
