import { lastValueFrom, toArray } from 'rxjs';
import { readPackets } from '../../src/capture/read-packets';
import { trackFlows } from '../../src/operators/track-flows';

/** Per TCP frame: [tcp.stream (null: none), reused_ports flag]. */
export type FrameVerdicts = Map<number, [number | null, boolean]>;

/** Our frame → [stream, reused] (the `tcpreuse annotate` view, read as the CLI reads it). */
export async function annotateCapture(path: string): Promise<FrameVerdicts> {
  const events = await lastValueFrom(readPackets(path).pipe(trackFlows({ annotate: true }), toArray()));
  const m: FrameVerdicts = new Map();
  for (const e of events) if (e.type === 'packet') m.set(e.frame!, [e.stream, e.reused]);
  return m;
}

/** Same checks as shared/tools/wireshark-parity.py: frames, partition both ways, numbering, flags. */
export function compareWithOracle(oracle: FrameVerdicts, ours: FrameVerdicts): string[] {
  const problems: string[] = [];
  for (const f of oracle.keys()) if (!ours.has(f)) problems.push(`frame ${f} missing`);
  for (const f of ours.keys()) if (!oracle.has(f)) problems.push(`frame ${f} extra`);
  for (const [f, [ws, wr]] of oracle) {
    const o = ours.get(f);
    if (!o) continue;
    // Identical numbering implies the same partition both ways.
    if (o[0] !== ws) problems.push(`frame ${f}: stream ${o[0]}, tshark ${ws}`);
    if (o[1] !== wr) problems.push(`frame ${f}: reused ${o[1]}, tshark ${wr}`);
  }
  return problems.slice(0, 10);
}


/**
 * tshark's `-T fields -E header=y` output (tab-separated, columns found by their header names:
 * frame.number, tcp.stream, tcp.analysis.reused_ports) as frame verdicts.
 */
export function tsharkFields(text: string): FrameVerdicts {
  const lines = text.split('\n');
  const hdr = lines[0].split('\t');
  const [fi, si, ri] = ['frame.number', 'tcp.stream', 'tcp.analysis.reused_ports'].map((h) => hdr.indexOf(h));
  const m: FrameVerdicts = new Map();
  for (const line of lines.slice(1)) {
    if (!line) continue;
    const v = line.split('\t');
    const s = (v[si] ?? '').split(',')[0];
    m.set(+v[fi], [s === '' ? null : +s, (v[ri] ?? '') !== '' && v[ri] !== '0']);
  }
  return m;
}
