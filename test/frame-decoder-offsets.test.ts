import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { lastValueFrom, toArray } from 'rxjs';
import { readCapture } from '../src/capture/pcap-reader';
import { FrameDecoder, LinkType } from '../src/decode/frame-decoder';
import { CAPTURES, filesUnder, SHARED_ZEEK } from './helpers/run';
import { rng } from './helpers/rng';
import { ethernet, ipv4, ipv6, tcpHeader, udp } from './helpers/packets';

/**
 * decodeFrame reads a frame in place inside a larger buffer (a chunk of the capture file) with
 * no view of its own: it must give exactly what decoding the frame's own bytes gives, and never
 * read past the frame's end into what follows it. Every frame of the fixtures (and of the Zeek
 * traces when present), crafted tunnel frames, and seeded damaged variants of all of them, are
 * decoded both ways and compared; the bytes around the frame are random.
 */

interface Frame {
  linkType: number;
  data: Buffer;
}

function crafted(): Frame[] {
  const seg = tcpHeader({ sport: 40000, dport: 3389, flags: 0x18, seq: 11, ack: 12, payload: 7 });
  const inner = ipv4(6, seg, '10.0.0.1', '10.0.0.2');
  const gre = ipv4(47, Buffer.concat([Buffer.from([0, 0, 0x08, 0x00]), inner]), '1.1.1.1', '2.2.2.2');
  const vxlan = ipv4(17, udp(5555, 4789, Buffer.concat([Buffer.alloc(8), ethernet(0x0800, inner)])), '1.1.1.1', '2.2.2.2');
  const gtp = ipv4(17, udp(2152, 2152, Buffer.concat([Buffer.from([0x30, 0xff, 0, inner.length, 0, 0, 0, 1]), inner])), '1.1.1.1', '2.2.2.2');
  const ipip = ipv4(4, inner, '1.1.1.1', '2.2.2.2');
  const sixInFour = ipv4(41, ipv6(6, seg), '1.1.1.1', '2.2.2.2');
  const icmp = ipv4(1, Buffer.concat([Buffer.from([3, 13, 0, 0, 0, 0, 0, 0]), inner.subarray(0, 28)]), '10.0.0.254', '10.0.0.1');
  const whole = tcpHeader({ sport: 40000, dport: 80, flags: 0x02, seq: 1, payload: 40 });
  const frag1 = ipv4(6, whole.subarray(0, 16), '10.0.0.1', '10.0.0.2', { id: 9, fragWord: 0x2000 });
  const frag2 = ipv4(6, whole.subarray(16), '10.0.0.1', '10.0.0.2', { id: 9, fragWord: 2 });
  const sll2 = Buffer.concat([Buffer.from([0x08, 0x00]), Buffer.alloc(18), inner]);
  const loop = Buffer.concat([Buffer.from([2, 0, 0, 0]), inner]);
  const mpls = Buffer.concat([Buffer.from([0, 0, 0x11, 0x40]), inner]);
  return [
    ...[gre, vxlan, gtp, ipip, sixInFour, icmp, frag1, frag2].map((p) => ({ linkType: LinkType.ETHERNET, data: ethernet(0x0800, p) })),
    { linkType: LinkType.ETHERNET, data: ethernet(0x8847, mpls) },
    { linkType: LinkType.ETHERNET, data: ethernet(0x86dd, ipv6(6, seg)) },
    { linkType: LinkType.ETHERNET, data: ethernet(0x0800, inner, [{ tpid: 0x88a8, vid: 10 }, { tpid: 0x8100, vid: 20 }]) },
    { linkType: LinkType.LINUX_SLL2, data: sll2 },
    { linkType: LinkType.NULL, data: loop },
    { linkType: LinkType.RAW, data: inner },
  ];
}

async function captureFrames(path: string, limit: number): Promise<Frame[]> {
  const frames = await lastValueFrom(readCapture(path).pipe(toArray())).catch(() => []);
  return frames.slice(0, limit).map((f) => ({ linkType: f.linkType, data: Buffer.from(f.data) }));
}

/** Damaged variants: cut short, bytes flipped in the headers, or both. */
function variants(f: Frame, r: (n: number) => number): Frame[] {
  const out: Frame[] = [f];
  const cut = r(f.data.length + 1);
  out.push({ linkType: f.linkType, data: f.data.subarray(0, cut) });
  const flipped = Buffer.from(f.data);
  for (let k = 0; k < 3 && flipped.length > 0; k++) flipped[r(Math.min(flipped.length, 96))] ^= 1 + r(255);
  out.push({ linkType: f.linkType, data: flipped.length ? flipped : f.data });
  out.push({ linkType: f.linkType, data: flipped.subarray(0, r(flipped.length + 1)) });
  return out;
}

function compareBothWays(frames: Frame[], seed: number): string[] {
  const r = rng(seed);
  const own = new FrameDecoder({ sensor: 's' });
  const inPlace = new FrameDecoder({ sensor: 's' });
  const problems: string[] = [];
  let n = 0;
  for (const base of frames) {
    for (const f of variants(base, r)) {
      n++;
      const pre = r(40);
      const post = 1 + r(40);
      const chunk = Buffer.alloc(pre + f.data.length + post);
      for (let i = 0; i < chunk.length; i++) chunk[i] = r(256);
      f.data.copy(chunk, pre);
      const a = own.decodeBytes(f.linkType, Buffer.from(f.data), 1_700_000_000_000_000 + n, n);
      const b = inPlace.decodeFrame(f.linkType, chunk, pre, pre + f.data.length, 1_700_000_000_000_000 + n, n);
      if (JSON.stringify(a) !== JSON.stringify(b) || own.lastSkipReason !== inPlace.lastSkipReason) {
        problems.push(`frame ${n} (${f.data.length} bytes, link ${f.linkType}): ${JSON.stringify(a) ?? own.lastSkipReason} vs ${JSON.stringify(b) ?? inPlace.lastSkipReason}`);
      }
    }
  }
  return problems;
}

describe('FrameDecoder.decodeFrame: a frame decoded in place equals the frame decoded on its own', () => {
  test('crafted tunnels, link types, fragments and ICMP quotes, and damaged variants of each', () => {
    const frames = crafted();
    const all = Array.from({ length: 50 }, () => frames).flat();
    expect(compareBothWays(all, 1)).toEqual([]);
  });

  test('every frame of the fixture captures, and damaged variants', async () => {
    const names = readdirSync(CAPTURES).filter((f) => f.endsWith('.pcap.gz'));
    const frames = (await Promise.all(names.map((n) => captureFrames(join(CAPTURES, n), 20_000)))).flat();
    expect(frames.length).toBeGreaterThan(1000);
    expect(compareBothWays(frames, 2)).toEqual([]);
  });

  const zeek = existsSync(SHARED_ZEEK);
  (zeek ? test : test.skip)('the Zeek traces (read in place; first 1000 frames of each)', async () => {
    const files = filesUnder(SHARED_ZEEK).filter((f) => /\.(pcap|pcapng|cap)(\.gz)?$/.test(f));
    const problems: string[] = [];
    for (const [i, f] of files.entries()) problems.push(...compareBothWays(await captureFrames(f, 1000), 100 + i).map((p) => `${f}: ${p}`));
    expect(problems.slice(0, 10)).toEqual([]);
  }, 300_000);
});
