import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { FlowCloseEvent } from '../src/model/events';
import { analyzeCapture, SHARED_ZEEK } from './helpers/run';

/**
 * flow.close `state` and `history` against what Zeek itself wrote for the same traces: the
 * expectations are the conn_state and history in the Zeek project's own test baselines
 * (testing/btest/Baseline/...), for traces of its test suite read in place. Zeek letters
 * tcpreuse does not reproduce (G content gap, C checksum) are taken out of Zeek's history before
 * comparing; the rest must be equal, letter for letter and in order.
 */
// null: that baseline does not print it.
const CASES: [trace: string, baseline: string, state: string | null, history: string | null][] = [
  // scripts.base.protocols.conn.conn_state-RST-behavior/out
  ['tcp/single-rst.pcap', 'conn_state-RST-behavior', 'OTH', 'R'],
  ['tcp/syn-then-rst.pcap', 'conn_state-RST-behavior', 'RSTOS0', 'SR'],
  ['tcp/syn-then-ack-then-rst.pcap', 'conn_state-RST-behavior', 'RSTOS0', 'SaR'],
  ['tcp/syn-then-stuff-then-rst.pcap', 'conn_state-RST-behavior', 'OTH', 'SaFR'],
  // core.tcp.missing-syn/conn.log
  ['tcp/missing-syn.pcap', 'core.tcp.missing-syn', 'SF', '^hADdFaf'],
  // core.tcp.rxmit-history/conn-1.log
  ['tcp/retransmit-fast009.pcap', 'core.tcp.rxmit-history', 'RSTO', 'ShADaGdgtR'],
  // core.tcp.miss-end-data/conn.log
  ['tcp/miss_end_data.pcap', 'core.tcp.miss-end-data', 'SF', 'ShADafgF'],
  // core.tcp.tcp-dups/out: T and t again at the 10th retransmission
  ['tcp/ssh-dups.pcap', 'core.tcp.tcp-dups', null, 'ShADTadtTtFf'],
  // core.tcp.flip-without-syn/conn.log: no SYN, the SYN-ACK's receiver is the originator
  ['tcp/http-on-irc-port-missing-syn.pcapng', 'core.tcp.flip-without-syn', 'SF', '^hADadFf'],
  // core.tcp.fin-retransmit/out prints the endpoints: orig state 5 (closed), resp 6 (reset)
  ['tcp/fin_retransmission.pcap', 'core.tcp.fin-retransmit', 'RSTR', null],
  // core.tcp.rst-after-syn/.stdout: orig state 1 (SYN sent), resp 6 (reset)
  ['tcp/rst-inject-rae.pcap', 'core.tcp.rst-after-syn', 'REJ', null],
];

const present = existsSync(SHARED_ZEEK);
if (!present) console.warn(`[zeek-baselines] ${SHARED_ZEEK} not found: the comparison with Zeek's own conn_state/history is skipped on this machine`);

(present ? describe : describe.skip)("state and history as Zeek's own test baselines have them", () => {
  test.each(CASES)('%s (%s): %s %s', async (trace, _baseline, state, history) => {
    const closes = (await analyzeCapture(join(SHARED_ZEEK, trace))).filter((e): e is FlowCloseEvent => e.type === 'flow.close');
    expect(closes).toHaveLength(1);
    if (state !== null) expect(closes[0].state).toBe(state);
    if (history !== null) expect(closes[0].history).toBe(history.replace(/[GgCc]/g, ''));
  });
});
