/**
 * Zeek-style connection history, packed into numbers so a flow table row stays small.
 * Letters (upper case = client/originator, lower case = server/responder), each recorded once
 * per direction in order of first occurrence, as Zeek does for these letters:
 *   S SYN without ACK, H SYN+ACK, A pure ACK, D payload, F FIN, R RST, Q SYN with FIN or RST.
 */
const LETTERS = 'SHADFRQ';
export const H = { S: 0, H: 1, A: 2, D: 3, F: 4, R: 5, Q: 6 } as const;
const SYMBOLS = LETTERS.length * 2; // client and server variants
const BITS = 4; // 14 symbols fit in 4 bits
const MAX_LEN = 13; // 13 × 4 = 52 bits: exact in a double

/** Symbol code for letter index `l` sent by the client (true) or the server. */
export function historySymbol(l: number, fromClient: boolean): number {
  return fromClient ? l : l + LETTERS.length;
}

// 16^i for each position, and the number of set bits of every 14-bit mask: table look-ups
// instead of Math.pow and a bit-count loop on every new letter.
const PLACE = Float64Array.from({ length: MAX_LEN }, (_, i) => Math.pow(2, BITS * i));
const LENGTH = bitCounts(1 << SYMBOLS);

/** The packed history with `sym` appended, given the symbols already present (`seenMask`). */
export function historyAppend(packed: number, seenMask: number, sym: number): number {
  const len = LENGTH[seenMask & ((1 << SYMBOLS) - 1)];
  return len >= MAX_LEN ? packed : packed + (sym + 1) * PLACE[len];
}

// Symbol code → its letter: client upper case, server lower case.
const SYMBOL_TEXT = [...LETTERS, ...LETTERS.toLowerCase()];
// Connections share few distinct histories (a run of web traffic has a few dozen), so each text
// is built once and every close event after it gets the same string: no letter-by-letter
// concatenation per close. Bounded, as a capture of odd traffic could have many.
const TEXT = new Map<number, string>();
const TEXT_CACHE_MAX = 4096;

export function historyText(packed: number): string {
  let s = TEXT.get(packed);
  if (s === undefined) {
    s = buildHistoryText(packed);
    if (TEXT.size < TEXT_CACHE_MAX) TEXT.set(packed, s);
  }
  return s;
}

function buildHistoryText(packed: number): string {
  let s = '';
  let p = packed;
  while (p > 0) {
    const code = (p % (1 << BITS)) - 1;
    p = Math.floor(p / (1 << BITS));
    if (code < 0 || code >= SYMBOLS) break;
    s += SYMBOL_TEXT[code];
  }
  return s;
}

/**
 * The number of set bits of every integer below `n`, each from its half's count: a loop over a
 * typed array, as this runs at start-up (Array.from with a callback took ~6 ms of every CLI run).
 */
function bitCounts(n: number): Uint8Array {
  const counts = new Uint8Array(n);
  for (let m = 1; m < n; m++) counts[m] = counts[m >> 1] + (m & 1);
  return counts;
}

/**
 * Zeek's conn_state from what each side did: the client's SYN, the server's SYN-ACK, a completed
 * handshake, and FIN/RST per side.
 */
export function connState(synC: boolean, synAckS: boolean, established: boolean, finC: boolean, finS: boolean, rstC: boolean, rstS: boolean): string {
  if (synC && !synAckS) {
    if (rstS) return 'REJ';
    if (rstC) return 'RSTOS0';
    if (finC) return 'SH';
    return 'S0';
  }
  if (!synC && synAckS && !established) {
    if (rstS) return 'RSTRH';
    if (finS) return 'SHR';
    return 'OTH';
  }
  if (!established) return 'OTH';
  if (rstC) return 'RSTO';
  if (rstS) return 'RSTR';
  if (finC && finS) return 'SF';
  if (finC) return 'S2';
  if (finS) return 'S3';
  return 'S1';
}
