/**
 * The packet-decoded message the whole pipeline consumes: one TCP segment, already parsed.
 * This is the JSON/Avro contract with sensors (see schemas/packet-record.avsc).
 */
export interface PacketRecord {
  /** Capture time, microseconds since the Unix epoch (integer). */
  ts: number;
  /** Source address, IPv4 dotted quad or IPv6 text (RFC 5952 form). */
  src: string;
  dst: string;
  sport: number;
  dport: number;
  /** TCP flag bits: FIN=0x01 SYN=0x02 RST=0x04 PSH=0x08 ACK=0x10 URG=0x20 ECE=0x40 CWR=0x80. */
  flags: number;
  /** Raw (absolute) sequence and acknowledgement numbers, uint32. */
  seq: number;
  ack: number;
  /** TCP payload bytes (from the IP length, not the frame length). */
  len: number;
  win?: number;
  /** Innermost 802.1Q VLAN id, when the frame carried one. */
  vlan?: number;
  /** Capture point id; flows are tracked per sensor. */
  sensor?: string;
  /** Frame number in the capture (1-based), when the packet came from a capture file. */
  frame?: number;
  /**
   * Set when this is not a TCP segment but an ICMP/ICMPv6 error quoting one: the number of TCP
   * header bytes quoted. Wireshark counts such frames in the quoted connection's stream when the
   * whole 20-byte header is quoted, and in no stream when only the 8 bytes ICMP guarantees are.
   * Quoted packets never change connection state.
   */
  icmpQuote?: number;
}

export const TcpFlag = {
  FIN: 0x01,
  SYN: 0x02,
  RST: 0x04,
  PSH: 0x08,
  ACK: 0x10,
  URG: 0x20,
  ECE: 0x40,
  CWR: 0x80,
} as const;

/** Thrown (or reported) when a message is not a valid PacketRecord. */
export class PacketRecordError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PacketRecordError';
  }
}

const UINT32_MAX = 0xffffffff;

function checkInt(o: Record<string, unknown>, field: string, min: number, max: number, optional = false): void {
  const v = o[field];
  if (v === undefined || v === null) {
    if (optional) return;
    throw new PacketRecordError(`field "${field}" is missing`);
  }
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new PacketRecordError(`field "${field}" must be an integer in ${min}..${max}, got ${JSON.stringify(v)}`);
  }
}

/**
 * The ranges alone, for a record whose fields already have the right types (integers and
 * strings, as the Avro reader makes them): a few comparisons instead of the generic walk. False
 * means validatePacketRecord will say what is wrong.
 */
export function inRange(p: PacketRecord): boolean {
  return (
    p.ts >= 0 &&
    p.src.length > 0 &&
    p.dst.length > 0 &&
    p.sport >= 0 && p.sport <= 65535 &&
    p.dport >= 0 && p.dport <= 65535 &&
    p.flags >= 0 && p.flags <= 0xfff &&
    p.seq >= 0 && p.seq <= UINT32_MAX &&
    p.ack >= 0 && p.ack <= UINT32_MAX &&
    p.len >= 0 && p.len <= 0xffffff &&
    (p.win === undefined || (p.win >= 0 && p.win <= 0xffff)) &&
    (p.vlan === undefined || (p.vlan >= 0 && p.vlan <= 4095)) &&
    (p.frame === undefined || p.frame >= 0) &&
    (p.icmpQuote === undefined || (p.icmpQuote >= 0 && p.icmpQuote <= 60))
  );
}

/**
 * Validates an untrusted object (decoded JSON, Avro) as a PacketRecord. Returns it typed, or
 * throws a PacketRecordError naming the first offending field.
 */
export function validatePacketRecord(value: unknown): PacketRecord {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new PacketRecordError(`a packet must be an object, got ${Array.isArray(value) ? 'an array' : typeof value}`);
  }
  const o = value as Record<string, unknown>;
  checkInt(o, 'ts', 0, Number.MAX_SAFE_INTEGER);
  for (const f of ['src', 'dst']) {
    if (typeof o[f] !== 'string' || (o[f] as string).length === 0) {
      throw new PacketRecordError(`field "${f}" must be an IPv4 or IPv6 address string, got ${JSON.stringify(o[f])}`);
    }
  }
  checkInt(o, 'sport', 0, 65535);
  checkInt(o, 'dport', 0, 65535);
  checkInt(o, 'flags', 0, 0xfff);
  checkInt(o, 'seq', 0, UINT32_MAX);
  checkInt(o, 'ack', 0, UINT32_MAX);
  checkInt(o, 'len', 0, 0xffffff);
  checkInt(o, 'win', 0, 0xffff, true);
  checkInt(o, 'vlan', 0, 4095, true);
  checkInt(o, 'frame', 0, Number.MAX_SAFE_INTEGER, true);
  checkInt(o, 'icmpQuote', 0, 60, true);
  if (o.sensor !== undefined && o.sensor !== null && typeof o.sensor !== 'string') {
    throw new PacketRecordError(`field "sensor" must be a string, got ${JSON.stringify(o.sensor)}`);
  }
  return o as unknown as PacketRecord;
}
