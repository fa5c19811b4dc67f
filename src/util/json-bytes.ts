/**
 * JSON values written straight into a Buffer, as JSON.stringify would write them: the pieces of
 * the hand-written event writers (tcpreuse's own JSON, the ECS and OCSF documents). Each takes
 * the buffer and a position and returns the position after what it wrote; the caller has made
 * room first (see jsonRoom). Writing in place makes no garbage: building a string by
 * concatenation leaves dozens of short-lived pieces per event for the collector, then a copy.
 */

/** Latin-1 bytes of a constant piece (a key with its punctuation, a literal value). */
export const piece = (s: string): Uint8Array => Buffer.from(s, 'latin1');

/** Bytes a string can take as a JSON literal at worst (every UTF-16 unit escaped to \uXXXX), quotes included. */
export const jsonRoom = (s: string): number => 6 * s.length + 2;

const NULL = piece('null');
const BOOLEAN = [piece('false'), piece('true')];

export function lit(b: Buffer, at: number, p: Uint8Array): number {
  if (p.length > 24) {
    b.set(p, at); // a copy in one go pays off over a byte loop for the long fixed parts of the documents
    return at + p.length;
  }
  for (let i = 0; i < p.length; i++) b[at + i] = p[i];
  return at + p.length;
}

/** A number as JSON.stringify writes it: integers digit by digit, others through String(). */
export function num(b: Buffer, at: number, v: number): number {
  if (!Number.isInteger(v) || v > 9007199254740991 || v < -9007199254740991) {
    const s = Number.isFinite(v) ? String(v) : 'null';
    for (let i = 0; i < s.length; i++) b[at + i] = s.charCodeAt(i);
    return at + s.length;
  }
  if (v < 0) {
    b[at++] = 0x2d; // '-'
    v = -v;
  }
  if (v < E8) return digits(b, at, v);
  // Timestamps (16 digits) as two int32 halves: integer division by 10 is a multiply on int32s,
  // where on a double it is a real division per digit.
  const hi = Math.floor(v / E8);
  at = digits(b, at, hi);
  return eightDigits(b, at, v - hi * E8);
}

const E8 = 100_000_000;

/** The decimal digits of an integer 0 ≤ x < 2^31. */
function digits(b: Buffer, at: number, x: number): number {
  let n = 1;
  for (let p = 10; p <= x; p *= 10) n++;
  return digitsEndingAt(b, at + n, x);
}

/** 0 ≤ x < 10^8 as exactly eight digits (leading zeros). */
function eightDigits(b: Buffer, at: number, x: number): number {
  for (let i = at; i < at + 8; i++) b[i] = 0x30; // leading zeros; the digits overwrite the rest
  return digitsEndingAt(b, at + 8, x);
}

/** 0 ≤ x < 10^n as exactly n digits (leading zeros): fractions of a second in time texts. */
export function fixedDigits(b: Buffer, at: number, x: number, n: number): number {
  for (let i = at; i < at + n; i++) b[i] = 0x30;
  return digitsEndingAt(b, at + n, x);
}

/** Writes x's digits backwards, ending just before `end`; returns `end`. */
function digitsEndingAt(b: Buffer, end: number, x: number): number {
  let i = end;
  do {
    const q = (x / 10) | 0;
    b[--i] = 0x30 + (x - q * 10);
    x = q;
  } while (x > 0);
  return end;
}

export function optNum(b: Buffer, at: number, v: number | null): number {
  return v === null ? lit(b, at, NULL) : num(b, at, v);
}

export function bool(b: Buffer, at: number, v: boolean): number {
  return lit(b, at, BOOLEAN[+v]);
}

export function optStr(b: Buffer, at: number, s: string | null): number {
  return s === null ? lit(b, at, NULL) : str(b, at, s);
}

/**
 * A JSON string literal. Printable ASCII without `"` or `\` (the usual case) is copied as it is
 * scanned; anything else is written as JSON.stringify quotes it (escapes, UTF-8, lone surrogates).
 */
export function str(b: Buffer, at: number, s: string): number {
  b[at] = 0x22;
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || c >= 0x7f) return at + b.write(JSON.stringify(s), at, 'utf8');
    b[at + 1 + i] = c;
  }
  b[at + 1 + n] = 0x22;
  return at + n + 2;
}
