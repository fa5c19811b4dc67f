import {
  severityBelow,
  type FlowCloseEvent,
  type FlowOpenEvent,
  type PortCycleEvent,
  type PortPressureEvent,
  type PortReuseEvent,
  type Severity,
  type TcpReuseEvent,
} from '../model/events';

const ORDER: Severity[] = ['high', 'medium', 'low', 'info'];

interface Talker {
  connections: number;
  reuses: number;
  worst: Severity | null;
}

/**
 * Collects the analyze events of one capture and renders the human report. It keeps what it
 * prints and counts the rest: the first `limit` reuses of each severity (0 = every one), and at
 * most `maxClients` clients for the top-clients table (clients with a reuse first: a SYN flood's
 * millions of one-connection clients must not take the memory the reuses need).
 */
export class AnalyzeReport {
  private opened = 0;
  private readonly openedBy = new Map<string, number>();
  private readonly closedBy = new Map<string, number>();
  private readonly reuseCount = new Map<Severity, number>(ORDER.map((s) => [s, 0]));
  private readonly listed = new Map<Severity, PortReuseEvent[]>(ORDER.map((s) => [s, []]));
  private wiresharkFlags = 0;
  private readonly cycles: PortCycleEvent[] = [];
  private readonly pressure = new Map<string, PortPressureEvent>();
  /** Clients with a reuse, and clients without one yet: each at most maxClients. */
  private readonly reusers = new Map<string, Talker>();
  private readonly quiet = new Map<string, Talker>();
  /** Events of clients the table had no room for. */
  private untracked = 0;

  get untrackedClients(): number {
    return this.untracked;
  }
  private firstTs = Infinity;
  private lastTs = -Infinity;

  constructor(
    private readonly limit = 10,
    private readonly maxClients = 100_000,
  ) {}

  add(e: TcpReuseEvent): void {
    switch (e.type) {
      case 'flow.open':
        this.onOpen(e);
        break;
      case 'flow.close':
        this.onClose(e);
        break;
      case 'port.reuse': {
        this.reuseCount.set(e.severity, this.reuseCount.get(e.severity)! + 1);
        if (e.wireshark) this.wiresharkFlags++;
        const list = this.listed.get(e.severity)!;
        if (this.limit === 0 || list.length < this.limit) list.push(e);
        const t = this.reuser(e.client.ip);
        if (!t) break;
        t.reuses++;
        if (t.worst === null || ORDER.indexOf(e.severity) < ORDER.indexOf(t.worst)) t.worst = e.severity;
        break;
      }
      case 'port.cycle':
        this.cycles.push(e);
        break;
      case 'port.pressure': {
        // Keep the worst reading per client/server pair.
        const key = `${e.client} -> ${e.server.ip}:${e.server.port}`;
        const prev = this.pressure.get(key);
        if (!prev || e.utilisation > prev.utilisation) this.pressure.set(key, e);
        break;
      }
      default:
    }
  }

  private onOpen(e: FlowOpenEvent): void {
    this.opened++;
    this.openedBy.set(e.openedBy, (this.openedBy.get(e.openedBy) ?? 0) + 1);
    const ip = e.client.ip;
    let t = this.reusers.get(ip) ?? this.quiet.get(ip);
    if (!t && this.quiet.size < this.maxClients) this.quiet.set(ip, (t = { connections: 0, reuses: 0, worst: null }));
    if (t) t.connections++;
    else this.untracked++;
    if (e.ts < this.firstTs) this.firstTs = e.ts;
  }

  private onClose(e: FlowCloseEvent): void {
    this.closedBy.set(e.closedBy, (this.closedBy.get(e.closedBy) ?? 0) + 1);
    if (e.endTs > this.lastTs) this.lastTs = e.endTs;
  }

  /** A client's entry among the reusers (moved from the quiet ones), or null when that table is full. */
  private reuser(ip: string): Talker | null {
    let t = this.reusers.get(ip);
    if (t) return t;
    if (this.reusers.size >= this.maxClients) {
      this.untracked++;
      return null;
    }
    t = this.quiet.get(ip) ?? { connections: 0, reuses: 0, worst: null };
    this.quiet.delete(ip);
    this.reusers.set(ip, t);
    return t;
  }

  /** `damage`: why the capture could not be read to its end (the report covers the frames before it). */
  render(
    header: { capture: string; sensor: string; frames: number; packets: number; skipped: Map<string, number>; streams: number; damage?: string },
    minSeverity: Severity = 'info',
  ): string {
    const out: string[] = [];
    const skippedTotal = [...header.skipped.values()].reduce((a, b) => a + b, 0);
    const skippedTop = [...header.skipped.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 4)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ');
    out.push(`tcpreuse analyze ${header.capture}  (sensor "${header.sensor}")`);
    out.push(`  frames ${header.frames}, TCP packets ${header.packets}, not TCP ${skippedTotal}${skippedTotal ? ` (${skippedTop})` : ''}`);
    if (header.damage) out.push(`  capture damaged: ${header.damage}; this report covers the ${header.frames} frames before it`);
    if (this.opened > 0) {
      const last = Math.max(this.lastTs, this.firstTs); // flows still open (a stream cut short) have no end yet
      out.push(`  time ${iso(this.firstTs)} .. ${iso(last)} (${((last - this.firstTs) / 1e6).toFixed(1)} s)`);
    }
    out.push(`  connections ${this.opened} (${fmtCounts(this.openedBy, ['syn', 'synack', 'midstream'], 'opened by ')}); Wireshark streams ${header.streams}`);
    out.push(`  closed by ${fmtCounts(this.closedBy, ['fin', 'rst', 'idle', 'reused', 'evicted', 'eof'])}`);
    out.push('');

    const total = [...this.reuseCount.values()].reduce((a, b) => a + b, 0);
    out.push(
      `Port reuse: ${total}` +
        (total ? ` (${ORDER.map((s) => `${s} ${this.reuseCount.get(s)}`).join(', ')}); Wireshark flags ${this.wiresharkFlags} of them` : ''),
    );
    const unlisted = ORDER.filter((sev) => severityBelow(sev, minSeverity) && this.reuseCount.get(sev)! > 0);
    for (const sev of ORDER) {
      const count = this.reuseCount.get(sev)!;
      if (count === 0 || unlisted.includes(sev)) continue;
      out.push(`  ${sev.toUpperCase()} (${count})`);
      const shown = this.listed.get(sev)!;
      for (const r of shown) {
        const closer = r.activeCloser ? `, ${r.activeCloser} closed first` : '';
        out.push(
          `    ${r.frame !== null ? `frame ${r.frame}  ` : ''}${ep(r.client.ip, r.client.port)} -> ${ep(r.server.ip, r.server.port)}  ${r.kind}, previous ${r.previousEnd}${closer}, gap ${r.gapS} s`,
        );
        out.push(`      ${r.reason}`);
      }
      if (shown.length < count) out.push(`    ... ${count - shown.length} more (--limit 0 shows all, --json gives every event)`);
    }
    if (unlisted.length > 0) out.push(`  ${unlisted.map((sev) => `${sev.toUpperCase()} (${this.reuseCount.get(sev)})`).join(', ')}: not listed (below --min-severity ${minSeverity})`);
    out.push('');

    out.push(`Ephemeral-port cycles: ${this.cycles.length === 0 ? 'none seen (no sequential allocator wrapped)' : this.cycles.length}`);
    for (const c of this.cycles) {
      out.push(
        `  ${c.client}${c.server ? ` -> ${ep(c.server.ip, c.server.port)}` : ''}: ${c.allocation} ports ${c.rangeLow}-${c.rangeHigh}, a port recurs every ${c.cycleS.toFixed(0)} s (${(c.cycleS / 3600).toFixed(2)} h), after ${c.connections} connections${c.osHint ? `; ${c.osHint}` : ''}`,
      );
    }
    out.push(`Port pressure: ${this.pressure.size === 0 ? 'none (no client opens connections fast enough to exhaust its range within TIME_WAIT)' : this.pressure.size}`);
    for (const [key, p] of this.pressure) {
      out.push(
        `  ${p.severity.toUpperCase()} ${key}: ${p.connectionsPerS} conn/s x TIME_WAIT ${p.timeWaitS} s = ${(p.utilisation * 100).toFixed(0)}% of ${p.rangeSize} ports`,
      );
    }
    out.push('');

    // The client to look at first is the one with the worst reuse, not merely the most of them.
    const rank = (t: Talker): number => (t.worst === null ? ORDER.length : ORDER.indexOf(t.worst));
    const byRank = (a: [string, Talker], b: [string, Talker]): number => rank(a[1]) - rank(b[1]) || b[1].reuses - a[1].reuses || b[1].connections - a[1].connections;
    const top = topN([...this.reusers.entries()], 5, byRank);
    if (top.length < 5) top.push(...topN([...this.quiet.entries()], 5 - top.length, byRank));
    if (top.length) {
      out.push('Top clients (by worst reuse, then reuses, then connections):');
      for (const [ip, t] of top) {
        out.push(`  ${ip.padEnd(39)} ${counted(t.connections, 7, 'connection')}  ${counted(t.reuses, 5, 'reuse')}${t.worst ? `  worst ${t.worst}` : ''}`);
      }
    }
    if (this.untracked > 0) {
      out.push(`  (approximate: the client table was full, --max-clients ${this.maxClients}; ${this.untracked} connections and reuses of further clients are in the totals above but not ranked)`);
    }
    return out.join('\n') + '\n';
  }
}

/** The first `n` of `items` in `order`, without sorting them all (the quiet clients can be many). */
function topN<T>(items: T[], n: number, order: (a: T, b: T) => number): T[] {
  const best: T[] = [];
  for (const x of items) {
    if (best.length === n && order(x, best[n - 1]) >= 0) continue;
    let i = best.length;
    while (i > 0 && order(x, best[i - 1]) < 0) i--;
    best.splice(i, 0, x);
    if (best.length > n) best.pop();
  }
  return best;
}

/** "1 reuse " / "2 reuses": the count right-aligned to `width`, the noun padded so columns line up. */
function counted(n: number, width: number, noun: string): string {
  return `${String(n).padStart(width)} ${n === 1 ? noun + ' ' : noun + 's'}`;
}

function ep(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

function iso(us: number): string {
  return new Date(us / 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

function fmtCounts(m: Map<string, number>, order: string[], prefix = ''): string {
  const parts = order.filter((k) => m.get(k)).map((k) => `${k} ${m.get(k)}`);
  return parts.length ? prefix + parts.join(', ') : 'none';
}
