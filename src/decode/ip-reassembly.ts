/**
 * IP fragment reassembly, as Wireshark does it by default: the upper layer (TCP) is decoded in the
 * frame that completes the datagram. Bounded: at most `maxDatagrams` in progress, each dropped
 * `timeoutUs` after its first fragment (RFC 791 suggests 15 s; Linux uses 30 s).
 */
interface Pending {
  firstTs: number;
  /** Payload length, known once the last fragment (MF clear) arrived; -1 before. */
  total: number;
  parts: { off: number; data: Buffer }[];
}

export class IpReassembler {
  private readonly pending = new Map<string, Pending>();
  /** Datagrams given up on (timed out or pushed out by the limit). */
  dropped = 0;

  constructor(
    private readonly maxDatagrams = 4096,
    private readonly timeoutUs = 30_000_000,
  ) {}

  /** Adds a fragment; returns the whole payload when this fragment completes it, else null. */
  add(key: string, off: number, more: boolean, data: Buffer, ts: number): Buffer | null {
    this.expire(ts);
    let p = this.pending.get(key);
    if (!p) {
      if (this.pending.size >= this.maxDatagrams) {
        const oldest = this.pending.keys().next().value as string;
        this.pending.delete(oldest);
        this.dropped++;
      }
      p = { firstTs: ts, total: -1, parts: [] };
      this.pending.set(key, p);
    }
    // Copy: the frame's bytes are only valid during this call.
    p.parts.push({ off, data: Buffer.from(data) });
    if (!more) p.total = off + data.length;
    if (p.total < 0) return null;
    p.parts.sort((a, b) => a.off - b.off);
    let covered = 0;
    for (const part of p.parts) {
      if (part.off > covered) return null; // a hole remains
      covered = Math.max(covered, part.off + part.data.length);
    }
    if (covered < p.total) return null;
    this.pending.delete(key);
    const whole = Buffer.alloc(p.total);
    for (const part of p.parts) part.data.copy(whole, part.off, 0, Math.min(part.data.length, p.total - part.off));
    return whole;
  }

  private expire(ts: number): void {
    for (const [key, p] of this.pending) {
      if (ts - p.firstTs < this.timeoutUs) break; // insertion order ≈ age order
      this.pending.delete(key);
      this.dropped++;
    }
  }
}
