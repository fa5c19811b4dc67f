import type { Severity, TcpReuseEvent } from '../model/events';
import { fixedDigits, lit, str } from '../util/json-bytes';
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

/**
 * The "YYYY-MM-DDTHH:MM:SS." part of recent seconds, direct-mapped by the second: events come in
 * time order, many to a second, but one event can carry two times (a flow.close's start and end).
 */
const SLOTS = 64;
const slotSecond = new Float64Array(SLOTS).fill(NaN);
const slotText: string[] = new Array<string>(SLOTS).fill('');
const slotBytes: Uint8Array[] = new Array<Uint8Array>(SLOTS).fill(new Uint8Array(0));

/** The slot holding the prefix of `second`. */
function prefixSlot(second: number): number {
  const slot = second & (SLOTS - 1);
  if (slotSecond[slot] !== second) {
    slotSecond[slot] = second;
    slotText[slot] = new Date(second * 1000).toISOString().slice(0, 20);
    slotBytes[slot] = Buffer.from(slotText[slot], 'latin1');
  }
  return slot;
}

/**
 * ISO 8601 UTC with the microseconds the event has (Date keeps milliseconds only). Events come
 * in time order, many to a second: the "YYYY-MM-DDTHH:MM:SS." part is made once per second.
 */
export function isoMicros(us: number): string {
  const second = Math.floor(us / 1_000_000);
  return slotText[prefixSlot(second)] + String(us - second * 1_000_000).padStart(6, '0') + 'Z';
}

/** isoMicros(us) as a JSON string literal, written into `b` at `at` (28 bytes for years 0..9999); the position after it. */
export function isoMicrosJson(b: Buffer, at: number, us: number): number {
  if (!Number.isSafeInteger(us)) return str(b, at, isoMicros(us)); // not from a reader (they give integer µs)
  const second = Math.floor(us / 1_000_000);
  const slot = prefixSlot(second);
  b[at++] = 0x22;
  at = lit(b, at, slotBytes[slot]);
  at = fixedDigits(b, at, us - second * 1_000_000, 6);
  b[at++] = 0x5a; // Z
  b[at++] = 0x22;
  return at;
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
