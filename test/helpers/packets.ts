/** Builders for test frames and capture files (byte-exact, no external tools). */

export interface TcpSpec {
  src?: string;
  dst?: string;
  sport?: number;
  dport?: number;
  flags?: number;
  seq?: number;
  ack?: number;
  payload?: number;
}

function ip4(a: string): number[] {
  return a.split('.').map(Number);
}

export function tcpHeader(t: TcpSpec): Buffer {
  const h = Buffer.alloc(20 + (t.payload ?? 0));
  h.writeUInt16BE(t.sport ?? 40000, 0);
  h.writeUInt16BE(t.dport ?? 80, 2);
  h.writeUInt32BE(t.seq ?? 1000, 4);
  h.writeUInt32BE(t.ack ?? 0, 8);
  const flags = t.flags ?? 0x02;
  h[12] = (5 << 4) | ((flags >> 8) & 0x0f); // the header length, and the flag bits above CWR (AE/NS)
  h[13] = flags & 0xff;
  h.writeUInt16BE(65535, 14);
  return h;
}

export function ipv4(proto: number, payload: Buffer, src = '10.0.0.1', dst = '10.0.0.2', opts: { id?: number; fragWord?: number } = {}): Buffer {
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h.writeUInt16BE(20 + payload.length, 2);
  h.writeUInt16BE(opts.id ?? 1, 4);
  h.writeUInt16BE(opts.fragWord ?? 0, 6);
  h[8] = 64;
  h[9] = proto;
  Buffer.from(ip4(src)).copy(h, 12);
  Buffer.from(ip4(dst)).copy(h, 16);
  return Buffer.concat([h, payload]);
}

export function ipv6(next: number, payload: Buffer, src: number[] = [0x20, 0x01, 0x0d, 0xb8], dst: number[] = [0x20, 0x01, 0x0d, 0xb9]): Buffer {
  const h = Buffer.alloc(40);
  h[0] = 0x60;
  h.writeUInt16BE(payload.length, 4);
  h[6] = next;
  h[7] = 64;
  Buffer.from(src).copy(h, 8);
  h[23] = 1;
  Buffer.from(dst).copy(h, 24);
  h[39] = 2;
  return Buffer.concat([h, payload]);
}

export function udp(sport: number, dport: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(sport, 0);
  h.writeUInt16BE(dport, 2);
  h.writeUInt16BE(8 + payload.length, 4);
  return Buffer.concat([h, payload]);
}

export function ethernet(type: number, payload: Buffer, tags: { tpid: number; vid: number }[] = []): Buffer {
  const parts: Buffer[] = [Buffer.alloc(12, 0x02)];
  for (const t of tags) {
    const tag = Buffer.alloc(4);
    tag.writeUInt16BE(t.tpid, 0);
    tag.writeUInt16BE(t.vid, 2);
    parts.push(tag);
  }
  const et = Buffer.alloc(2);
  et.writeUInt16BE(type, 0);
  parts.push(et, payload);
  return Buffer.concat(parts);
}

export interface FrameSpec {
  ts: number; // µs
  data: Buffer;
}

/** Classic pcap, either byte order, µs or ns timestamps. */
export function pcapFile(frames: FrameSpec[], opts: { linkType?: number; bigEndian?: boolean; nanos?: boolean } = {}): Buffer {
  const be = opts.bigEndian === true;
  const w32 = (b: Buffer, v: number, o: number): void => void (be ? b.writeUInt32BE(v, o) : b.writeUInt32LE(v, o));
  const w16 = (b: Buffer, v: number, o: number): void => void (be ? b.writeUInt16BE(v, o) : b.writeUInt16LE(v, o));
  const hdr = Buffer.alloc(24);
  w32(hdr, opts.nanos ? 0xa1b23c4d : 0xa1b2c3d4, 0);
  w16(hdr, 2, 4);
  w16(hdr, 4, 6);
  w32(hdr, 262144, 16);
  w32(hdr, opts.linkType ?? 1, 20);
  const parts: Buffer[] = [hdr];
  for (const f of frames) {
    const r = Buffer.alloc(16);
    w32(r, Math.floor(f.ts / 1e6), 0);
    w32(r, opts.nanos ? (f.ts % 1e6) * 1000 : f.ts % 1e6, 4);
    w32(r, f.data.length, 8);
    w32(r, f.data.length, 12);
    parts.push(r, f.data);
  }
  return Buffer.concat(parts);
}

/** pcapng (little-endian) with one interface per entry of `interfaces`; frames name theirs. */
export function pcapngFile(interfaces: { linkType: number; tsresol?: number }[], frames: (FrameSpec & { iface?: number })[]): Buffer {
  const block = (type: number, body: Buffer): Buffer => {
    const pad = (4 - (body.length % 4)) % 4;
    const len = 12 + body.length + pad;
    const b = Buffer.alloc(len);
    b.writeUInt32LE(type, 0);
    b.writeUInt32LE(len, 4);
    body.copy(b, 8);
    b.writeUInt32LE(len, len - 4);
    return b;
  };
  const shb = Buffer.alloc(16);
  shb.writeUInt32LE(0x1a2b3c4d, 0);
  shb.writeUInt16LE(1, 4);
  shb.writeBigInt64LE(-1n, 8);
  const parts: Buffer[] = [block(0x0a0d0d0a, shb)];
  for (const i of interfaces) {
    const body = Buffer.alloc(i.tsresol !== undefined ? 8 + 8 + 4 : 8);
    body.writeUInt16LE(i.linkType, 0);
    body.writeUInt32LE(262144, 4);
    if (i.tsresol !== undefined) {
      body.writeUInt16LE(9, 8);
      body.writeUInt16LE(1, 10);
      body[12] = i.tsresol;
    }
    parts.push(block(1, body));
  }
  for (const f of frames) {
    const res = interfaces[f.iface ?? 0].tsresol ?? 6;
    const ticks = (BigInt(f.ts) * 10n ** BigInt(res)) / 1_000_000n;
    const body = Buffer.alloc(20 + f.data.length);
    body.writeUInt32LE(f.iface ?? 0, 0);
    body.writeUInt32LE(Number(ticks >> 32n), 4);
    body.writeUInt32LE(Number(ticks & 0xffffffffn), 8);
    body.writeUInt32LE(f.data.length, 12);
    body.writeUInt32LE(f.data.length, 16);
    f.data.copy(body, 20);
    parts.push(block(6, body));
  }
  return Buffer.concat(parts);
}
