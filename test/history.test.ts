import { H, HISTORY_FLIP, HISTORY_WORD_LETTERS, historySymbol, historyText, historyWordAppend } from '../src/flow/history';

/** Packs the letters of a Zeek history string (upper case client, lower case server) into the tracker's two words. */
function pack(text: string): [number, number] {
  const words: [number, number] = [0, 0];
  [...text].forEach((ch, i) => {
    const letter = ch.toUpperCase() as keyof typeof H;
    const sym = ch === '^' ? HISTORY_FLIP : historySymbol(H[letter], ch === letter);
    const w = i < HISTORY_WORD_LETTERS ? 0 : 1;
    words[w] = historyWordAppend(words[w], i - w * HISTORY_WORD_LETTERS, sym);
  });
  return words;
}

describe('historyText', () => {
  test.each(['', 'S', 'ShADFf', 'ShR', 'Dd', 'ShADadFfRrQq', 'hAFaf', 'ShADTdtWwTIi', 'ShADadTtWwFfRrQqIiTt', '^hADdFaf'])('%j round-trips through the packed form', (text) => {
    expect(historyText(...pack(text))).toBe(text);
    // The second time comes from the cache of built texts: the same answer.
    expect(historyText(...pack(text))).toBe(text);
  });

  test('past the bound of its cache every text is still built right', () => {
    // Letters of all 20 symbols in many orders: far more distinct histories than the cache holds.
    const letters = 'SHADFRQTWIshadfrqtwi';
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
      expect(historyText(...pack(text))).toBe(text);
    }
  });
});
