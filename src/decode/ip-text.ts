/** Address bytes to the text form flows are keyed on (the same text everywhere, so keys match). */

export function ipv4Text(b: Uint8Array, o: number): string {
  return b[o] + '.' + b[o + 1] + '.' + b[o + 2] + '.' + b[o + 3];
}

const HEX: string[] = Array.from({ length: 65536 }, (_, i) => i.toString(16));

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
  if (bestStart < 0) return g.map((x) => HEX[x]).join(':');
  const head = g.slice(0, bestStart).map((x) => HEX[x]).join(':');
  const tail = g.slice(bestStart + bestLen).map((x) => HEX[x]).join(':');
  return head + '::' + tail;
}
