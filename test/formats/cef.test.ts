import { extensionText, headerText, toCef } from '../../src/formats/cef';
import type { PortReuseEvent, TcpReuseEvent } from '../../src/model/events';
import { eventCorpus } from '../helpers/event-corpus';

/**
 * CEF as the ArcSight spec writes it, read back by a parser written from the spec (not from our
 * writer): header fields split on unescaped pipes, extension pairs on `key=` after a space,
 * `\|` `\\` in the header and `\=` `\\` `\n` `\r` in values unescaped.
 */
function parseCef(line: string): { header: string[]; ext: Record<string, string> } {
  const header: string[] = [];
  let field = '';
  let i = 0;
  for (; i < line.length && header.length < 7; i++) {
    const c = line[i];
    if (c === '\\' && (line[i + 1] === '|' || line[i + 1] === '\\')) field += line[++i];
    else if (c === '|') {
      header.push(field);
      field = '';
    } else field += c;
  }
  const ext: Record<string, string> = {};
  // A key is a run of word characters followed by an unescaped '=' at the start or after a space.
  const rest = line.slice(i);
  const keys = [...rest.matchAll(/(?:^| )([A-Za-z0-9_]+)=/g)].filter((m) => !isEscaped(rest, m.index! + m[0].length - 1));
  keys.forEach((m, k) => {
    const start = m.index! + m[0].length;
    const end = k + 1 < keys.length ? keys[k + 1].index! : rest.length;
    ext[m[1]] = rest.slice(start, end).replace(/\\(.)/g, (_, ch: string) => (ch === 'n' ? '\n' : ch === 'r' ? '\r' : ch));
  });
  return { header, ext };
}

function isEscaped(s: string, at: number): boolean {
  let n = 0;
  for (let j = at - 1; j >= 0 && s[j] === '\\'; j--) n++;
  return n % 2 === 1;
}

let alerts: TcpReuseEvent[];
let others: TcpReuseEvent[];
beforeAll(async () => {
  const all = (await eventCorpus()).flatMap((c) => c.events);
  alerts = all.filter((e) => e.type === 'port.reuse' || e.type === 'port.cycle' || e.type === 'port.pressure');
  others = all.filter((e) => !alerts.includes(e));
}, 300_000);

describe('CEF output', () => {
  test('every alert is one CEF line whose fields read back as the event has them', () => {
    expect(new Set(alerts.map((e) => e.type))).toEqual(new Set(['port.reuse', 'port.cycle', 'port.pressure']));
    for (const e of alerts) {
      const { line, truncated } = toCef(e)!;
      expect(truncated).toBe(false);
      expect(line).not.toMatch(/[\r\n]/);
      const { header, ext } = parseCef(line);
      expect(header.slice(0, 5)).toEqual(['CEF:0', 'tcpreuse', 'tcpreuse', expect.stringMatching(/^\d+\.\d+\.\d+/), e.type]);
      expect(Number(header[6])).toBeGreaterThanOrEqual(0);
      expect(Number(header[6])).toBeLessThanOrEqual(10);
      expect(ext.rt).toBe(String(Math.floor(e.ts / 1000)));
      expect(ext.dvchost).toBe(e.sensor);
      if (e.type === 'port.reuse') {
        const ip = (side: 'src' | 'dst') => ext[side] ?? ext[side === 'src' ? 'c6a2' : 'c6a3'];
        expect([ip('src'), ext.spt, ip('dst'), ext.dpt]).toEqual([e.client.ip, String(e.client.port), e.server.ip, String(e.server.port)]);
        expect(ext.cs1).toBe(e.communityId);
        expect(ext.act).toBe(e.kind);
        expect(ext.msg).toContain(e.reason);
        expect(Number(header[6])).toBe({ info: 1, low: 3, medium: 5, high: 8 }[e.severity]);
      }
    }
  });

  test('flow events, statistics and packets are not alerts: no CEF line', () => {
    expect(others.length).toBeGreaterThan(0);
    for (const e of others) expect(toCef(e)).toBeNull();
  });

  test("escapes as the spec says: | and \\ in the header; \\, = and line breaks in values", () => {
    expect(headerText('a|b\\c')).toBe('a\\|b\\\\c');
    expect(headerText('two\nlines')).toBe('two lines');
    expect(extensionText('a=b\\c\nd\re')).toBe('a\\=b\\\\c\\nd\\re');
    const reuse = alerts.find((e): e is PortReuseEvent => e.type === 'port.reuse')!;
    const odd: PortReuseEvent = { ...reuse, sensor: 'tap|1 =x\\y\nz', reason: 'why=because | a\\b\r\nnext line' };
    const { line } = toCef(odd)!;
    expect(line.split('\n')).toHaveLength(1);
    const { ext } = parseCef(line);
    expect(ext.dvchost).toBe(odd.sensor);
    expect(ext.msg).toContain(odd.reason);
  });

  test('an event too long for the syslog line is shortened in its message only, and says so', () => {
    const reuse = alerts.find((e): e is PortReuseEvent => e.type === 'port.reuse')!;
    const long: PortReuseEvent = { ...reuse, reason: 'ü='.repeat(3000) };
    const { line, truncated } = toCef(long, 1024)!;
    expect(truncated).toBe(true);
    expect(Buffer.byteLength(line)).toBeLessThanOrEqual(1024);
    const { ext } = parseCef(line);
    expect(ext.msg.endsWith('…')).toBe(true);
    expect(ext.cs1).toBe(reuse.communityId); // what rules match on is whole
    expect(ext.cs2).toBe(reuse.flowId);
  });
});
