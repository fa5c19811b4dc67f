import type { CapturedFrame } from '../capture/pcap-reader';
import type { PacketRecord } from '../model/packet-record';
import { IpReassembler } from './ip-reassembly';
import { AddressText } from './ip-text';
import { u16be, u32be } from '../util/byte-read';

/**
 * Decodes captured frames down to the TCP segment, through the link layers and tunnels sensors
 * see on mirrored traffic. Never throws on packet content: a frame that is not TCP, or cannot be
 * decoded, returns null and is counted under a reason in `skipped`.
 */

/** LINKTYPE_* values (https://www.tcpdump.org/linktypes.html). */
export const LinkType = {
  NULL: 0,
  ETHERNET: 1,
  FDDI: 10,
  RAW_OPENBSD: 12,
  RAW_BSDOS: 14,
  PPP: 9,
  PPP_HDLC: 50,
  RAW: 101,
  LOOP: 108,
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  NFLOG: 239,
  LINUX_SLL2: 276,
} as const;

const MAX_NESTING = 8; // tunnels inside tunnels; beyond this a frame is treated as undecodable

const UDP_VXLAN = 4789;
const UDP_GENEVE = 6081;
const UDP_TEREDO = 3544;
const UDP_GTPU = 2152;
const UDP_AYIYA = 5072;
const UDP_GRE = 4754; // GRE-in-UDP, RFC 8086

/** A UDP port one of the tunnels above is decoded on. */
function isTunnelPort(port: number): boolean {
  return port === UDP_VXLAN || port === UDP_GENEVE || port === UDP_TEREDO || port === UDP_GTPU || port === UDP_AYIYA || port === UDP_GRE;
}

export interface DecoderOptions {
  /** Sensor id stamped on every record. */
  readonly sensor?: string;
}

export class FrameDecoder {
  /** Frames that produced no PacketRecord, by reason (e.g. "not-tcp:udp", "truncated:tcp"). */
  readonly skipped = new Map<string, number>();
  /** Frames that produced a PacketRecord. */
  decoded = 0;
  /** Why the last frame produced no record (null when it produced one). */
  lastSkipReason: string | null = null;

  private readonly sensor: string | undefined;
  private readonly reassembler = new IpReassembler();
  private readonly addressText = new AddressText();
  // Per-frame scratch: set while walking the headers, read when the TCP header is reached.
  private ts = 0;
  private frameNo = 0;
  private vlan: number | undefined;
  private result: PacketRecord | null = null;
  /**
   * End of the bytes the current header may use: the frame's end, narrowed to a datagram's end
   * when a tunnel's payload is decoded. Offsets stay absolute in the buffer, so no header walk
   * needs a view of its own (each step below is a tail call: nothing reads `lim` after it).
   */
  private lim = 0;

  constructor(options: DecoderOptions = {}) {
    this.sensor = options.sensor;
  }

  decode(f: CapturedFrame): PacketRecord | null {
    return this.decodeFrame(f.linkType, f.data, 0, f.data.length, f.ts, f.frame);
  }

  /**
   * Decodes the frame in `buf[start, end)` (e.g. a record inside a chunk of a capture file, with
   * no view made of it). The record's own fields are copied out: `buf` may be reused afterwards.
   */
  decodeFrame(linkType: number, buf: Buffer, start: number, end: number, ts: number, frame: number): PacketRecord | null {
    this.ts = ts;
    this.frameNo = frame;
    this.vlan = undefined;
    this.result = null;
    this.lim = end;
    const reason = this.link(linkType, buf, start);
    if (this.result) {
      this.decoded++;
      this.lastSkipReason = null;
      return this.result;
    }
    this.lastSkipReason = reason ?? 'not-tcp';
    this.skip(this.lastSkipReason);
    return null;
  }

  /** Decodes one frame of the given link type from raw bytes (e.g. a pcap-record Kafka message). */
  decodeBytes(linkType: number, data: Buffer, ts: number, frame?: number): PacketRecord | null {
    return this.decodeFrame(linkType, data, 0, data.length, ts, frame ?? 0);
  }

  /** Total frames skipped. */
  get skippedTotal(): number {
    let n = 0;
    for (const v of this.skipped.values()) n += v;
    return n;
  }

  private skip(reason: string): void {
    this.skipped.set(reason, (this.skipped.get(reason) ?? 0) + 1);
  }

  // Each step returns undefined when it produced a record, or the reason it did not.

  private link(linkType: number, b: Buffer, s: number): string | undefined {
    switch (linkType) {
      case LinkType.ETHERNET:
        return this.ethernet(b, s, 0);
      case LinkType.NULL:
      case LinkType.LOOP: {
        if (this.lim < s + 4) return 'truncated:loopback';
        // BSD loopback stores the family in the capturing host's byte order; accept both.
        let fam = b.readUInt32LE(s);
        if (fam > 0xffff || linkType === LinkType.LOOP) fam = b.readUInt32BE(s);
        if (fam === 2) return this.ipv4(b, s + 4, 0);
        if (fam === 24 || fam === 28 || fam === 30 || fam === 10) return this.ipv6(b, s + 4, 0);
        return 'not-ip:loopback-family-' + fam;
      }
      case LinkType.RAW:
      case LinkType.RAW_OPENBSD:
      case LinkType.RAW_BSDOS:
        return this.ipAny(b, s, 0);
      case LinkType.IPV4:
        return this.ipv4(b, s, 0);
      case LinkType.IPV6:
        return this.ipv6(b, s, 0);
      case LinkType.LINUX_SLL:
        if (this.lim < s + 16) return 'truncated:sll';
        return this.etherType(b.readUInt16BE(s + 14), b, s + 16, 0);
      case LinkType.LINUX_SLL2:
        if (this.lim < s + 20) return 'truncated:sll2';
        return this.etherType(b.readUInt16BE(s), b, s + 20, 0);
      case LinkType.PPP:
      case LinkType.PPP_HDLC:
        return this.ppp(b, s, 0);
      case LinkType.FDDI:
        // Frame control, destination, source, then 802.2 LLC.
        return this.llc(b, s + 13, 0);
      case LinkType.NFLOG:
        return this.nflog(b, s);
      default:
        return 'unsupported-link:' + linkType;
    }
  }

  private ethernet(b: Buffer, o: number, depth: number): string | undefined {
    if (this.lim < o + 14) return 'truncated:ethernet';
    const type = u16be(b, o + 12);
    if (type <= 1500) return this.llc(b, o + 14, depth);
    return this.etherType(type, b, o + 14, depth);
  }

  private llc(b: Buffer, o: number, depth: number): string | undefined {
    if (this.lim < o + 3) return 'truncated:llc';
    if (b[o] === 0xaa && b[o + 1] === 0xaa && b[o + 2] === 0x03) {
      if (this.lim < o + 8) return 'truncated:snap';
      return this.etherType(b.readUInt16BE(o + 6), b, o + 8, depth);
    }
    return 'not-ip:llc';
  }

  private etherType(type: number, b: Buffer, o: number, depth: number): string | undefined {
    if (depth > MAX_NESTING) return 'undecodable:nesting';
    for (;;) {
      switch (type) {
        case 0x0800:
          return this.ipv4(b, o, depth);
        case 0x86dd:
          return this.ipv6(b, o, depth);
        case 0x8100:
        case 0x88a8:
        case 0x9100:
        case 0x9200:
          // 802.1Q / 802.1ad (QinQ) tags: keep the innermost VLAN id.
          if (this.lim < o + 4) return 'truncated:vlan';
          this.vlan = b.readUInt16BE(o) & 0x0fff;
          type = b.readUInt16BE(o + 2);
          o += 4;
          if (type <= 1500) return this.llc(b, o, depth);
          continue;
        case 0x8847:
        case 0x8848:
          return this.mpls(b, o, depth);
        case 0x8864: {
          // PPPoE session: 6-byte header, then a PPP protocol field.
          if (this.lim < o + 8) return 'truncated:pppoe';
          return this.pppProtocol(b.readUInt16BE(o + 6), b, o + 8, depth);
        }
        case 0x88e7:
          // 802.1ah provider backbone bridging: I-TAG, then the customer's Ethernet frame.
          return this.ethernet(b, o + 4, depth + 1);
        case 0x8903:
          // Cisco FabricPath: 2 bytes of FTAG/TTL, then the classic Ethernet frame.
          return this.ethernet(b, o + 2, depth + 1);
        case 0x8926:
          // VN-Tag: 4 bytes, then the next EtherType.
          if (this.lim < o + 6) return 'truncated:vntag';
          type = b.readUInt16BE(o + 4);
          o += 6;
          continue;
        case 0x0806:
          return 'not-ip:arp';
        default:
          return 'not-ip:ethertype-0x' + type.toString(16).padStart(4, '0');
      }
    }
  }

  /** An 802.11 data frame: MAC header, then LLC/SNAP (A-MSDU: the first subframe). */
  private ieee80211(b: Buffer, o: number, depth: number): string | undefined {
    if (this.lim < o + 24) return 'truncated:802.11';
    const fc0 = b[o];
    const fc1 = b[o + 1];
    if (((fc0 >> 2) & 3) !== 2) return 'not-ip:802.11-management';
    if (fc1 & 0x40) return 'undecodable:802.11-protected';
    let p = o + 24;
    if ((fc1 & 3) === 3) p += 6; // four-address frame
    let amsdu = false;
    if (fc0 & 0x80) {
      // QoS data: 2-byte QoS control, A-MSDU present bit, optional HT control.
      if (this.lim < p + 2) return 'truncated:802.11';
      amsdu = (b[p] & 0x80) !== 0;
      p += 2;
      if (fc1 & 0x80) p += 4;
    }
    if ((fc0 >> 4) & 4) return 'not-ip:802.11-null';
    if (amsdu) p += 14;
    return this.llc(b, p, depth);
  }

  private mpls(b: Buffer, o: number, depth: number): string | undefined {
    for (;;) {
      if (this.lim < o + 4) return 'truncated:mpls';
      const bottom = b[o + 2] & 0x01;
      o += 4;
      if (bottom) break;
    }
    if (this.lim <= o) return 'truncated:mpls';
    const nibble = b[o] >> 4;
    if (nibble === 4) return this.ipv4(b, o, depth + 1);
    if (nibble === 6) return this.ipv6(b, o, depth + 1);
    // Ethernet pseudowire with a control word (first nibble 0).
    if (nibble === 0) return this.ethernet(b, o + 4, depth + 1);
    return 'undecodable:mpls-payload';
  }

  private ppp(b: Buffer, o: number, depth: number): string | undefined {
    if (this.lim < o + 2) return 'truncated:ppp';
    if (b[o] === 0xff && b[o + 1] === 0x03) o += 2; // HDLC address/control
    if (this.lim < o + 1) return 'truncated:ppp';
    // A protocol field with an odd first byte is compressed to one byte.
    if (b[o] & 1) return this.pppProtocol(b[o], b, o + 1, depth);
    if (this.lim < o + 2) return 'truncated:ppp';
    return this.pppProtocol(b.readUInt16BE(o), b, o + 2, depth);
  }

  private pppProtocol(proto: number, b: Buffer, o: number, depth: number): string | undefined {
    if (proto === 0x0021) return this.ipv4(b, o, depth);
    if (proto === 0x0057) return this.ipv6(b, o, depth);
    return 'not-ip:ppp-0x' + proto.toString(16);
  }

  private nflog(b: Buffer, s: number): string | undefined {
    // Linux NFLOG: 4-byte header, then TLVs (length and type in host order, little-endian in
    // practice); the packet is in TLV type 9 (NFULA_PAYLOAD).
    let o = s + 4;
    while (o + 4 <= this.lim) {
      const len = b.readUInt16LE(o);
      const type = b.readUInt16LE(o + 2);
      if (len < 4) return 'undecodable:nflog';
      if (type === 9) {
        this.lim = Math.min(this.lim, o + len);
        return this.ipAny(b, o + 4, 0);
      }
      o += (len + 3) & ~3;
    }
    return 'not-ip:nflog-no-payload';
  }

  private ipAny(b: Buffer, o: number, depth: number): string | undefined {
    if (this.lim <= o) return 'truncated:ip';
    const v = b[o] >> 4;
    if (v === 4) return this.ipv4(b, o, depth);
    if (v === 6) return this.ipv6(b, o, depth);
    return 'not-ip:version-' + v;
  }

  private ipv4(b: Buffer, o: number, depth: number): string | undefined {
    if (this.lim < o + 20) return 'truncated:ipv4';
    if (b[o] >> 4 !== 4) return 'undecodable:ipv4-version';
    const ihl = (b[o] & 0x0f) * 4;
    if (ihl < 20) return 'undecodable:ipv4-header-length';
    let total = u16be(b, o + 2);
    // Total length 0 happens with TCP segmentation offload captures: use what was captured.
    if (total === 0) total = this.lim - o;
    if (total < ihl) return 'undecodable:ipv4-total-length';
    if (this.lim < o + ihl) return 'truncated:ipv4';
    const fragWord = u16be(b, o + 6);
    const proto = b[o + 9];
    const src = this.addressText.v4(b, o + 12);
    const dst = this.addressText.v4(b, o + 16);
    // Never read past the IP datagram (frames are padded to 60 bytes on Ethernet).
    const end = Math.min(this.lim, o + total);
    if (fragWord & 0x3fff) {
      // A fragment (MF set or offset non-zero): the datagram is decoded when complete.
      const key = src + '|' + dst + '|' + b.readUInt16BE(o + 4) + '|' + proto;
      const whole = this.reassembler.add(key, (fragWord & 0x1fff) * 8, (fragWord & 0x2000) !== 0, b.subarray(o + ihl, end), this.ts);
      if (!whole) return 'ip-fragment:held-for-reassembly';
      return this.transport(proto, whole, 0, whole.length, whole.length, src, dst, depth, 4);
    }
    return this.transport(proto, b, o + ihl, end, o + total - (o + ihl), src, dst, depth, 4);
  }

  private ipv6(b: Buffer, o: number, depth: number): string | undefined {
    if (this.lim < o + 40) return 'truncated:ipv6';
    if (b[o] >> 4 !== 6) return 'undecodable:ipv6-version';
    const payloadLen = b.readUInt16BE(o + 4);
    let next = b[o + 6];
    const src = this.addressText.v6(b, o + 8);
    const dst = this.addressText.v6(b, o + 24);
    let p = o + 40;
    const declaredEnd = payloadLen === 0 ? this.lim : o + 40 + payloadLen; // 0: jumbogram or TSO
    const end = Math.min(this.lim, declaredEnd);
    // Walk extension headers to the upper-layer protocol.
    for (;;) {
      if (next === 0 || next === 43 || next === 60 || next === 135 || next === 139 || next === 140) {
        if (end < p + 8) return 'truncated:ipv6-extension';
        const n = b[p];
        p += (b[p + 1] + 1) * 8;
        next = n;
        continue;
      }
      if (next === 44) {
        if (end < p + 8) return 'truncated:ipv6-fragment';
        const offWord = b.readUInt16BE(p + 2);
        const proto = b[p];
        if ((offWord & 0xfff9) === 0) {
          // An atomic fragment (offset 0, no more fragments): the payload is whole.
          next = proto;
          p += 8;
          continue;
        }
        const key = src + '|' + dst + '|' + b.readUInt32BE(p + 4);
        const whole = this.reassembler.add(key, offWord & 0xfff8, (offWord & 1) !== 0, b.subarray(p + 8, end), this.ts);
        if (!whole) return 'ip-fragment:held-for-reassembly';
        return this.transport(proto, whole, 0, whole.length, whole.length, src, dst, depth, 6);
      }
      if (next === 51) {
        if (end < p + 8) return 'truncated:ipv6-ah';
        const n = b[p];
        p += (b[p + 1] + 2) * 4;
        next = n;
        continue;
      }
      break;
    }
    if (p > end) return 'truncated:ipv6-extension';
    return this.transport(next, b, p, end, declaredEnd - p, src, dst, depth, 6);
  }

  private transport(
    proto: number,
    b: Buffer,
    o: number,
    end: number,
    ipPayloadLen: number,
    src: string,
    dst: string,
    depth: number,
    ipVersion: 4 | 6,
  ): string | undefined {
    switch (proto) {
      case 6:
        return this.tcp(b, o, end, ipPayloadLen, src, dst);
      case 17:
        return this.udp(b, o, end, depth);
      case 47:
        return this.gre(b, o, end, depth);
      case 4:
        this.lim = end;
        return this.ipv4(b, o, depth + 1);
      case 41:
        this.lim = end;
        return this.ipv6(b, o, depth + 1);
      case 1:
        return ipVersion === 4 ? this.icmpError(b, o, end, depth, 4) : 'not-tcp:icmp';
      case 58:
        return ipVersion === 6 ? this.icmpError(b, o, end, depth, 6) : 'not-tcp:icmpv6';
      case 50:
        return 'not-tcp:esp';
      default:
        return 'not-tcp:ip-proto-' + proto;
    }
  }

  private tcp(b: Buffer, o: number, end: number, ipPayloadLen: number, src: string, dst: string): string | undefined {
    if (end < o + 20) return 'truncated:tcp';
    const hlen = (b[o + 12] >> 4) * 4;
    if (hlen < 20) return 'undecodable:tcp-header-length';
    const r: PacketRecord = {
      ts: this.ts,
      src,
      dst,
      sport: u16be(b, o),
      dport: u16be(b, o + 2),
      flags: ((b[o + 12] & 0x0f) << 8) | b[o + 13],
      seq: u32be(b, o + 4),
      ack: u32be(b, o + 8),
      // From the IP length, never the frame length: short frames are padded on the wire.
      len: Math.max(0, ipPayloadLen - hlen),
      win: u16be(b, o + 14),
      frame: this.frameNo,
      // Every record gets every field, in one order (absent ones undefined): one object shape
      // for all, so the tracker's code V8 optimised on the first packets is not thrown away
      // when a VLAN-tagged frame or an ICMP quote comes along.
      vlan: this.vlan,
      sensor: this.sensor,
      icmpQuote: undefined,
    };
    this.result = r;
    return undefined;
  }

  private udp(b: Buffer, o: number, end: number, depth: number): string | undefined {
    if (end < o + 8) return 'truncated:udp';
    const sport = u16be(b, o);
    const dport = u16be(b, o + 2);
    const p = o + 8;
    if (!isTunnelPort(sport) && !isTunnelPort(dport)) return 'not-tcp:udp';
    // The tunnels below decode the datagram's payload: nothing past its end.
    this.lim = end;
    if (depth >= MAX_NESTING) return 'undecodable:nesting';
    if (dport === UDP_VXLAN || sport === UDP_VXLAN) {
      if (end < p + 8) return 'truncated:vxlan';
      return this.ethernet(b, p + 8, depth + 1);
    }
    if (dport === UDP_GENEVE || sport === UDP_GENEVE) {
      if (end < p + 8) return 'truncated:geneve';
      const optLen = (b[p] & 0x3f) * 4;
      const type = u16be(b, p + 2);
      if (type === 0x6558) return this.ethernet(b, p + 8 + optLen, depth + 1);
      return this.etherType(type, b, p + 8 + optLen, depth + 1);
    }
    if (dport === UDP_GTPU || sport === UDP_GTPU) return this.gtpu(b, p, depth);
    if (dport === UDP_TEREDO || sport === UDP_TEREDO) return this.teredo(b, p, depth);
    if (dport === UDP_AYIYA || sport === UDP_AYIYA) return this.ayiya(b, p, depth);
    if (dport === UDP_GRE || sport === UDP_GRE) return this.gre(b, p, end, depth);
    return 'not-tcp:udp';
  }

  private gtpu(b: Buffer, p: number, depth: number): string | undefined {
    if (this.lim < p + 8) return 'truncated:gtp';
    const flags = b[p];
    if (flags >> 5 !== 1 || b[p + 1] !== 0xff) return 'not-tcp:gtp-control';
    let q = p + 8;
    if (flags & 0x07) {
      if (this.lim < q + 4) return 'truncated:gtp';
      let ext = flags & 0x04 ? b[q + 3] : 0;
      q += 4;
      while (ext !== 0) {
        if (this.lim < q + 1) return 'truncated:gtp';
        const len = b[q] * 4;
        if (len === 0 || this.lim < q + len) return 'truncated:gtp';
        ext = b[q + len - 1];
        q += len;
      }
    }
    return this.ipAny(b, q, depth + 1);
  }

  private teredo(b: Buffer, p: number, depth: number): string | undefined {
    // Optional authentication (0x0001) and origin indication (0x0000) headers precede IPv6.
    if (this.lim >= p + 2 && b[p] === 0 && b[p + 1] === 1) {
      if (this.lim < p + 4) return 'truncated:teredo';
      p += 4 + b[p + 2] + b[p + 3] + 9;
    }
    if (this.lim >= p + 2 && b[p] === 0 && b[p + 1] === 0) p += 8;
    if (this.lim <= p || b[p] >> 4 !== 6) return 'not-tcp:teredo';
    return this.ipv6(b, p, depth + 1);
  }

  private ayiya(b: Buffer, p: number, depth: number): string | undefined {
    if (this.lim < p + 8) return 'truncated:ayiya';
    const idLen = 1 << (b[p] >> 4);
    const sigLen = (b[p + 1] >> 4) * 4;
    const next = b[p + 3];
    const q = p + 8 + idLen + sigLen;
    if (next === 41) return this.ipv6(b, q, depth + 1);
    if (next === 4) return this.ipv4(b, q, depth + 1);
    return 'not-tcp:ayiya';
  }

  private gre(b: Buffer, o: number, end: number, depth: number): string | undefined {
    if (end < o + 4) return 'truncated:gre';
    if (depth >= MAX_NESTING) return 'undecodable:nesting';
    const flags = b.readUInt16BE(o);
    const proto = b.readUInt16BE(o + 2);
    const version = flags & 0x7;
    let p = o + 4;
    if (flags & 0x8000) p += 4; // checksum + reserved
    if (flags & 0x2000) p += 4; // key (PPTP: payload length + call id)
    const hasSeq = (flags & 0x1000) !== 0;
    if (hasSeq) p += 4;
    if (version === 1 && flags & 0x0080) p += 4; // PPTP acknowledgement number
    this.lim = end;
    switch (proto) {
      case 0x6558:
        return this.ethernet(b, p, depth + 1);
      case 0x88be:
        // ERSPAN type II carries an 8-byte header (and a GRE sequence number); type I has neither.
        return this.ethernet(b, hasSeq ? p + 8 : p, depth + 1);
      case 0x22eb: {
        // ERSPAN type III: 12-byte header, plus an 8-byte platform subheader when O is set.
        if (end < p + 12) return 'truncated:erspan';
        return this.ethernet(b, p + 12 + (b[p + 11] & 0x01 ? 8 : 0), depth + 1);
      }
      case 0x880b:
        return this.ppp(b, p, depth + 1);
      default:
        // Aruba access points tunnel 802.11 frames to their controller (0x8200..0x9000, as Wireshark).
        if (proto >= 0x8200 && proto <= 0x9000 && (proto & 0xf) === 0) return this.ieee80211(b, p, depth + 1);
        return this.etherType(proto, b, p, depth + 1);
    }
  }

  /**
   * ICMP/ICMPv6 errors quote the offending packet. When it was TCP, the frame belongs to that
   * connection (Wireshark counts it there) but carries no segment of its own.
   */
  private icmpError(b: Buffer, o: number, end: number, depth: number, v: 4 | 6): string | undefined {
    if (end < o + 8) return v === 4 ? 'truncated:icmp' : 'truncated:icmpv6';
    const type = b[o];
    const isError = v === 4 ? type === 3 || type === 4 || type === 5 || type === 11 || type === 12 : type >= 1 && type <= 4;
    if (!isError) return v === 4 ? 'not-tcp:icmp' : 'not-tcp:icmpv6';
    if (depth >= MAX_NESTING) return 'undecodable:nesting';
    const q = o + 8;
    let src: string;
    let dst: string;
    let p: number;
    let next: number;
    if (v === 4) {
      if (end < q + 20 || b[q] >> 4 !== 4) return 'not-tcp:icmp-error';
      const ihl = (b[q] & 0x0f) * 4;
      next = b[q + 9];
      src = this.addressText.v4(b, q + 12);
      dst = this.addressText.v4(b, q + 16);
      p = q + ihl;
    } else {
      if (end < q + 40 || b[q] >> 4 !== 6) return 'not-tcp:icmpv6-error';
      next = b[q + 6];
      src = this.addressText.v6(b, q + 8);
      dst = this.addressText.v6(b, q + 24);
      p = q + 40;
      while ((next === 0 || next === 43 || next === 60) && end >= p + 8) {
        next = b[p];
        p += (b[p + 1] + 1) * 8;
      }
    }
    if (next !== 6) return 'not-tcp:icmp-error';
    const quoted = Math.min(60, end - p);
    if (quoted < 8) return 'truncated:icmp-quote';
    const r: PacketRecord = {
      ts: this.ts,
      src,
      dst,
      sport: b.readUInt16BE(p),
      dport: b.readUInt16BE(p + 2),
      flags: quoted >= 14 ? ((b[p + 12] & 0x0f) << 8) | b[p + 13] : 0,
      seq: b.readUInt32BE(p + 4),
      ack: quoted >= 12 ? b.readUInt32BE(p + 8) : 0,
      len: 0,
      win: undefined,
      frame: this.frameNo,
      vlan: this.vlan,
      sensor: this.sensor,
      icmpQuote: quoted,
    };
    this.result = r;
    return undefined;
  }
}
