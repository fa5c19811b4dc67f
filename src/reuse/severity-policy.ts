import type { PreviousEnd, ReuseKind, Severity, Side } from '../model/events';

/** What the policy needs to know about one reuse. */
export interface ReuseFacts {
  kind: ReuseKind;
  previousEnd: PreviousEnd;
  activeCloser: Side | null;
  gapS: number;
  /** Seconds from the previous connection's handshake to the new SYN (null: it started before the capture). */
  sincePreviousStartS: number | null;
  /** The previous connection was pushed out of a full flow table rather than seen to end. */
  previousEvicted: boolean;
  vlan: number | null;
  previousVlan: number | null;
  /** (while-open) The replaced connection's client kept sending after the new SYN. */
  interleaved: boolean;
  /**
   * How far the timestamps went back from the previous connection's last packet to this SYN,
   * which came after it in the input (a clock step, or interfaces merged with skewed clocks);
   * 0 when time went forward. `gapS` is then 0: the real gap is not measurable.
   */
  clockBackS: number;
}

export interface SeverityPolicy {
  /** TIME_WAIT to judge against: 60 s on Linux, 240 s on Windows. */
  timeWaitS: number;
  /** RST-closed tuples re-opened faster than once per this many seconds are `medium`. */
  rstRecurS: number;
}

const fmt = (s: number): string => (s >= 100 ? s.toFixed(0) : s >= 1 ? s.toFixed(2) : s.toFixed(3));

/** Severity and a sentence a network engineer can act on, per the policy in the README. */
export function judgeReuse(f: ReuseFacts, p: SeverityPolicy): { severity: Severity; reason: string } {
  const gap = fmt(f.gapS);
  const tw = p.timeWaitS;
  let severity: Severity;
  let reason: string;
  switch (f.kind) {
    case 'while-open':
      severity = 'high';
      reason = f.interleaved
        ? `interleaved: NAT collision: the previous connection on this 4-tuple (last packet ${gap} s before this SYN) kept sending after it, so two hosts share one public address and port; check the NAT's port allocation and mapping timeouts`
        : `the previous connection on this 4-tuple never closed (no FIN/RST seen, last packet ${gap} s before this SYN): ` +
          (f.gapS < 5
            ? 'it was still active, so two clients behind one NAT address probably collided'
            : 'a NAT mapping collision, a lost FIN/RST, or a client that lost its state (reboot, crash)');
      break;
    case 'after-idle':
      if (f.gapS < tw) {
        severity = 'medium';
        reason = `the previous connection went quiet without FIN/RST${f.previousEvicted ? ' (evicted from a full flow table)' : ''} and the port came back ${gap} s after its last packet, inside TIME_WAIT (${tw} s): if that connection still exists at either end, the new SYN collides with it`;
      } else {
        severity = 'info';
        reason = `benign: port came back ${gap} s after the previous connection went idle${f.previousEvicted ? ' (evicted from a full flow table)' : ''} without FIN/RST, longer than TIME_WAIT (${tw} s)`;
      }
      break;
    case 'after-close':
    default:
      if (f.previousEnd === 'rst') {
        if (f.sincePreviousStartS !== null && f.sincePreviousStartS < p.rstRecurS) {
          severity = 'medium';
          reason = `the 4-tuple is aborted with RST and re-opened within ${fmt(f.sincePreviousStartS)} s of the previous connection's start, faster than once per ${p.rstRecurS} s: a tight abort/reconnect loop`;
        } else {
          severity = 'low';
          reason = `port reused ${gap} s after an RST abort, which skips TIME_WAIT: typical of health checks and pools that reset their connections`;
        }
      } else if (f.gapS >= tw) {
        severity = 'info';
        reason = `benign: port came back after ${gap} s, longer than TIME_WAIT (${tw} s)`;
      } else if (f.activeCloser === 'server') {
        severity = 'medium';
        reason = `new SYN ${gap} s after the server closed first, while the server holds TIME_WAIT (${tw} s): accepted only if the new ISN is higher (RFC 6191), otherwise expect a stale ACK and SYN retries`;
      } else {
        severity = 'high';
        reason = `the client reused its port ${gap} s after closing the previous connection first, inside its own TIME_WAIT (${tw} s): it skipped TIME_WAIT (fixed source port, SO_REUSEADDR or SO_LINGER), so delayed segments of the old connection can corrupt the new one`;
      }
  }
  if (f.clockBackS > 0) {
    reason += `; note the timestamps went back ${fmt(f.clockBackS)} s from the previous connection's last packet to this SYN, which came after it (a clock step, or interfaces merged with skewed clocks): the gap is not measurable and is taken as 0`;
  }
  if (f.vlan !== f.previousVlan && f.vlan !== null && f.previousVlan !== null) {
    reason += `; note the previous connection was on VLAN ${f.previousVlan} and this one on VLAN ${f.vlan}: with overlapping tenant address space these may be unrelated`;
  }
  return { severity, reason };
}
