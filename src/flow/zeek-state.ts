import { TcpFlag } from '../model/packet-record';

/**
 * Zeek's TCP endpoint state machine (TCPSessionAdapter::UpdateStateMachine) and its conn_state
 * (base/protocols/conn/main.zeek), so `flow.close.state` says what Zeek's conn.log says for the
 * same connection. Both endpoints' states and previous states live in one small integer per flow:
 * bits 0-2 the client's state, 3-5 the server's, 6-8 and 9-11 their previous states.
 *
 * The client is tcpreuse's (the first SYN's sender, else the SYN-ACK's receiver, else the higher
 * port), which is Zeek's originator whenever a handshake was seen.
 */

export const Z = { INACTIVE: 0, SYN_SENT: 1, SYN_ACK_SENT: 2, PARTIAL: 3, ESTABLISHED: 4, CLOSED: 5, RESET: 6 } as const;

// Module constants, so the per-packet state machine compares with numbers, not property loads.
const { SYN, FIN, RST, ACK } = TcpFlag;

/** Sequence jumps of a SYN or RST this large are not trusted (Zeek's TOO_LARGE_SEQ_DELTA). */
export const TOO_LARGE_SEQ_DELTA = 1048576;

/**
 * Whether Zeek re-initialises a side's sequence numbers on its SYN in this state (init_endpoint;
 * also after a RST that was the side's first packet, which nothing reads any more: see the tracker).
 */
export function zeekSynReinits(packed: number, side: number): boolean {
  const s = zState(packed, side);
  return s === Z.SYN_SENT || s === Z.SYN_ACK_SENT || s === Z.ESTABLISHED || s === Z.PARTIAL;
}

/** State of side 0 (client) or 1 (server). */
export function zState(packed: number, side: number): number {
  return (packed >> (3 * side)) & 7;
}

function zPrev(packed: number, side: number): number {
  return (packed >> (6 + 3 * side)) & 7;
}

/** Zeek's SetState: the previous state changes only when the state does. */
function set(packed: number, side: number, s: number): number {
  const cur = zState(packed, side);
  if (cur === s) return packed;
  const state = 7 << (3 * side);
  const prev = 7 << (6 + 3 * side);
  return (packed & ~(state | prev)) | (s << (3 * side)) | (cur << (6 + 3 * side));
}

/** The states after a packet of `len` payload bytes with `flags` from `side`. */
export function zeekStep(packed: number, side: number, flags: number, len: number): number {
  const peer = 1 - side;
  const fromOrig = side === 0;
  let z = packed;
  switch (zState(z, side)) {
    case Z.INACTIVE:
      if (flags & SYN) {
        if (fromOrig) z = set(z, side, flags & ACK ? Z.SYN_ACK_SENT : Z.SYN_SENT);
        else {
          // The responder's SYN (or SYN-ACK) establishes both ends of a handshake in progress.
          if (zState(z, peer) === Z.SYN_SENT) z = set(z, peer, Z.ESTABLISHED);
          z = set(z, side, Z.ESTABLISHED);
        }
      }
      if (flags & FIN) z = set(z, side, Z.CLOSED);
      if (flags & RST) z = set(z, side, Z.RESET);
      if (zState(z, side) === Z.INACTIVE) {
        // An ACK to a SYN before the SYN-ACK (some stacks do) does not make the responder partial.
        if (!fromOrig && len === 0 && zState(z, peer) === Z.SYN_SENT) break;
        // A SYN-ACK seen but not the SYN before it, and now the originator's ACK: established.
        z = set(z, side, flags & ACK && zState(z, peer) === Z.ESTABLISHED ? Z.ESTABLISHED : Z.PARTIAL);
      }
      break;
    case Z.SYN_SENT:
    case Z.SYN_ACK_SENT:
      if (flags & FIN) z = set(z, side, Z.CLOSED);
      if (flags & RST) z = set(z, side, Z.RESET);
      break;
    case Z.ESTABLISHED:
    case Z.PARTIAL:
      if (flags & SYN && !(flags & ACK) && zState(z, side) === Z.PARTIAL && zState(z, peer) === Z.INACTIVE) z = set(z, side, Z.SYN_SENT);
      if (flags & FIN && !(flags & RST)) {
        z = set(z, side, Z.CLOSED);
        // The peer's FIN then RST was a normal close after all.
        if (zState(z, peer) === Z.RESET && zPrev(z, peer) === Z.CLOSED) z = set(z, peer, Z.CLOSED);
      }
      if (flags & RST) z = set(z, side, Z.RESET);
      break;
    case Z.CLOSED:
      // A RST after this side's FIN counts unless the peer closed too (a FIN exchange happened).
      if (flags & RST && zState(z, peer) !== Z.CLOSED) z = set(z, side, Z.RESET);
      break;
    default: // RESET: nothing changes it
  }
  return z;
}

/**
 * Zeek's conn_state for the endpoint states, the payload bytes each side sent (Zeek's endpoint
 * sizes, for REJ) and the history text (for RSTOS0).
 */
export function zeekConnState(packed: number, bytesC: number, bytesS: number, history: string): string {
  const os = zState(packed, 0);
  const rs = zState(packed, 1);
  const oInactive = os === Z.INACTIVE || os === Z.PARTIAL;
  const rInactive = rs === Z.INACTIVE || rs === Z.PARTIAL;
  if (rs === Z.RESET) {
    if (os === Z.SYN_SENT || os === Z.SYN_ACK_SENT || (os === Z.RESET && bytesC === 0 && bytesS === 0)) return 'REJ';
    return oInactive ? 'RSTRH' : 'RSTR';
  }
  if (os === Z.RESET) {
    if (rInactive) return /^\^?S[^HAFGIQ]*R/.test(history) ? 'RSTOS0' : 'OTH';
    return 'RSTO';
  }
  if (rs === Z.CLOSED && os === Z.CLOSED) return 'SF';
  if (os === Z.CLOSED) return rInactive ? 'SH' : 'S2';
  if (rs === Z.CLOSED) return oInactive ? 'SHR' : 'S3';
  if (os === Z.SYN_SENT && rs === Z.INACTIVE) return 'S0';
  if (os === Z.ESTABLISHED && rs === Z.ESTABLISHED) return 'S1';
  return 'OTH';
}
