/**
 * Zeek-style connection history, packed into numbers so a flow table row stays small.
 * Letters (upper case = client/originator, lower case = server/responder), as Zeek's TCP
 * analyzer records them (TCPSessionAdapter's update_history, update_window, update_last_seq),
 * after a leading ^ when the client is not the sender of the flow's first packet (Zeek flips
 * its roles there, Connection::FlipRoles, when that sender's port is one it knows as a server's):
 *   S SYN without ACK, H SYN+ACK, A pure ACK, D payload (in a packet without SYN/FIN/RST),
 *   F FIN, R RST, Q SYN with FIN or RST, I FIN with RST: once per direction (R again for a RST
 *   at another sequence number);
 *   T a retransmission (payload not past the highest sequence number sent), W a zero window:
 *   at the 1st, 10th, 100th, ... occurrence per direction.
 * Not recorded: C (tcpreuse checks no checksums), G (content gaps need Zeek's reassembly), a ^
 * from a flip later in a connection (a SYN answering a SYN-ACK).
 */
const LETTERS = 'SHADFRQTWI';
export const H = { S: 0, H: 1, A: 2, D: 3, F: 4, R: 5, Q: 6, T: 7, W: 8, I: 9 } as const;
/** Zeek's ^: the roles were flipped (the client is not the first packet's sender). */
export const HISTORY_FLIP = LETTERS.length * 2;
const SYMBOLS = LETTERS.length * 2 + 1; // client and server variants, and ^
const BITS = 5; // 21 symbols (+ 0 for none) fit in 5 bits
/** Letters one number holds: 10 × 5 = 50 bits, exact in a double. A flow keeps two. */
export const HISTORY_WORD_LETTERS = 10;
export const HISTORY_MAX_LETTERS = 2 * HISTORY_WORD_LETTERS;

/** Symbol code for letter index `l` sent by the client (true) or the server. */
export function historySymbol(l: number, fromClient: boolean): number {
  return fromClient ? l : l + LETTERS.length;
}

// 32^i for each position: a table look-up instead of Math.pow on every new letter.
const PLACE = Float64Array.from({ length: HISTORY_WORD_LETTERS }, (_, i) => Math.pow(2, BITS * i));

/** The history word with `sym` at position `index` (0-based, < HISTORY_WORD_LETTERS). */
export function historyWordAppend(word: number, index: number, sym: number): number {
  return word + (sym + 1) * PLACE[index];
}

// Symbol code → its letter: client upper case, server lower case, then ^.
const SYMBOL_TEXT = [...LETTERS, ...LETTERS.toLowerCase(), '^'];
// Connections share few distinct histories (a run of web traffic has a few dozen), so each text
// of up to one word is built once and every close event after it gets the same string: no
// letter-by-letter concatenation per close. Bounded, as a capture of odd traffic could have many.
const TEXT = new Map<number, string>();
const TEXT_CACHE_MAX = 4096;

/** The letters of a flow's two history words. */
export function historyText(first: number, second = 0): string {
  if (second !== 0) return wordText(first) + wordText(second);
  let s = TEXT.get(first);
  if (s === undefined) {
    s = wordText(first);
    if (TEXT.size < TEXT_CACHE_MAX) TEXT.set(first, s);
  }
  return s;
}

function wordText(word: number): string {
  let s = '';
  let p = word;
  while (p > 0) {
    const code = (p % (1 << BITS)) - 1;
    p = Math.floor(p / (1 << BITS));
    if (code < 0 || code >= SYMBOLS) break;
    s += SYMBOL_TEXT[code];
  }
  return s;
}

/** Zeek's ScaledHistoryEntry: a counted letter is written at the 1st, 10th, 100th, ... time. */
export function isHistoryScale(count: number): boolean {
  return count === 1 || count === 10 || count === 100 || count === 1000 || count === 10000;
}
