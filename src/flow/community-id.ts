import * as crypto from 'node:crypto';

/**
 * Community ID v1 (https://github.com/corelight/community-id-spec): the flow hash Zeek, Suricata,
 * Arkime, Wireshark and Elastic share, so a tcpreuse event joins up with every other sensor's
 * record of the same connection. SHA-1 over seed (2 bytes), the two addresses and ports ordered so
 * the smaller endpoint comes first, protocol and a zero pad byte; base64, prefixed "1:".
 */
export const TCP = 6;

// Node >= 20.12 has the one-shot crypto.hash (a third of createHash's cost on 40 bytes).
const sha1Base64: (b: Uint8Array) => string =
  typeof (crypto as { hash?: unknown }).hash === 'function'
    ? (b) => (crypto as unknown as { hash(alg: string, data: Uint8Array, enc: string): string }).hash('sha1', b, 'base64')
    : (b) => crypto.createHash('sha1').update(b).digest('base64');

const input = Buffer.alloc(2 + 16 + 16 + 2 + 2 + 2);
const addrA = new Uint8Array(16);
const addrB = new Uint8Array(16);

/** The Community ID of a connection between `ipA:portA` and `ipB:portB` (either direction gives the same). */
export function communityId(ipA: string, portA: number, ipB: string, portB: number, seed = 0, proto = TCP): string {
  const lenA = addressBytes(ipA, addrA);
  const lenB = addressBytes(ipB, addrB);
  if (lenA !== lenB) throw new RangeError(`community id: ${ipA} and ${ipB} are not of one address family`);
  let order = 0;
  for (let i = 0; i < lenA && order === 0; i++) order = addrA[i] - addrB[i];
  const aFirst = order < 0 || (order === 0 && portA < portB);
  let at = input.writeUInt16BE(seed & 0xffff, 0);
  input.set(aFirst ? addrA.subarray(0, lenA) : addrB.subarray(0, lenB), at);
  at += lenA;
  input.set(aFirst ? addrB.subarray(0, lenB) : addrA.subarray(0, lenA), at);
  at += lenA;
  input[at++] = proto;
  input[at++] = 0;
  at = input.writeUInt16BE(aFirst ? portA : portB, at);
  at = input.writeUInt16BE(aFirst ? portB : portA, at);
  return '1:' + sha1Base64(input.subarray(0, at));
}

/**
 * An address's bytes from its text (dotted IPv4, or IPv6 with "::" and an optional dotted tail);
 * returns 4 or 16. Throws on text that is neither.
 */
export function addressBytes(text: string, out: Uint8Array): number {
  if (text.indexOf(':') < 0) {
    if (!ipv4(text, out, 0)) throw new RangeError(`community id: not an IP address: ${text}`);
    return 4;
  }
  const groups: number[] = [];
  let gap = -1;
  const parts = text.split(':');
  // "::" at either end splits into an empty first/last part besides the gap's own.
  let i = 0;
  if (parts[0] === '' && parts[1] === '') {
    gap = 0;
    i = 2;
  }
  for (; i < parts.length; i++) {
    const p = parts[i];
    if (p === '') {
      if (gap >= 0 && !(i === parts.length - 1 && parts[i - 1] === '')) throw new RangeError(`community id: not an IP address: ${text}`);
      if (gap < 0) gap = groups.length;
      continue;
    }
    if (i === parts.length - 1 && p.indexOf('.') >= 0) {
      const tail = new Uint8Array(4);
      if (!ipv4(p, tail, 0)) throw new RangeError(`community id: not an IP address: ${text}`);
      groups.push((tail[0] << 8) | tail[1], (tail[2] << 8) | tail[3]);
      continue;
    }
    if (!/^[0-9a-fA-F]{1,4}$/.test(p)) throw new RangeError(`community id: not an IP address: ${text}`);
    groups.push(parseInt(p, 16));
  }
  const missing = 8 - groups.length;
  if (missing < 0 || (gap < 0 && missing !== 0) || (gap >= 0 && missing < 1)) throw new RangeError(`community id: not an IP address: ${text}`);
  const full = gap < 0 ? groups : [...groups.slice(0, gap), ...new Array<number>(missing).fill(0), ...groups.slice(gap)];
  for (let g = 0; g < 8; g++) {
    out[2 * g] = full[g] >> 8;
    out[2 * g + 1] = full[g] & 0xff;
  }
  return 16;
}

function ipv4(text: string, out: Uint8Array, at: number): boolean {
  const q = text.split('.');
  if (q.length !== 4) return false;
  for (let i = 0; i < 4; i++) {
    if (!/^[0-9]{1,3}$/.test(q[i])) return false;
    const v = +q[i];
    if (v > 255) return false;
    out[at + i] = v;
  }
  return true;
}
