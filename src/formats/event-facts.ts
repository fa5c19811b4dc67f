import type { Severity, TcpReuseEvent } from '../model/events';
import { packageVersion } from '../util/package-root';

/**
 * What every SIEM format needs of an event beyond its own fields: a stable id, a time text, a
 * numeric severity, the product's name and version. One place, so ECS, OCSF and CEF agree.
 */
export const PRODUCT = 'tcpreuse';

export const PRODUCT_VERSION: string = packageVersion();

/**
 * A stable id per event: the same input gives the same id (so a SIEM can deduplicate the repeats
 * at-least-once delivery makes). Connection events are named by their flowId; the per-client
 * detections by sensor, client, server and time.
 */
export function eventId(e: TcpReuseEvent): string {
  switch (e.type) {
    case 'flow.open':
      return `${e.flowId}:open`;
    case 'flow.close':
      return `${e.flowId}:close`;
    case 'port.reuse':
      return `${e.flowId}:reuse`;
    case 'port.cycle':
      return `${e.sensor}|${e.client}|${e.server ? `${e.server.ip}:${e.server.port}` : '*'}:cycle@${e.ts}`;
    case 'port.pressure':
      return `${e.sensor}|${e.client}|${e.server.ip}:${e.server.port}:pressure@${e.ts}`;
    case 'reuse.stats':
      return `${e.sensor}|${e.client}:stats@${e.windowStart}`;
    case 'packet':
      return `${e.sensor}|${e.flowId ?? '-'}:packet@${e.ts}/${e.frame ?? '-'}`;
  }
}

/** Severity as a number, 1 (info) to 4 (high): OCSF's severity_id scale (Informational..High). */
export const SEVERITY_ID: Record<Severity, number> = { info: 1, low: 2, medium: 3, high: 4 };

let cachedSecond = NaN;
let cachedPrefix = '';

/**
 * ISO 8601 UTC with the microseconds the event has (Date keeps milliseconds only). Events come
 * in time order, many to a second: the "YYYY-MM-DDTHH:MM:SS." part is made once per second.
 */
export function isoMicros(us: number): string {
  const second = Math.floor(us / 1_000_000);
  if (second !== cachedSecond) {
    cachedSecond = second;
    cachedPrefix = new Date(second * 1000).toISOString().slice(0, 20);
  }
  return cachedPrefix + String(us - second * 1_000_000).padStart(6, '0') + 'Z';
}

/** The rule that fired, named the same in every format. */
export function ruleName(e: TcpReuseEvent): string | null {
  if (e.type === 'port.reuse') return `tcp-port-reuse-${e.kind}`;
  if (e.type === 'port.cycle') return 'tcp-ephemeral-port-cycle';
  if (e.type === 'port.pressure') return 'tcp-ephemeral-port-pressure';
  return null;
}

/** One sentence a human can act on, for the formats' message field. */
export function summary(e: TcpReuseEvent): string {
  switch (e.type) {
    case 'flow.open':
      return `TCP connection ${e.client.ip}:${e.client.port} -> ${e.server.ip}:${e.server.port} opened (${e.openedBy})`;
    case 'flow.close':
      return `TCP connection ${e.client.ip}:${e.client.port} -> ${e.server.ip}:${e.server.port} closed (${e.closedBy}, ${e.state}) after ${e.durationS} s`;
    case 'port.reuse':
      return `${e.severity} port reuse ${e.client.ip}:${e.client.port} -> ${e.server.ip}:${e.server.port} (${e.kind}, gap ${e.gapS} s): ${e.reason}`;
    case 'port.cycle':
      return `${e.client} cycles its ephemeral ports ${e.rangeLow}..${e.rangeHigh} every ${e.cycleS} s${e.server ? ` towards ${e.server.ip}:${e.server.port}` : ''}${e.osHint ? ` (${e.osHint})` : ''}`;
    case 'port.pressure':
      return `${e.severity} ephemeral port pressure: ${e.client} -> ${e.server.ip}:${e.server.port} holds ${Math.round(e.utilisation * 100)}% of its ${e.rangeSize} ports in TIME_WAIT (${e.connectionsPerS} connections/s)`;
    case 'reuse.stats':
      return `${e.client}: ${e.connections} connections, reuses high ${e.counts.high} medium ${e.counts.medium} low ${e.counts.low} info ${e.counts.info}`;
    case 'packet':
      return `TCP packet ${e.packet.src}:${e.packet.sport} -> ${e.packet.dst}:${e.packet.dport}`;
  }
}
