import { H, historyAppend, historySymbol, historyText } from '../src/flow/history';

/** Packs the letters of a Zeek history string (upper case client, lower case server), as the tracker records them. */
function pack(text: string): number {
  let packed = 0;
  let seen = 0;
  for (const ch of text) {
    const letter = ch.toUpperCase() as keyof typeof H;
    const sym = historySymbol(H[letter], ch === letter);
    if (seen & (1 << sym)) continue; // each letter once per direction
    packed = historyAppend(packed, seen, sym);
    seen |= 1 << sym;
  }
  return packed;
}

describe('historyText', () => {
  test.each(['', 'S', 'ShADFf', 'ShR', 'Dd', 'ShADadFfRrQq', 'hAFaf'])('%j round-trips through the packed form', (text) => {
    expect(historyText(pack(text))).toBe(text);
    // The second time comes from the cache of built texts: the same answer.
    expect(historyText(pack(text))).toBe(text);
  });

  test('past the bound of its cache every text is still built right', () => {
    // 13 letters of 14 symbols in many orders: far more distinct histories than the cache holds.
    const letters = 'SHADFRQshadfrq';
    for (let i = 0; i < 6000; i++) {
      let text = '';
      const used = new Set<string>();
      for (let k = 0; k < 5; k++) {
        const ch = letters[(i * 7 + k * 13 + ((i >> k) & 3)) % letters.length];
        if (!used.has(ch)) {
          used.add(ch);
          text += ch;
        }
      }
      expect(historyText(pack(text))).toBe(text);
    }
  });
});
