import { closeSync, openSync, writeSync } from 'node:fs';

/**
 * A pcap of `count` SYNs, each from its own client address (10.0.0.0 + i) and port to one server
 * (192.168.0.1:80), 1 µs apart: every packet opens a new connection and a new client, the worst
 * case for the flow table, the remembered tuples and every per-client table. Written in chunks
 * (3 M SYNs are 210 MB).
 */
export function writeSynFlood(path: string, count: number): void {
  const fd = openSync(path, 'w');
  try {
    const header = Buffer.alloc(24);
    header.writeUInt32LE(0xa1b2c3d4, 0);
    header.writeUInt16LE(2, 4);
    header.writeUInt16LE(4, 6);
    header.writeUInt32LE(65535, 16);
    header.writeUInt32LE(1, 20); // Ethernet
    writeSync(fd, header);
    const frame = Buffer.alloc(54);
    frame.writeUInt16BE(0x0800, 12);
    frame[14] = 0x45; // IPv4, 20-byte header
    frame.writeUInt16BE(40, 16);
    frame[22] = 64; // TTL
    frame[23] = 6; // TCP
    frame.writeUInt32BE(0xc0a80001, 30); // 192.168.0.1
    frame.writeUInt16BE(80, 36);
    frame[46] = 0x50; // 20-byte TCP header
    frame[47] = 0x02; // SYN
    frame.writeUInt16BE(65535, 48);
    const record = 16 + frame.length;
    const chunk = 100_000;
    const buf = Buffer.alloc(record * chunk);
    const t0 = 1_700_000_000_000_000;
    for (let i = 0; i < count; i += chunk) {
      const n = Math.min(chunk, count - i);
      for (let k = 0; k < n; k++) {
        const j = i + k;
        const at = k * record;
        const us = t0 + j;
        buf.writeUInt32LE(Math.floor(us / 1e6), at);
        buf.writeUInt32LE(us % 1e6, at + 4);
        buf.writeUInt32LE(frame.length, at + 8);
        buf.writeUInt32LE(frame.length, at + 12);
        frame.copy(buf, at + 16);
        buf.writeUInt32BE((0x0a000000 + j) >>> 0, at + 16 + 26); // source address
        buf.writeUInt16BE(1024 + (j % 60000), at + 16 + 34); // source port
        buf.writeUInt32BE((j * 7919) >>> 0, at + 16 + 38); // sequence number
      }
      writeSync(fd, buf, 0, n * record);
    }
  } finally {
    closeSync(fd);
  }
}
