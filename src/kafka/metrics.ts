import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

type Labels = Readonly<Record<string, string>>;

function labelText(labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

interface Family {
  help: string;
  type: 'counter' | 'gauge' | 'summary';
  values: Map<string, { labels: Labels; value: number }>;
  /** Gauges read at scrape time. */
  read?: () => { labels: Labels; value: number }[];
}

/**
 * A small Prometheus registry (counters, gauges, a latency summary) in the text exposition
 * format, so the service needs no metrics dependency.
 */
export class Metrics {
  private readonly families = new Map<string, Family>();
  private readonly latencies: number[] = [];
  private latencySum = 0;
  private latencyCount = 0;

  constructor(private readonly prefix = 'tcpreuse_') {}

  counter(name: string, help: string): (n?: number, labels?: Labels) => void {
    const f = this.family(name, help, 'counter');
    return (n = 1, labels = {}) => {
      const k = labelText(labels);
      const v = f.values.get(k);
      if (v) v.value += n;
      else f.values.set(k, { labels, value: n });
    };
  }

  gauge(name: string, help: string, read: () => { labels: Labels; value: number }[]): void {
    this.family(name, help, 'gauge').read = read;
  }

  /** Records one processing latency (seconds); exposed as a summary with p50/p90/p99 over the last 1024. */
  observeLatency(seconds: number): void {
    this.latencies.push(seconds);
    if (this.latencies.length > 1024) this.latencies.shift();
    this.latencySum += seconds;
    this.latencyCount++;
  }

  /** The current value of a counter (0 when never incremented); for tests and status lines. */
  value(name: string, labels: Labels = {}): number {
    return this.families.get(name)?.values.get(labelText(labels))?.value ?? 0;
  }

  /** Sum over all label sets of a counter. */
  total(name: string): number {
    let n = 0;
    for (const v of this.families.get(name)?.values.values() ?? []) n += v.value;
    return n;
  }

  render(): string {
    const lines: string[] = [];
    for (const [name, f] of this.families) {
      const full = this.prefix + name;
      lines.push(`# HELP ${full} ${f.help}`, `# TYPE ${full} ${f.type}`);
      const values = f.read ? f.read() : [...f.values.values()];
      for (const v of values) lines.push(`${full}${labelText(v.labels)} ${v.value}`);
    }
    const full = this.prefix + 'processing_latency_seconds';
    lines.push(`# HELP ${full} From a fetched batch to the broker acknowledging every event it produced.`, `# TYPE ${full} summary`);
    const sorted = [...this.latencies].sort((a, b) => a - b);
    for (const q of [0.5, 0.9, 0.99]) {
      const v = sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : NaN;
      lines.push(`${full}{quantile="${q}"} ${v}`);
    }
    lines.push(`${full}_sum ${this.latencySum}`, `${full}_count ${this.latencyCount}`);
    return lines.join('\n') + '\n';
  }

  private family(name: string, help: string, type: Family['type']): Family {
    let f = this.families.get(name);
    if (!f) this.families.set(name, (f = { help, type, values: new Map() }));
    return f;
  }
}

/**
 * `GET /metrics` (Prometheus text format) and `GET /healthz` (200 while healthy, 503 with the
 * reason otherwise) on the given port; port 0 picks a free one.
 */
export function serveMetrics(
  metrics: Metrics,
  health: () => { ok: boolean; status: string },
  port: number,
  host = '0.0.0.0',
): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET') {
      res.writeHead(405, { allow: 'GET' }).end();
    } else if (path === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(metrics.render());
    } else if (path === '/healthz' || path === '/health') {
      const h = health();
      res.writeHead(h.ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(h) + '\n');
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics or /healthz\n');
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve({ server, port: (server.address() as AddressInfo).port }));
  });
}
