import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { from, lastValueFrom, toArray } from 'rxjs';
import type { TcpReuseEvent } from '../../src/model/events';
import { analyze } from '../../src/operators/analyze';
import { analyzeCapture, CAPTURES } from './run';
import { spreadClientScenario } from './scaled-analysis';

/** Per capture, at most this many packet annotations (one per packet: the rest add nothing new to a format test). */
const PACKETS_PER_SOURCE = 300;

/**
 * Every event type, from every generated capture plus the spread-client scenario (the one source
 * of port.pressure): what the SIEM format tests run through each format.
 */
export async function eventCorpus(): Promise<{ name: string; events: TcpReuseEvent[] }[]> {
  const trim = (events: TcpReuseEvent[]): TcpReuseEvent[] => {
    let packets = 0;
    return events.filter((e) => e.type !== 'packet' || packets++ < PACKETS_PER_SOURCE);
  };
  const out: { name: string; events: TcpReuseEvent[] }[] = [];
  for (const f of readdirSync(CAPTURES).filter((f) => f.endsWith('.pcap.gz')).sort()) {
    out.push({ name: f, events: trim(await analyzeCapture(join(CAPTURES, f), { annotate: true })) });
  }
  const scenario = await lastValueFrom(from(spreadClientScenario(1500)).pipe(analyze({ annotate: true }), toArray()));
  out.push({ name: 'spread-client scenario', events: trim(scenario) });
  return out;
}
