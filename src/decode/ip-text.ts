/** Address bytes to the text form flows are keyed on (the same text everywhere, so keys match). */

export function ipv4Text(b: Uint8Array, o: number): string {
  return b[o] + '.' + b[o + 1] + '.' + b[o + 2] + '.' + b[o + 3];
}

/** IPv6 in RFC 5952 canonical form: lower-case, no leading zeros, longest zero run (≥2) as "::". */
export function ipv6Text(b: Uint8Array, o: number): string {
  const g = new Array<number>(8);
  for (let i = 0; i < 8; i++) g[i] = (b[o + 2 * i] << 8) | b[o + 2 * i + 1];
  // IPv4-mapped (::ffff:a.b.c.d) keeps its dotted tail, as inet_ntop prints it.
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    return '::ffff:' + ipv4Text(b, o + 12);
  }
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (x: number): string => x.toString(16);
  if (bestStart < 0) return g.map(hex).join(':');
  const head = g.slice(0, bestStart).map(hex).join(':');
  const tail = g.slice(bestStart + bestLen).map(hex).join(':');
  return head + '::' + tail;
}

const CACHE_SLOTS = 4096; // direct-mapped; a busy link's active addresses mostly fit

/**
 * Address text with a small direct-mapped cache in front: the same few thousand addresses recur
 * packet after packet, so most are formatted once. Handing out the same string object also lets
 * the flow table compare addresses by reference instead of character by character.
 */
export class AddressText {
  private readonly v4Key = new Int32Array(CACHE_SLOTS);
  private readonly v4Text: (string | undefined)[] = new Array(CACHE_SLOTS).fill(undefined);
  private readonly v6Key = new Int32Array(CACHE_SLOTS * 4);
  private readonly v6Text: (string | undefined)[] = new Array(CACHE_SLOTS).fill(undefined);

  v4(b: Uint8Array, o: number): string {
    const a = ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) | 0;
    const slot = slotOf(a);
    const cached = this.v4Text[slot];
    if (cached !== undefined && this.v4Key[slot] === a) return cached;
    const text = ipv4Text(b, o);
    this.v4Key[slot] = a;
    this.v4Text[slot] = text;
    return text;
  }

  v6(b: Uint8Array, o: number): string {
    const w0 = word(b, o);
    const w1 = word(b, o + 4);
    const w2 = word(b, o + 8);
    const w3 = word(b, o + 12);
    const slot = slotOf(w0 ^ Math.imul(w1, 0x9e3779b1) ^ Math.imul(w2, 0x85ebca6b) ^ Math.imul(w3, 0xc2b2ae35));
    const k = slot * 4;
    const keys = this.v6Key;
    const cached = this.v6Text[slot];
    if (cached !== undefined && keys[k] === w0 && keys[k + 1] === w1 && keys[k + 2] === w2 && keys[k + 3] === w3) return cached;
    const text = ipv6Text(b, o);
    keys[k] = w0;
    keys[k + 1] = w1;
    keys[k + 2] = w2;
    keys[k + 3] = w3;
    this.v6Text[slot] = text;
    return text;
  }
}

function word(b: Uint8Array, o: number): number {
  return (b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3];
}

function slotOf(x: number): number {
  const h = Math.imul(x ^ (x >>> 15), 0x2c1b3c6d);
  return (h ^ (h >>> 12)) & (CACHE_SLOTS - 1);
}
