import { analyzeCapture, capturePath, loadLabels } from '../test/helpers/run';
(async () => {
  for (const n of process.argv.slice(2)) {
    const ev = await analyzeCapture(capturePath(n));
    const reuses = ev.filter((e) => e.type === 'port.reuse') as any[];
    const L = loadLabels(n);
    console.log(`== ${n}: labels ${L.reuses.length}, ours ${reuses.length}`);
    const byFrame = new Map(reuses.map((r) => [r.frame, r]));
    for (const l of L.reuses) {
      const r = byFrame.get(l.frame);
      if (!r) { console.log('  MISSING', l.frame, l.prev_conn_end, l.gap_s); continue; }
      const ok = Math.abs(r.gapS - l.gap_s) <= 0.001;
      console.log(`  ${l.frame} label=${l.prev_conn_end}/${l.prev_active_closer} gap=${l.gap_s} | ours ${r.kind}/${r.previousEnd}/${r.activeCloser} gap=${r.gapS} ${r.severity} ws=${r.wireshark} ${ok ? '' : 'GAP!'}`);
      byFrame.delete(l.frame);
    }
    for (const r of byFrame.values()) console.log('  EXTRA', r.frame, r.kind, r.previousEnd, r.gapS, r.reason);
    for (const c of ev.filter((e) => e.type === 'port.cycle' || e.type === 'port.pressure')) console.log('  ', JSON.stringify(c));
  }
})();
