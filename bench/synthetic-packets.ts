import type { PacketRecord } from '../src/model/packet-record';

/**
 * HTTP-like connections from many clients; every 50th reuses its 4-tuple soon after. Each has
 * `exchanges` request/response rounds (1: 9 packets a connection, 30: 96).
 *
 * The packets are held in columns (typed arrays and one string table) and become PacketRecord
 * objects only when iterated, the way a decoder hands them over: short-lived objects. Millions of
 * objects held for the whole run would instead be re-marked by every full GC, a cost a streaming
 * pipeline never pays, and it would land on whatever is being measured.
 */
export class SyntheticPackets implements Iterable<PacketRecord> {
  /** Packets held (not `length`: RxJS `from` would take the object for an array). */
  readonly count: number;
  private readonly ts: Float64Array;
  private readonly src: Int32Array; // string table indexes
  private readonly dst: Int32Array;
  private readonly sport: Uint16Array;
  private readonly dport: Uint16Array;
  private readonly flags: Uint8Array;
  private readonly seq: Uint32Array;
  private readonly ack: Uint32Array;
  private readonly len: Uint16Array;
  private readonly strings: string[] = [];

  constructor(connections: number, exchanges = 1) {
    const perConnection = 6 + 3 * exchanges;
    const n = Math.ceil(connections * 1.02 + 1) * perConnection;
    this.ts = new Float64Array(n);
    this.src = new Int32Array(n);
    this.dst = new Int32Array(n);
    this.sport = new Uint16Array(n);
    this.dport = new Uint16Array(n);
    this.flags = new Uint8Array(n);
    this.seq = new Uint32Array(n);
    this.ack = new Uint32Array(n);
    this.len = new Uint16Array(n);
    for (let s = 0; s < 24; s++) this.strings.push(`192.0.2.${s}`);
    let k = 0;
    let ts = 1_700_000_000_000_000;
    for (let i = 0; i < connections; i++) {
      const c = this.strings.push(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`) - 1;
      const s = i % 24;
      const sport = 32768 + ((i * 7919) % 28000);
      const rounds = i % 50 === 49 ? 2 : 1; // a reuse of the same tuple soon after
      for (let r = 0; r < rounds; r++) {
        const isn = (i * 2654435761 + r * 97) >>> 0;
        const sisn = (isn ^ 0x5bd1e995) >>> 0;
        const p = (fromClient: boolean, flags: number, seq: number, ack: number, len: number): void => {
          ts += 7;
          this.ts[k] = ts;
          this.src[k] = fromClient ? c : s;
          this.dst[k] = fromClient ? s : c;
          this.sport[k] = fromClient ? sport : 80;
          this.dport[k] = fromClient ? 80 : sport;
          this.flags[k] = flags;
          this.seq[k] = seq >>> 0;
          this.ack[k] = ack >>> 0;
          this.len[k] = len;
          k++;
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
    this.count = k;
  }

  /** Packet `i` as a fresh object (one shape for all, as the frame decoder makes them). */
  packet(i: number): PacketRecord {
    return {
      ts: this.ts[i],
      src: this.strings[this.src[i]],
      dst: this.strings[this.dst[i]],
      sport: this.sport[i],
      dport: this.dport[i],
      flags: this.flags[i],
      seq: this.seq[i],
      ack: this.ack[i],
      len: this.len[i],
    };
  }

  [Symbol.iterator](): Iterator<PacketRecord> {
    let i = 0;
    return {
      next: (): IteratorResult<PacketRecord> => (i < this.count ? { value: this.packet(i++), done: false } : { value: undefined, done: true }),
    };
  }
}
