import type { Endpoint, FlowCloseEvent, FlowOpenEvent, PortCycleEvent, PortPressureEvent, PortReuseEvent, TcpReuseEvent } from '../model/events';
import { eventId, PRODUCT, PRODUCT_VERSION, ruleName, SEVERITY_ID, summary } from './event-facts';
import { snakeCased } from './snake-case';

/**
 * Open Cybersecurity Schema Framework events (OCSF 1.4.0: the first 1.x with the connection's
 * community_uid and flag_history; they also validate against 1.8.0): flow.open / flow.close as Network Activity (class 4001;
 * activity Open, Close, or Reset for an RST close) and port.reuse / port.cycle / port.pressure as
 * Detection Finding (class 2004). Our own fields go under `unmapped.tcpreuse`. reuse.stats and
 * packet annotations have no OCSF class: toOcsf gives null for them (callers count and skip).
 */
export const OCSF_VERSION = '1.4.0';

type Doc = Record<string, unknown>;

/** Fields the OCSF event already carries (endpoints, connection info, traffic, logger): not repeated under unmapped. µs times stay there: OCSF's are ms. */
export const MAPPED: ReadonlySet<string> = new Set(['type', 'sensor', 'client', 'server', 'communityId', 'vlan', 'packets', 'bytes', 'history']);

export const SEVERITY_NAME = ['Unknown', 'Informational', 'Low', 'Medium', 'High'];
const product = { name: PRODUCT, vendor_name: PRODUCT, version: PRODUCT_VERSION };

/** Whether OCSF has a class for the event (flows and alerts; not reuse.stats nor packet annotations). */
export const hasOcsfClass = (e: TcpReuseEvent): boolean =>
  e.type === 'flow.open' || e.type === 'flow.close' || e.type === 'port.reuse' || e.type === 'port.cycle' || e.type === 'port.pressure';

export function toOcsf(e: TcpReuseEvent): Doc | null {
  switch (e.type) {
    case 'flow.open':
    case 'flow.close':
      return networkActivity(e);
    case 'port.reuse':
    case 'port.cycle':
    case 'port.pressure':
      return detectionFinding(e);
    default:
      return null;
  }
}

/** An OCSF event's class, category, activity and severity fields (the same for every event of a kind). */
export function classFields(classUid: number, className: string, categoryUid: number, categoryName: string, activityId: number, activityName: string, severityId: number): Doc {
  return {
    activity_id: activityId,
    activity_name: activityName,
    category_uid: categoryUid,
    category_name: categoryName,
    class_uid: classUid,
    class_name: className,
    type_uid: classUid * 100 + activityId,
    type_name: `${className}: ${activityName}`,
    severity_id: severityId,
    severity: SEVERITY_NAME[severityId],
  };
}

function base(e: TcpReuseEvent, classUid: number, className: string, categoryUid: number, categoryName: string, activityId: number, activityName: string, severityId: number): Doc {
  return {
    ...classFields(classUid, className, categoryUid, categoryName, activityId, activityName, severityId),
    time: Math.floor(e.ts / 1000), // OCSF timestamps are ms since the epoch
    message: summary(e),
    metadata: {
      version: OCSF_VERSION,
      uid: eventId(e),
      product,
      // The sensor that saw the packets, as the first logger on the event's way (OCSF's device is the host profile's).
      loggers: [{ name: e.sensor, product }],
    },
  };
}

function networkActivity(e: FlowOpenEvent | FlowCloseEvent): Doc {
  const [activityId, activityName] = e.type === 'flow.open' ? [1, 'Open'] : e.closedBy === 'rst' ? [3, 'Reset'] : [2, 'Close'];
  const doc = base(e, 4001, 'Network Activity', 4, 'Network Activity', activityId, activityName, SEVERITY_ID.info);
  doc.src_endpoint = endpoint(e.client, e.vlan);
  doc.dst_endpoint = endpoint(e.server, e.vlan);
  const info = connectionInfo(e.client, e.communityId, e.flowId);
  doc.connection_info = info;
  if (e.type === 'flow.close') {
    doc.start_time = Math.floor(e.startTs / 1000);
    doc.end_time = Math.floor(e.endTs / 1000);
    doc.duration = Math.round((e.endTs - e.startTs) / 1000); // ms
    info.flag_history = e.history;
    doc.traffic = {
      packets_out: e.packets.c2s,
      packets_in: e.packets.s2c,
      packets: e.packets.c2s + e.packets.s2c,
      bytes_out: e.bytes.c2s,
      bytes_in: e.bytes.s2c,
      bytes: e.bytes.c2s + e.bytes.s2c,
    };
  }
  doc.unmapped = { tcpreuse: snakeCased(e, MAPPED) };
  return doc;
}

function detectionFinding(e: PortReuseEvent | PortCycleEvent | PortPressureEvent): Doc {
  const severityId = e.type === 'port.cycle' ? SEVERITY_ID.info : SEVERITY_ID[e.severity];
  const doc = base(e, 2004, 'Detection Finding', 2, 'Findings', 1, 'Create', severityId);
  const rule = ruleName(e)!;
  doc.is_alert = e.type !== 'port.cycle';
  doc.status_id = 1;
  doc.status = 'New';
  doc.finding_info = {
    uid: eventId(e),
    title: title(e),
    desc: summary(e),
    types: [rule],
    analytic: { name: rule, type_id: 1, type: 'Rule', uid: rule },
  };
  const evidence: Doc = {};
  if (e.type === 'port.reuse') {
    evidence.src_endpoint = endpoint(e.client, null);
    evidence.dst_endpoint = endpoint(e.server, null);
    evidence.connection_info = connectionInfo(e.client, e.communityId, e.flowId);
  } else {
    evidence.src_endpoint = { ip: e.client };
    if (e.server) evidence.dst_endpoint = endpoint(e.server, null);
  }
  doc.evidences = [evidence];
  doc.unmapped = { tcpreuse: snakeCased(e, MAPPED) };
  return doc;
}

function title(e: PortReuseEvent | PortCycleEvent | PortPressureEvent): string {
  if (e.type === 'port.reuse') return `TCP port reuse (${e.kind}, ${e.severity})`;
  if (e.type === 'port.cycle') return 'Ephemeral port cycle';
  return `Ephemeral port pressure (${e.severity})`;
}

function endpoint(p: Endpoint, vlan: number | null): Doc {
  const out: Doc = { ip: p.ip, port: p.port };
  if (vlan !== null) out.vlan_uid = String(vlan);
  return out;
}

function connectionInfo(client: Endpoint, communityId: string, flowId: string): Doc {
  return { uid: flowId, protocol_num: 6, protocol_name: 'tcp', protocol_ver_id: client.ip.includes(':') ? 6 : 4, community_uid: communityId, direction_id: 0, direction: 'Unknown' };
}
