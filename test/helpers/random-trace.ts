import { ethernet, ipv4, ipv6, tcpHeader, type FrameSpec } from './packets';
import { rng } from './rng';

const F = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10 } as const;

interface Side {
  ip: string;
  port: number;
  isn: number;
  next: number;
}

function v6bytes(ip: string): number[] {
  // Only the short forms this generator makes: "2001:db8::N".
  const n = Number(ip.split('::')[1]);
  return [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (n >> 8) & 0xff, n & 0xff];
}

function ipPacket(proto: number, payload: Buffer, src: string, dst: string): Buffer {
  if (!src.includes(':')) return ipv4(proto, payload, src, dst);
  const ip = ipv6(proto, payload);
  Buffer.from(v6bytes(src)).copy(ip, 8);
  Buffer.from(v6bytes(dst)).copy(ip, 24);
  return ip;
}

function frame(src: Side, dst: Side, flags: number, seq: number, ack: number, payload: number, vlan?: number, ecn = 0): Buffer {
  const ip = ipPacket(6, tcpHeader({ sport: src.port, dport: dst.port, flags: flags | ecn, seq: seq >>> 0, ack: ack >>> 0, payload }), src.ip, dst.ip);
  return ethernet(src.ip.includes(':') ? 0x86dd : 0x0800, ip, vlan === undefined ? [] : [{ tpid: 0x8100, vid: vlan }]);
}

/** An ICMP(v6) destination-unreachable from a router, quoting `quote` bytes of a segment from src to dst. */
function icmpError(src: Side, dst: Side, seq: number, quote: number): Buffer {
  const v6 = src.ip.includes(':');
  const quoted = ipPacket(6, tcpHeader({ sport: src.port, dport: dst.port, flags: 0x02, seq: seq >>> 0 }), src.ip, dst.ip);
  const body = Buffer.concat([Buffer.from([v6 ? 1 : 3, v6 ? 4 : 3, 0, 0, 0, 0, 0, 0]), quoted.subarray(0, (v6 ? 40 : 20) + quote)]);
  const router = v6 ? '2001:db8::250' : '10.0.0.250';
  return ethernet(v6 ? 0x86dd : 0x0800, ipPacket(v6 ? 58 : 1, body, router, src.ip));
}

/**
 * A random but TCP-shaped trace over a few 4-tuples, so that they are reused often and in every
 * way: handshakes with new or repeated ISNs, retransmitted SYNs and SYN-ACKs, data both ways,
 * FIN and RST closes from either side, bare RSTs and ACKs with no handshake, a server that sends
 * the SYN, odd SYNs (with data, FIN or RST), ECN/URG/AE flag bits, ICMP errors quoting a segment, VLAN-tagged copies,
 * IPv4 fragments, duplicated frames, long and short gaps and steps back in time. For
 * differential tests against tshark.
 */
export function randomTrace(seed: number, packets: number): FrameSpec[] {
  const r = rng(seed);
  const v6 = r(4) === 0;
  const host = (n: number): string => (v6 ? `2001:db8::${n}` : `10.0.${n >> 8}.${n & 0xff}`);
  // Few tuples: clients 1-2, ports 40000-40002, servers 100-101 on 80/443.
  const tuples: [Side, Side][] = [];
  for (let i = 0; i < 4 + r(4); i++) {
    const c: Side = { ip: host(1 + r(2)), port: 40000 + r(3), isn: 0, next: 0 };
    const s: Side = { ip: host(100 + r(2)), port: [80, 443][r(2)], isn: 0, next: 0 };
    tuples.push([c, s]);
  }
  const out: FrameSpec[] = [];
  let ts = 1_700_000_000_000_000;
  const rand32 = (): number => (r(0x10000) * 0x10000 + r(0x10000)) >>> 0;
  for (let i = 0; i < packets; i++) {
    const gap = r(200);
    // Mostly ms apart, some seconds to minutes, rarely hours (past any idle or memory timeout), and
    // now and then a step back in time (merged or reordered captures).
    ts += gap === 0 ? 3_600_000_000 * (1 + r(6)) : gap === 1 ? -1_000_000 * r(30) : gap < 20 ? 1_000_000 * (1 + r(400)) : 1000 * (1 + r(3000));
    let [c, s] = tuples[r(tuples.length)];
    if (r(12) === 0) [c, s] = [s, c]; // the other side opens, now and then
    const move = r(22);
    // Mirrored traffic may carry a VLAN tag on some copies: Wireshark's TCP conversations ignore it.
    const vlan = r(10) === 0 ? 10 + r(3) : undefined;
    // Flag bits beside SYN/ACK/FIN/RST: ECN (an ECN-setup SYN carries ECE|CWR, as macOS and
    // Linux send it), URG, AE/NS. They must change nothing of how connections are told apart.
    const ecn = r(8) === 0 ? [0xc0, 0x40, 0x80, 0x20, 0x100][r(5)] : 0;
    let f: Buffer;
    if (move >= 20) {
      // An ICMP error quoting the client's segment: 8 bytes of TCP (ports and seq) or the whole header.
      f = icmpError(c, s, r(2) ? c.next : c.isn, r(2) ? 8 : 20);
    } else if (move < 4 && r(8) === 0) {
      // Odd SYNs: with data, with FIN or RST set too.
      if (r(2) || c.isn === 0) c.isn = rand32();
      f = frame(c, s, [F.SYN | F.PSH, F.SYN | F.FIN, F.SYN | F.RST][r(3)], c.isn, 0, r(2) ? 0 : 1 + r(50), vlan, ecn);
      c.next = (c.isn + 1) >>> 0;
    } else if (move < 4) {
      // SYN: a new ISN, or the old one again (retransmission, rebooted client)
      if (r(3) !== 0 || c.isn === 0) c.isn = rand32();
      c.next = (c.isn + 1) >>> 0;
      f = frame(c, s, F.SYN, c.isn, 0, 0, vlan, ecn);
    } else if (move < 7) {
      // SYN-ACK: new or repeated server ISN, acking the client's ISN or something else
      if (r(3) !== 0 || s.isn === 0) s.isn = rand32();
      s.next = (s.isn + 1) >>> 0;
      f = frame(s, c, F.SYN | F.ACK, s.isn, r(5) === 0 ? rand32() : c.next, 0, vlan, ecn);
    } else if (move < 14) {
      // data or a pure ACK, either way, usually in sequence
      const [a, b] = r(2) ? [c, s] : [s, c];
      const len = r(3) === 0 ? 0 : 1 + r(200);
      const seq = r(15) === 0 ? rand32() : a.next;
      f = frame(a, b, F.ACK | (len ? F.PSH : 0), seq, b.next, len, vlan, ecn);
      a.next = (seq + len) >>> 0;
    } else if (move < 17) {
      const [a, b] = r(2) ? [c, s] : [s, c];
      f = frame(a, b, F.FIN | F.ACK, a.next, b.next, 0, vlan, ecn);
      a.next = (a.next + 1) >>> 0;
    } else {
      const [a, b] = r(2) ? [c, s] : [s, c];
      f = frame(a, b, r(2) ? F.RST | F.ACK : F.RST, a.next, r(2) ? b.next : 0, 0, vlan, ecn);
    }
    const fragment = !v6 && vlan === undefined && move >= 7 && move < 14 && r(8) === 0 && f.length > 14 + 20 + 40;
    if (fragment) {
      // An IPv4 datagram in two fragments (now and then the second first): the TCP segment is in
      // the frame that completes it.
      const ip = f.subarray(14);
      const payload = ip.subarray(20);
      const cut = 8 * (1 + r(Math.floor((payload.length - 1) / 8)));
      const id = 1 + r(0xffff);
      const [srcIp, dstIp] = [ip.subarray(12, 16).join('.'), ip.subarray(16, 20).join('.')];
      const first = ethernet(0x0800, ipv4(6, payload.subarray(0, cut), srcIp, dstIp, { id, fragWord: 0x2000 }));
      const second = ethernet(0x0800, ipv4(6, payload.subarray(cut), srcIp, dstIp, { id, fragWord: cut / 8 }));
      const pieces = r(4) === 0 ? [second, first] : [first, second];
      for (const data of pieces) out.push({ ts, data });
    } else {
      out.push({ ts, data: f });
    }
    // Now and then a frame twice (two taps, a SPAN port seeing both directions of a link).
    if (r(40) === 0) out.push({ ts: ts + 1, data: out[out.length - 1].data });
  }
  return out;
}
