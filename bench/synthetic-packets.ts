import type { PacketRecord } from '../src/model/packet-record';

/**
 * HTTP-like connections from many clients; every 50th reuses its 4-tuple soon after. Each has
 * `exchanges` request/response rounds (1: 9 packets a connection, 30: 96).
 */
export function syntheticPackets(connections: number, exchanges = 1): PacketRecord[] {
  const out: PacketRecord[] = [];
  let ts = 1_700_000_000_000_000;
  for (let i = 0; i < connections; i++) {
    const c = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    const s = `192.0.2.${i % 24}`;
    const sport = 32768 + ((i * 7919) % 28000);
    const reuse = i % 50 === 49;
    const rounds = reuse ? 2 : 1;
    for (let r = 0; r < rounds; r++) {
      const isn = (i * 2654435761 + r * 97) >>> 0;
      const sisn = (isn ^ 0x5bd1e995) >>> 0;
      // Object literals of one shape, as the frame decoder makes them.
      const p = (fromClient: boolean, flags: number, seq: number, ack: number, len: number): void => {
        ts += 7;
        out.push({
          ts,
          src: fromClient ? c : s,
          dst: fromClient ? s : c,
          sport: fromClient ? sport : 80,
          dport: fromClient ? 80 : sport,
          flags,
          seq: seq >>> 0,
          ack: ack >>> 0,
          len,
        });
      };
      p(true, 0x02, isn, 0, 0);
      p(false, 0x12, sisn, isn + 1, 0);
      p(true, 0x10, isn + 1, sisn + 1, 0);
      let c2s = isn + 1;
      let s2c = sisn + 1;
      for (let x = 0; x < exchanges; x++) {
        p(true, 0x18, c2s, s2c, 120);
        p(false, 0x18, s2c, c2s + 120, 900);
        p(true, 0x10, c2s + 120, s2c + 900, 0);
        c2s += 120;
        s2c += 900;
      }
      p(true, 0x11, c2s, s2c, 0);
      p(false, 0x11, s2c, c2s + 1, 0);
      p(true, 0x10, c2s + 1, s2c + 1, 0);
    }
  }
  return out;
}

