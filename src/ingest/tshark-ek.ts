import type { PacketRecord } from '../model/packet-record';
import { validatePacketRecord } from '../model/packet-record';
import { InputError } from './input-error';

/**
 * `tshark -T ek` input: the Elasticsearch bulk lines tshark prints, one or more per message.
 *
 * tshark names fields differently by version and mode, and all of these are accepted:
 * - full dissection (`-T ek`), 4.0 and earlier 3.x: `layers.tcp.tcp_tcp_srcport` (protocol twice);
 * - full dissection, later releases: `layers.tcp.tcp_srcport`;
 * - selected fields (`-T ek -e tcp.srcport …`): `layers.tcp_srcport`, values in arrays (3.x: bare);
 * - trees nested below a field (`tcp_tcp_flags_tree`) are searched too.
 * Bulk `{"index":…}` lines and packets that are not TCP are skipped and counted, not errors.
 *
 * Sequence numbers: `tcp.seq_raw`/`tcp.ack_raw` are used when present; otherwise `tcp.seq` is
 * taken as is, which is relative unless tshark ran with `-o tcp.relative_sequence_numbers:FALSE`.
 */

export interface EkDecodeResult {
  packets: PacketRecord[];
  /** Lines that carried no TCP packet, by reason ("ek-index", "not-tcp"). */
  skipped: Record<string, number>;
}

type Fields = Map<string, unknown>;

/** Flattens `layers` into field name (dots as underscores, protocol prefix once) → last value. */
function collectFields(layers: Record<string, unknown>): Fields {
  const out: Fields = new Map();
  const visit = (o: Record<string, unknown>): void => {
    for (const [key, v] of Object.entries(o)) {
      if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
        visit(v as Record<string, unknown>);
        continue;
      }
      out.set(normalise(key), v);
    }
  };
  visit(layers);
  return out;
}

/** `tcp_tcp_srcport` → `tcp_srcport`; `ip_ip_src` → `ip_src`; `tcp_srcport` unchanged. */
function normalise(key: string): string {
  const i = key.indexOf('_');
  if (i > 0) {
    const proto = key.slice(0, i + 1);
    if (key.startsWith(proto, i + 1)) return key.slice(i + 1);
  }
  return key;
}

/** Innermost value: tshark lists the outer header's field first when a packet is tunnelled. */
function last(v: unknown): unknown {
  return Array.isArray(v) ? v[v.length - 1] : v;
}

function intField(f: Fields, names: string[], required: boolean): number | undefined {
  for (const name of names) {
    const v = last(f.get(name));
    if (v === undefined || v === null) continue;
    const n = typeof v === 'number' ? v : typeof v === 'boolean' ? Number(v) : Number(String(v));
    if (!Number.isFinite(n)) throw new InputError(`tshark-ek: field ${name.replace('_', '.')} is not a number: ${JSON.stringify(v)}`);
    return n;
  }
  if (required) throw new InputError(`tshark-ek: field ${names[0].replace('_', '.')} is missing`);
  return undefined;
}

/** `frame.time_epoch` ("1726413793.966017000") to µs, exactly; else the bulk `timestamp` (ms). */
function timestampUs(f: Fields, doc: Record<string, unknown>): number {
  const epoch = last(f.get('frame_time_epoch'));
  if (typeof epoch === 'string' && /^\d+(\.\d+)?$/.test(epoch)) {
    const [s, frac = ''] = epoch.split('.');
    return Number(s) * 1_000_000 + Number((frac + '000000').slice(0, 6));
  }
  if (typeof epoch === 'number') return Math.round(epoch * 1_000_000);
  const ms = Number(doc.timestamp);
  if (doc.timestamp !== undefined && Number.isFinite(ms)) return Math.round(ms) * 1000;
  throw new InputError('tshark-ek: packet has neither frame.time_epoch nor timestamp');
}

function packetOf(doc: Record<string, unknown>, sensor: string | undefined): PacketRecord | null {
  const layers = doc.layers;
  if (layers === null || typeof layers !== 'object') throw new InputError('tshark-ek: line has no "layers" object');
  const f = collectFields(layers as Record<string, unknown>);
  if (!f.has('tcp_srcport')) return null;
  const src = last(f.get('ipv6_src') ?? f.get('ip_src'));
  const dst = last(f.get('ipv6_dst') ?? f.get('ip_dst'));
  if (typeof src !== 'string' || typeof dst !== 'string') throw new InputError('tshark-ek: TCP packet without ip.src/ip.dst or ipv6.src/ipv6.dst');
  // An ICMP error quotes the start of a TCP header, often only the 8 bytes ICMP guarantees: then
  // tshark gives ports (and maybe the sequence number) but no flags. Valid input, not an error.
  const icmp = f.has('icmp_type') || f.has('icmpv6_type');
  const ts = timestampUs(f, doc);
  const sport = intField(f, ['tcp_srcport'], true)!;
  const dport = intField(f, ['tcp_dstport'], true)!;
  const flags = intField(f, ['tcp_flags'], !icmp);
  const seq = intField(f, ['tcp_seq_raw', 'tcp_seq'], !icmp);
  const p: PacketRecord = {
    ts,
    src,
    dst,
    sport,
    dport,
    flags: flags ?? 0,
    seq: seq ?? 0,
    ack: intField(f, ['tcp_ack_raw', 'tcp_ack'], false) ?? 0,
    len: intField(f, ['tcp_len'], false) ?? 0,
  };
  const win = intField(f, ['tcp_window_size_value'], false);
  if (win !== undefined) p.win = win;
  const vlan = intField(f, ['vlan_id'], false);
  if (vlan !== undefined) p.vlan = vlan;
  const frame = intField(f, ['frame_number'], false);
  if (frame !== undefined) p.frame = frame;
  if (sensor !== undefined) p.sensor = sensor;
  // An ICMP error quoting a TCP header: counted in the quoted connection, never changes its state;
  // a quote without flags or sequence number is a partial header (no stream, as in Wireshark).
  if (icmp) p.icmpQuote = flags === undefined || seq === undefined ? 8 : Math.min(60, intField(f, ['tcp_hdr_len'], false) ?? 8);
  try {
    return validatePacketRecord(p);
  } catch (err) {
    throw new InputError(`tshark-ek: ${(err as Error).message}`);
  }
}

/** Decodes one message: any number of ek lines (bulk index lines included). */
export function decodeTsharkEk(value: Buffer, sensor?: string): EkDecodeResult {
  const result: EkDecodeResult = { packets: [], skipped: {} };
  const skip = (reason: string): void => {
    result.skipped[reason] = (result.skipped[reason] ?? 0) + 1;
  };
  const lines = value.toString('utf8').split('\n');
  let seen = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '') continue;
    seen++;
    let doc: unknown;
    try {
      doc = JSON.parse(line);
    } catch (err) {
      throw new InputError(`tshark-ek: line ${i + 1} is not JSON: ${(err as Error).message}`);
    }
    if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new InputError(`tshark-ek: line ${i + 1} is not a JSON object`);
    const o = doc as Record<string, unknown>;
    if ('index' in o && !('layers' in o)) {
      skip('ek-index');
      continue;
    }
    const p = packetOf(o, sensor);
    if (p) result.packets.push(p);
    else skip('not-tcp');
  }
  if (seen === 0) throw new InputError('tshark-ek: empty message');
  return result;
}
