import { from, lastValueFrom, toArray } from 'rxjs';
import type { FlowCloseEvent } from '../src/model/events';
import type { PacketRecord } from '../src/model/packet-record';
import { trackFlows } from '../src/operators/track-flows';

/**
 * flow.close's `state` and `history` against what Zeek's TCP analyzer and conn_state() give for
 * the same packets. Each expectation is worked out by hand from Zeek's source
 * (TCPSessionAdapter::Process: update_history, update_window, update_last_seq,
 * UpdateStateMachine; base/protocols/conn/main.zeek: conn_state), not from tcpreuse's output.
 */
const S = 1_000_000;
const T0 = 1_700_000_000 * S;
const F = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10 } as const;

type Step = [from: 'c' | 's', flags: number, seq: number, ack: number, len?: number, win?: number];

function packets(steps: Step[]): PacketRecord[] {
  return steps.map(([side, flags, seq, ack, len = 0, win = 65535], i) => ({
    ...(side === 'c' ? { src: '10.0.0.1', sport: 40000, dst: '10.0.0.2', dport: 80 } : { src: '10.0.0.2', sport: 80, dst: '10.0.0.1', dport: 40000 }),
    flags,
    seq,
    ack,
    len,
    win,
    ts: T0 + i * 1000,
  }));
}

async function close(steps: Step[]): Promise<[string, string]> {
  const out = await lastValueFrom(from(packets(steps)).pipe(trackFlows(), toArray()));
  const closes = out.filter((e): e is FlowCloseEvent => e.type === 'flow.close');
  expect(closes).toHaveLength(1);
  return [closes[0].state, closes[0].history];
}

const HANDSHAKE: Step[] = [
  ['c', F.SYN, 100, 0],
  ['s', F.SYN | F.ACK, 500, 101],
  ['c', F.ACK, 101, 501],
];

describe("Zeek's conn_state and history", () => {
  test.each<[string, Step[], string, string]>([
    ['a whole connection', [...HANDSHAKE, ['c', F.ACK | F.PSH, 101, 501, 10], ['s', F.ACK | F.PSH, 501, 111, 20], ['c', F.FIN | F.ACK, 111, 521], ['s', F.FIN | F.ACK, 521, 112], ['c', F.ACK, 112, 522]], 'SF', 'ShADdFf'],
    // The responder's SYN-ACK makes both ends established: no final ACK is needed for S1.
    ['SYN and SYN-ACK only', HANDSHAKE.slice(0, 2), 'S1', 'Sh'],
    // A SYN scan of an open port: the originator resets after the SYN-ACK.
    ['SYN, SYN-ACK, RST from the client', [...HANDSHAKE.slice(0, 2), ['c', F.RST, 101, 0]], 'RSTO', 'ShR'],
    ['SYN answered by RST-ACK', [['c', F.SYN, 100, 0], ['s', F.RST | F.ACK, 0, 101]], 'REJ', 'Sr'],
    ['a SYN alone', [['c', F.SYN, 100, 0]], 'S0', 'S'],
    ['SYN then the client RST, no answer', [['c', F.SYN, 100, 0], ['c', F.RST, 101, 0]], 'RSTOS0', 'SR'],
    // No handshake, both FINs: both ends CLOSED is SF, whatever came before.
    ['midstream, closed both ways', [['c', F.ACK | F.PSH, 1000, 9000, 10], ['s', F.ACK | F.PSH, 9000, 1010, 10], ['c', F.FIN | F.ACK, 1010, 9010], ['s', F.FIN | F.ACK, 9010, 1011]], 'SF', 'DdFf'],
    ['midstream, the responder resets', [['c', F.ACK | F.PSH, 1000, 9000, 10], ['s', F.RST, 9000, 0]], 'RSTRH', 'Dr'],
    // Payload in a FIN packet is no D: Zeek writes D only for packets without SYN/FIN/RST.
    ['data only in the FIN', [...HANDSHAKE, ['c', F.FIN | F.ACK | F.PSH, 101, 501, 10]], 'S2', 'ShAF'],
    // A SYN with RST is Q alone (no R); its side ends RESET while the other never spoke.
    ['SYN+RST', [['c', F.SYN | F.RST, 100, 0]], 'OTH', 'Q'],
    ['FIN+RST', [...HANDSHAKE, ['c', F.FIN | F.RST | F.ACK, 101, 501]], 'RSTO', 'ShAI'],
    // The same payload again: T; the 10th time T again (1, 10, 100, ...).
    ['a retransmission', [...HANDSHAKE, ['c', F.ACK | F.PSH, 101, 501, 10], ['c', F.ACK | F.PSH, 101, 501, 10]], 'S1', 'ShADT'],
    ['ten retransmissions', [...HANDSHAKE, ['c', F.ACK | F.PSH, 101, 501, 10], ...Array.from({ length: 10 }, (): Step => ['c', F.ACK | F.PSH, 101, 501, 10])], 'S1', 'ShADTT'],
    // Zeek keeps only the highest sequence number sent: a segment arriving after a later one is T too.
    ['reordered: the late segment counts as a retransmission', [...HANDSHAKE, ['c', F.ACK | F.PSH, 111, 501, 10], ['c', F.ACK | F.PSH, 101, 501, 10]], 'S1', 'ShADT'],
    ['a zero window from the server', [...HANDSHAKE, ['c', F.ACK | F.PSH, 101, 501, 10], ['s', F.ACK, 501, 111, 0, 0]], 'S1', 'ShADaw'],
    // A RST at another sequence number is written again; a copy of the same RST is not.
    ['two RSTs, then a copy', [...HANDSHAKE, ['c', F.RST, 101, 0], ['c', F.RST, 150, 0], ['c', F.RST, 150, 0]], 'RSTO', 'ShARR'],
    // The responder answers its peer's FIN, then resets: the RST counts, the peer closed first.
    ['FIN from the client, RST from the server', [...HANDSHAKE, ['c', F.FIN | F.ACK, 101, 501], ['s', F.RST | F.ACK, 501, 102]], 'RSTR', 'ShAFr'],
    // A FIN then a RST from the same side, after the peer's FIN: a normal close (both CLOSED).
    ['FIN/FIN, then a RST from the first closer', [...HANDSHAKE, ['c', F.FIN | F.ACK, 101, 501], ['s', F.FIN | F.ACK, 501, 102], ['c', F.RST, 102, 0]], 'SF', 'ShAFfR'],
  ])('%s: %s %s', async (_what, steps, state, history) => {
    expect(await close(steps)).toEqual([state, history]);
  });
});
