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

/** Collects the analyze events of one capture and renders the human report. */
export class AnalyzeReport {
  private opened = 0;
  private readonly openedBy = new Map<string, number>();
  private readonly closedBy = new Map<string, number>();
  private readonly reuses: PortReuseEvent[] = [];
  private readonly cycles: PortCycleEvent[] = [];
  private readonly pressure = new Map<string, PortPressureEvent>();
  private readonly talkers = new Map<string, Talker>();
  private firstTs = Infinity;
  private lastTs = -Infinity;

  add(e: TcpReuseEvent): void {
    switch (e.type) {
      case 'flow.open':
        this.onOpen(e);
        break;
      case 'flow.close':
        this.onClose(e);
        break;
      case 'port.reuse': {
        this.reuses.push(e);
        const t = this.talker(e.client.ip);
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
    this.talker(e.client.ip).connections++;
    if (e.ts < this.firstTs) this.firstTs = e.ts;
  }

  private onClose(e: FlowCloseEvent): void {
    this.closedBy.set(e.closedBy, (this.closedBy.get(e.closedBy) ?? 0) + 1);
    if (e.endTs > this.lastTs) this.lastTs = e.endTs;
  }

  private talker(ip: string): Talker {
    let t = this.talkers.get(ip);
    if (!t) {
      t = { connections: 0, reuses: 0, worst: null };
      this.talkers.set(ip, t);
    }
    return t;
  }

  /** `damage`: why the capture could not be read to its end (the report covers the frames before it). */
  render(
    header: { capture: string; sensor: string; frames: number; packets: number; skipped: Map<string, number>; streams: number; damage?: string },
    limit: number,
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
      const span = (this.lastTs - this.firstTs) / 1e6;
      out.push(`  time ${iso(this.firstTs)} .. ${iso(this.lastTs)} (${span.toFixed(1)} s)`);
    }
    out.push(`  connections ${this.opened} (${fmtCounts(this.openedBy, ['syn', 'synack', 'midstream'], 'opened by ')}); Wireshark streams ${header.streams}`);
    out.push(`  closed by ${fmtCounts(this.closedBy, ['fin', 'rst', 'idle', 'reused', 'evicted', 'eof'])}`);
    out.push('');

    const bySev = new Map<Severity, PortReuseEvent[]>(ORDER.map((s) => [s, []]));
    for (const r of this.reuses) bySev.get(r.severity)!.push(r);
    const ws = this.reuses.filter((r) => r.wireshark).length;
    out.push(
      `Port reuse: ${this.reuses.length}` +
        (this.reuses.length ? ` (${ORDER.map((s) => `${s} ${bySev.get(s)!.length}`).join(', ')}); Wireshark flags ${ws} of them` : ''),
    );
    const unlisted = ORDER.filter((sev) => severityBelow(sev, minSeverity) && bySev.get(sev)!.length > 0);
    for (const sev of ORDER) {
      const list = bySev.get(sev)!;
      if (list.length === 0 || unlisted.includes(sev)) continue;
      out.push(`  ${sev.toUpperCase()} (${list.length})`);
      const shown = limit === 0 ? list : list.slice(0, limit);
      for (const r of shown) {
        const closer = r.activeCloser ? `, ${r.activeCloser} closed first` : '';
        out.push(
          `    ${r.frame !== null ? `frame ${r.frame}  ` : ''}${ep(r.client.ip, r.client.port)} -> ${ep(r.server.ip, r.server.port)}  ${r.kind}, previous ${r.previousEnd}${closer}, gap ${r.gapS} s`,
        );
        out.push(`      ${r.reason}`);
      }
      if (shown.length < list.length) out.push(`    ... ${list.length - shown.length} more (--limit 0 shows all, --json gives every event)`);
    }
    if (unlisted.length > 0) out.push(`  ${unlisted.map((sev) => `${sev.toUpperCase()} (${bySev.get(sev)!.length})`).join(', ')}: not listed (below --min-severity ${minSeverity})`);
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
    const top = [...this.talkers.entries()]
      .sort((a, b) => rank(a[1]) - rank(b[1]) || b[1].reuses - a[1].reuses || b[1].connections - a[1].connections)
      .slice(0, 5);
    if (top.length) {
      out.push('Top clients (by worst reuse, then reuses, then connections):');
      for (const [ip, t] of top) {
        out.push(`  ${ip.padEnd(39)} ${counted(t.connections, 7, 'connection')}  ${counted(t.reuses, 5, 'reuse')}${t.worst ? `  worst ${t.worst}` : ''}`);
      }
    }
    return out.join('\n') + '\n';
  }
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
