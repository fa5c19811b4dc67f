import type { Endpoint, PortCycleEvent, PortPressureEvent, PortReuseEvent, Severity, TcpReuseEvent } from '../model/events';
import { eventId, PRODUCT, PRODUCT_VERSION, ruleName, summary } from './event-facts';

/**
 * ArcSight Common Event Format lines for syslog-fed SIEMs (ArcSight, QRadar): alerts only
 * (port.reuse, port.cycle, port.pressure; toCef gives null for flow and packet events).
 *   CEF:0|tcpreuse|tcpreuse|<version>|<class id>|<name>|<severity 0-10>|<key=value ...>
 * Escaping as the CEF spec has it: `\` and `|` in the header, `\` and `=` in extension values,
 * line breaks as \n / \r. A line longer than `maxBytes` (a syslog relay's limit) is shortened in
 * its free text (msg), never in the fields rules match on.
 */
export const CEF_MAX_BYTES = 8192;

const SEVERITY: Record<Severity, number> = { info: 1, low: 3, medium: 5, high: 8 };

export interface CefLine {
  readonly line: string;
  /** The line was shortened to fit. */
  readonly truncated: boolean;
}

/** CEF carries the alerts only. */
export const isCefAlert = (e: TcpReuseEvent): e is PortReuseEvent | PortCycleEvent | PortPressureEvent =>
  e.type === 'port.reuse' || e.type === 'port.cycle' || e.type === 'port.pressure';

export function toCef(e: TcpReuseEvent, maxBytes = CEF_MAX_BYTES): CefLine | null {
  if (!isCefAlert(e)) return null;
  const severity = e.type === 'port.cycle' ? SEVERITY.info : SEVERITY[e.severity];
  const header = ['CEF:0', PRODUCT, PRODUCT, PRODUCT_VERSION, e.type, title(e), String(severity)].map((h, i) => (i === 0 ? h : headerText(h))).join('|');
  const ext = extension(e);
  const fixed = header + '|' + ext.map(([k, v]) => `${k}=${extensionText(String(v))}`).join(' ') + ' msg=';
  let msg = extensionText(summary(e));
  const room = maxBytes - Buffer.byteLength(fixed);
  const truncated = Buffer.byteLength(msg) > room;
  if (truncated) {
    // Cut on a character (never inside an escape or a UTF-8 sequence), with an ellipsis.
    msg = msg.slice(0, Math.max(0, room - 3));
    while (Buffer.byteLength(msg) > Math.max(0, room - 3) || /(^|[^\\])(\\\\)*\\$/.test(msg)) msg = msg.slice(0, -1);
    msg += '…';
  }
  return { line: fixed + msg, truncated };
}

function extension(e: PortReuseEvent | PortCycleEvent | PortPressureEvent): [string, string | number][] {
  const out: [string, string | number][] = [
    ['rt', Math.floor(e.ts / 1000)],
    ['dvchost', e.sensor],
    ['externalId', eventId(e)],
    ['cat', ruleName(e)!],
    ['proto', 'TCP'],
  ];
  if (e.type === 'port.reuse') {
    out.push(...endpoint('src', e.client), ...endpoint('dst', e.server));
    out.push(['act', e.kind], ['outcome', e.previousEnd]);
    out.push(['cs1Label', 'communityId'], ['cs1', e.communityId], ['cs2Label', 'flowId'], ['cs2', e.flowId], ['cs3Label', 'previousFlowId'], ['cs3', e.previousFlowId]);
    out.push(['cn1Label', 'gapMs'], ['cn1', Math.round(e.gapS * 1000)], ['cn2Label', 'timeWaitS'], ['cn2', e.timeWaitS]);
  } else {
    out.push(...address('src', e.client));
    if (e.server) out.push(...endpoint('dst', e.server));
    if (e.type === 'port.cycle') out.push(['cn1Label', 'cycleS'], ['cn1', Math.round(e.cycleS)], ['cs4Label', 'portRange'], ['cs4', `${e.rangeLow}-${e.rangeHigh}`]);
    else out.push(['cn1Label', 'connectionsPerS'], ['cn1', Math.round(e.connectionsPerS)], ['cs4Label', 'utilisation'], ['cs4', String(e.utilisation)]);
  }
  return out;
}

/** src/dst are IPv4 in CEF; IPv6 goes in the spec's c6a2 (source) / c6a3 (destination). */
function address(side: 'src' | 'dst', ip: string): [string, string][] {
  if (!ip.includes(':')) return [[side, ip]];
  const key = side === 'src' ? 'c6a2' : 'c6a3';
  return [[`${key}Label`, side === 'src' ? 'Source IPv6 Address' : 'Destination IPv6 Address'], [key, ip]];
}

function endpoint(side: 'src' | 'dst', p: Endpoint): [string, string | number][] {
  return [...address(side, p.ip), [side === 'src' ? 'spt' : 'dpt', p.port]];
}

function title(e: PortReuseEvent | PortCycleEvent | PortPressureEvent): string {
  if (e.type === 'port.reuse') return `TCP port reuse ${e.kind}`;
  if (e.type === 'port.cycle') return 'Ephemeral port cycle';
  return 'Ephemeral port pressure';
}

/** Header fields: backslash and pipe escaped; a line break would end the record, so it becomes a space. */
export function headerText(s: string): string {
  return s.replace(/[\\|]/g, (c) => '\\' + c).replace(/\r\n|[\r\n]/g, ' ');
}

/** Extension values: backslash and equals escaped, line breaks as \n and \r. */
export function extensionText(s: string): string {
  return s.replace(/[\\=]/g, (c) => '\\' + c).replace(/\r/g, '\\r').replace(/\n/g, '\\n');
}
