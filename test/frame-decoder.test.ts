import { FrameDecoder, LinkType } from '../src/decode/frame-decoder';
import { ethernet, ipv4, ipv6, tcpHeader, udp } from './helpers/packets';

const TS = 1_700_000_000_000_000;
const seg = tcpHeader({ sport: 40000, dport: 443, flags: 0x18, seq: 7, ack: 9, payload: 5 });
const decode = (linkType: number, data: Buffer) => {
  const d = new FrameDecoder({ sensor: 's1' });
  return { r: d.decodeBytes(linkType, data, TS, 1), d };
};

describe('FrameDecoder', () => {
  test('Ethernet / IPv4 / TCP: every PacketRecord field', () => {
    const { r } = decode(LinkType.ETHERNET, ethernet(0x0800, ipv4(6, seg, '192.0.2.1', '198.51.100.2')));
    expect(r).toEqual({ ts: TS, src: '192.0.2.1', dst: '198.51.100.2', sport: 40000, dport: 443, flags: 0x18, seq: 7, ack: 9, len: 5, win: 65535, frame: 1, sensor: 's1' });
  });

  test('payload length comes from the IP header, not from Ethernet padding', () => {
    const pure = tcpHeader({ flags: 0x10 });
    const frame = Buffer.concat([ethernet(0x0800, ipv4(6, pure)), Buffer.alloc(6)]); // padded to 60
    expect(decode(LinkType.ETHERNET, frame).r?.len).toBe(0);
  });

  test('QinQ: the innermost VLAN id is kept', () => {
    const f = ethernet(0x0800, ipv4(6, seg), [
      { tpid: 0x88a8, vid: 100 },
      { tpid: 0x8100, vid: 3507 },
    ]);
    expect(decode(LinkType.ETHERNET, f).r?.vlan).toBe(3507);
  });

  test('IPv6 with a hop-by-hop extension header, printed in RFC 5952 form', () => {
    const hbh = Buffer.alloc(8);
    hbh[0] = 6; // next: TCP
    const { r } = decode(LinkType.RAW, ipv6(0, Buffer.concat([hbh, seg])));
    expect(r).toMatchObject({ src: '2001:db8::1', dst: '2001:db9::2', len: 5 });
  });

  test('MPLS, GRE, VXLAN and GTP-U carry the inner TCP conversation', () => {
    const inner = ipv4(6, seg, '10.9.9.1', '10.9.9.2');
    const mpls = Buffer.concat([Buffer.from([0, 0, 0x11, 64]), inner]); // bottom of stack
    const gre = ipv4(47, Buffer.concat([Buffer.from([0, 0, 0x08, 0x00]), inner]), '1.1.1.1', '2.2.2.2');
    const vxlan = ipv4(17, udp(5555, 4789, Buffer.concat([Buffer.alloc(8), ethernet(0x0800, inner)])), '1.1.1.1', '2.2.2.2');
    const gtp = ipv4(17, udp(2152, 2152, Buffer.concat([Buffer.from([0x30, 0xff, 0, inner.length, 0, 0, 0, 1]), inner])), '1.1.1.1', '2.2.2.2');
    for (const f of [ethernet(0x8847, mpls), ethernet(0x0800, gre), ethernet(0x0800, vxlan), ethernet(0x0800, gtp)]) {
      expect(decode(LinkType.ETHERNET, f).r).toMatchObject({ src: '10.9.9.1', dst: '10.9.9.2', sport: 40000 });
    }
  });

  test('an ICMP error quoting a TCP header belongs to the quoted connection', () => {
    const quotedIp = ipv4(6, tcpHeader({ sport: 40000, dport: 3389, flags: 0x02, seq: 77 }), '10.0.0.1', '10.0.0.2');
    const icmp = Buffer.concat([Buffer.from([3, 13, 0, 0, 0, 0, 0, 0]), quotedIp]);
    const full = decode(LinkType.ETHERNET, ethernet(0x0800, ipv4(1, icmp, '10.0.0.254', '10.0.0.1'))).r;
    expect(full).toMatchObject({ src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 3389, icmpQuote: 20 });
    const short = Buffer.concat([Buffer.from([3, 13, 0, 0, 0, 0, 0, 0]), quotedIp.subarray(0, 28)]);
    expect(decode(LinkType.ETHERNET, ethernet(0x0800, ipv4(1, short, '10.0.0.254', '10.0.0.1'))).r?.icmpQuote).toBe(8);
  });

  test('fragments are reassembled; TCP is decoded in the frame that completes the datagram', () => {
    const d = new FrameDecoder();
    const whole = seg; // 25 bytes of TCP
    const first = ethernet(0x0800, ipv4(6, whole.subarray(0, 16), '10.0.0.1', '10.0.0.2', { id: 9, fragWord: 0x2000 }));
    const second = ethernet(0x0800, ipv4(6, whole.subarray(16), '10.0.0.1', '10.0.0.2', { id: 9, fragWord: 2 }));
    expect(d.decodeBytes(LinkType.ETHERNET, first, TS, 1)).toBeNull();
    expect(d.decodeBytes(LinkType.ETHERNET, second, TS, 2)).toMatchObject({ frame: 2, len: 5, sport: 40000 });
    expect(d.skipped.get('ip-fragment:held-for-reassembly')).toBe(1);
  });

  test('non-TCP and undecodable frames are counted by reason, never thrown', () => {
    const d = new FrameDecoder();
    d.decodeBytes(LinkType.ETHERNET, ethernet(0x0806, Buffer.alloc(28)), TS);
    d.decodeBytes(LinkType.ETHERNET, ethernet(0x0800, ipv4(17, udp(53, 53, Buffer.alloc(4)))), TS);
    d.decodeBytes(LinkType.ETHERNET, Buffer.alloc(5), TS);
    d.decodeBytes(LinkType.ETHERNET, ethernet(0x0800, ipv4(6, seg).subarray(0, 30)), TS);
    d.decodeBytes(147, Buffer.alloc(40), TS);
    expect(Object.fromEntries(d.skipped)).toEqual({
      'not-ip:arp': 1,
      'not-tcp:udp': 1,
      'truncated:ethernet': 1,
      'truncated:tcp': 1,
      'unsupported-link:147': 1,
    });
  });

  test('Linux SLL2, BSD loopback and raw IPv4 link types', () => {
    const ip = ipv4(6, seg);
    const sll2 = Buffer.concat([Buffer.from([0x08, 0x00]), Buffer.alloc(18), ip]);
    const loop = Buffer.concat([Buffer.from([2, 0, 0, 0]), ip]);
    expect(decode(LinkType.LINUX_SLL2, sll2).r?.sport).toBe(40000);
    expect(decode(LinkType.NULL, loop).r?.sport).toBe(40000);
    expect(decode(LinkType.IPV4, ip).r?.sport).toBe(40000);
  });
});
