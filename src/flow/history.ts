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

/** Appends `sym` to the packed history unless already present (seenMask tracks presence). */
export function historyAppend(packed: number, seenMask: number, sym: number): { packed: number; seen: number } | null {
  const bit = 1 << sym;
  if (seenMask & bit) return null;
  const len = popcount(seenMask);
  if (len >= MAX_LEN) return { packed, seen: seenMask | bit };
  return { packed: packed + (sym + 1) * Math.pow(2, BITS * len), seen: seenMask | bit };
}

export function historyText(packed: number): string {
  let s = '';
  let p = packed;
  while (p > 0) {
    const code = (p % (1 << BITS)) - 1;
    p = Math.floor(p / (1 << BITS));
    if (code < 0 || code >= SYMBOLS) break;
    const l = LETTERS[code % LETTERS.length];
    s += code < LETTERS.length ? l : l.toLowerCase();
  }
  return s;
}

function popcount(x: number): number {
  let n = 0;
  while (x) {
    x &= x - 1;
    n++;
  }
  return n;
}

export interface ConnFacts {
  synC: boolean; // client sent a SYN
  synAckS: boolean; // server sent a SYN-ACK
  established: boolean;
  finC: boolean;
  finS: boolean;
  rstC: boolean;
  rstS: boolean;
}

/** Zeek's conn_state from what each side did. */
export function connState(f: ConnFacts): string {
  if (f.synC && !f.synAckS) {
    if (f.rstS) return 'REJ';
    if (f.rstC) return 'RSTOS0';
    if (f.finC) return 'SH';
    return 'S0';
  }
  if (!f.synC && f.synAckS && !f.established) {
    if (f.rstS) return 'RSTRH';
    if (f.finS) return 'SHR';
    return 'OTH';
  }
  if (!f.established) return 'OTH';
  if (f.rstC) return 'RSTO';
  if (f.rstS) return 'RSTR';
  if (f.finC && f.finS) return 'SF';
  if (f.finC) return 'S2';
  if (f.finS) return 'S3';
  return 'S1';
}
