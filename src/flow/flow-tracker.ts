import type {
  ClientBy,
  ClosedBy,
  Endpoint,
  FlowCloseEvent,
  FlowOpenEvent,
  OpenedBy,
  PacketAnnotation,
  Side,
  StreamItem,
} from '../model/events';
import { TcpFlag, type PacketRecord } from '../model/packet-record';
import { numberOption, secondsBetween, stringOption, US_PER_S } from '../util/options';
import { flowIdFromHash } from './flow-id';
import { FlowTable, List, NIL } from './flow-table';
import { H, HISTORY_FLIP, HISTORY_MAX_LETTERS, HISTORY_WORD_LETTERS, historySymbol, historyText, historyWordAppend, isHistoryScale } from './history';
import { TOO_LARGE_SEQ_DELTA, Z, zeekConnState, zeekStep, zeekSynReinits, zState } from './zeek-state';
import { communityId } from './community-id';
import { endpointFirst, tupleHash } from './tuple-hash';

export interface TrackFlowsOptions {
  /** Sensor for packets that do not name one. @default "default" */
  readonly sensor?: string;
  /** Idle time after which an established flow is closed as `idle`. @default 300 */
  readonly establishedTimeoutS?: number;
  /** Idle time after which a flow still in its handshake is closed as `idle`. @default 30 */
  readonly halfOpenTimeoutS?: number;
  /** How long a flow that ended (RST, or FIN both ways) lingers to absorb its last ACKs. @default 10 */
  readonly closedTimeoutS?: number;
  /** Most flows held at once; beyond it the least recently seen is closed as `evicted`. @default 1000000 */
  readonly maxFlows?: number;
  /**
   * How long a 4-tuple's Wireshark stream state (stream number, base sequence numbers) is kept
   * after its last flow ended. Wireshark keeps it for the whole capture, and so does the default
   * (the memory stays bounded by `maxRemembered`); reuse after longer than a finite value is
   * numbered as a new stream without the [TCP Port numbers reused] flag. @default Infinity
   */
  readonly streamMemoryS?: number;
  /** Most 4-tuples remembered that way; beyond it the oldest are forgotten. @default 1000000 */
  readonly maxRemembered?: number;
  /** Also emit a `packet` annotation per input packet. @default false */
  readonly annotate?: boolean;
  /** Emit a watermark whenever event time has advanced this much. @default 1 */
  readonly watermarkIntervalS?: number;
  /** Seed of the events' Community ID (0..65535; sensors that hash with a seed must all use the same). @default 0 */
  readonly communityIdSeed?: number;
}

export interface TrackerCounters {
  packets: number;
  flowsOpened: number;
  flowsClosed: number;
  /** Live flows closed early because the table was full. */
  evicted: number;
  /** 4-tuples whose stream state was dropped because the memory was full. */
  forgotten: number;
  /** SYNs repeating the ISN of a connection that already ended: no new connection. */
  lateDuplicates: number;
  /** ICMP errors quoting a TCP header. */
  icmpQuotes: number;
  /** Packets older than the newest seen (processed, but the clock does not go back). */
  outOfOrder: number;
  /** Packets of a replaced connection seen after the SYN that replaced it (kept out of the new flow). */
  interleaved: number;
}

/** A connection replaced by a SYN while still open, watched for packets that keep coming. */
export interface Replaced {
  flowId: string;
  /** The new connection's flowId. */
  by: string;
  /** The old connection's next sequence number per canonical direction, and which are known. */
  seqEnd: [number, number];
  known: number; // S_SEQ_A | S_SEQ_B
  /** A flow.interleave has been emitted for it. */
  told: boolean;
}

/** A tracker's whole state, for checkpoints (src/state/flow-stage-state.ts). */
export interface TrackerState {
  readonly table: FlowTable;
  /** Next Wireshark stream number per sensor. */
  readonly nextStream: ReadonlyMap<string, number>;
  /** Row → the still-open connection its flow replaced. */
  readonly replaced: ReadonlyMap<number, Replaced>;
  readonly now: number;
  readonly lastWatermark: number;
  readonly counters: TrackerCounters;
}

// Row state bits.
const S_LIVE = 1 << 0;
const S_CLIENT_B = 1 << 1; // the client is the canonical key's second endpoint
const S_CLIENTBY_SHIFT = 2; // 2 bits
const S_OPENEDBY_SHIFT = 4; // 2 bits
const S_SYN_C = 1 << 6;
const S_SYNACK_S = 1 << 7;
const S_EST = 1 << 8; // three-way handshake completed
const S_FIN_C = 1 << 9;
const S_FIN_S = 1 << 10;
const S_RST_C = 1 << 11;
const S_RST_S = 1 << 12;
const S_LAST_SHIFT = 13; // 2 bits: last FIN/RST seen: 0 none, 1 FIN, 2 RST
const S_CLOSER_SHIFT = 15; // 2 bits: first FIN/RST sender: 0 none, 1 client, 2 server
const S_ISN_C = 1 << 17;
const S_ISN_S = 1 << 18;
const S_REUSED = 1 << 19;
const S_WS_REUSED = 1 << 20;
const S_DATA = 1 << 21;
const S_SEEN_C = 1 << 22;
const S_SEEN_S = 1 << 23;
const S_SEQ_A = 1 << 24; // seqEnd known for direction 0 (canonical A → B)
const S_SEQ_B = 1 << 25; // … and for direction 1

const S_LAST_SHIFT_MASK = 3 << S_LAST_SHIFT;
// Zeek endpoint states the per-packet code compares against, as numbers of this module (not a
// property load through the other module's exports on every packet).
const Z_INACTIVE = Z.INACTIVE;
const Z_CLOSED = Z.CLOSED;
const Z_RESET = Z.RESET;
const CLOSED_MASK = S_RST_C | S_RST_S;
const LAST_FIN = 1;
const LAST_RST = 2;

const { FIN: F_FIN, SYN: F_SYN, RST: F_RST, ACK: F_ACK } = TcpFlag;

/** How far (bytes of sequence space) from a connection's last segment a packet still counts as its. */
const SEQ_NEAR = 1 << 24;

const CLIENT_BY: ClientBy[] = ['syn', 'synack', 'port'];
const OPENED_BY: OpenedBy[] = ['syn', 'synack', 'midstream'];
const SIDES: (Side | null)[] = [null, 'client', 'server'];

/**
 * The TCP connection tracker behind `trackFlows`: plain, synchronous, one call per packet.
 *
 * Two identities per packet:
 * - `stream`: Wireshark's tcp.stream (4.0.17 rules): a conversation per address/port pair; a pure
 *   SYN whose seq differs from the base seq of its direction starts a new one (flagged reused); a
 *   SYN-ACK whose seq differs is flagged and overwrites the base. Bases come from the first segment
 *   of a direction (SYN: seq, else seq-1) or the first ACK from the other side (ack-1).
 * - the flow (flowId): tcpreuse's connection, which also splits where Wireshark misses a new
 *   connection: a SYN with the old ISN after the old connection carried data and never closed (a
 *   rebooted device), and a SYN on a tuple whose client direction was never seen (a bare RST).
 */
export class FlowTracker {
  readonly counters: TrackerCounters = {
    packets: 0,
    flowsOpened: 0,
    flowsClosed: 0,
    evicted: 0,
    forgotten: 0,
    lateDuplicates: 0,
    icmpQuotes: 0,
    outOfOrder: 0,
    interleaved: 0,
  };

  private t: FlowTable;
  private readonly defaultSensor: string;
  private readonly timeoutUs: number[];
  private readonly memoryUs: number;
  private readonly maxFlows: number;
  private readonly maxRemembered: number;
  private readonly annotate: boolean;
  private readonly watermarkUs: number;
  private readonly communityIdSeed: number;
  private readonly nextStream = new Map<string, number>();
  private now = -Infinity;
  // Two-entry tuple → row cache (see process); a row's generation proves the entry still holds.
  private readonly cacheSrc: string[] = ['', ''];
  private readonly cacheDst: string[] = ['', ''];
  private readonly cacheSport = [-1, -1];
  private readonly cacheDport = [-1, -1];
  private readonly cacheSensor: string[] = ['', ''];
  private readonly cacheGeneration = [-1, -1];
  private readonly cacheDir = [0, 0];
  private readonly cacheRow = [0, 0];
  private cacheNext = 0;
  /** Rows whose live flow replaced a still-open connection (rare, so a Map beside the table). */
  private readonly replaced = new Map<number, Replaced>();
  private lastWatermark = -Infinity;

  constructor(
    options: TrackFlowsOptions,
    private readonly emit: (item: StreamItem) => void,
  ) {
    const o = 'trackFlows';
    this.defaultSensor = stringOption(o, 'sensor', options.sensor, 'default');
    const halfOpen = numberOption(o, 'halfOpenTimeoutS', options.halfOpenTimeoutS, 30, { min: 0.001 });
    const established = numberOption(o, 'establishedTimeoutS', options.establishedTimeoutS, 300, { min: 0.001 });
    const closed = numberOption(o, 'closedTimeoutS', options.closedTimeoutS, 10, { min: 0 });
    this.timeoutUs = [halfOpen * US_PER_S, established * US_PER_S, closed * US_PER_S];
    this.memoryUs = numberOption(o, 'streamMemoryS', options.streamMemoryS, Infinity, { min: 0, infinite: true }) * US_PER_S;
    this.maxFlows = numberOption(o, 'maxFlows', options.maxFlows, 1_000_000, { min: 1, integer: true });
    this.maxRemembered = numberOption(o, 'maxRemembered', options.maxRemembered, 1_000_000, { min: 0, integer: true });
    this.annotate = options.annotate === true;
    this.watermarkUs = numberOption(o, 'watermarkIntervalS', options.watermarkIntervalS, 1, { min: 0 }) * US_PER_S;
    this.communityIdSeed = numberOption(o, 'communityIdSeed', options.communityIdSeed, 0, { min: 0, max: 65535, integer: true });
    this.t = new FlowTable(1024);
  }

  /** The state a checkpoint holds (live references: write it out before the next packet). */
  checkpointState(): TrackerState {
    return { table: this.t, nextStream: this.nextStream, replaced: this.replaced, now: this.now, lastWatermark: this.lastWatermark, counters: this.counters };
  }

  /** Continues from a checkpoint's state, as if this tracker had processed what built it. */
  restoreState(s: TrackerState): void {
    if (this.counters.packets > 0) throw new Error('restoreState: the tracker has already processed packets');
    this.t = s.table;
    this.nextStream.clear();
    for (const [k, v] of s.nextStream) this.nextStream.set(k, v);
    this.replaced.clear();
    for (const [k, v] of s.replaced) this.replaced.set(k, v);
    this.now = s.now;
    this.lastWatermark = s.lastWatermark;
    Object.assign(this.counters, s.counters);
    this.cacheGeneration.fill(-1); // the cache refers to rows of the table it had
  }

  /** Event time: the latest packet (or watermark) time seen. */
  get eventTime(): number {
    return this.now;
  }

  /** Live flows in the table. */
  get openFlows(): number {
    const s = this.t.listSize;
    return s[List.HALF_OPEN] + s[List.ESTABLISHED] + s[List.CLOSED];
  }

  /** Wireshark streams numbered so far, over all sensors. */
  get streams(): number {
    let n = 0;
    for (const v of this.nextStream.values()) n += v;
    return n;
  }

  /** 4-tuples whose Wireshark stream state is remembered without a live flow. */
  get rememberedTuples(): number {
    return this.t.listSize[List.MEMORY];
  }

  /**
   * Moves event time forward and expires what timed out. A packet emits a watermark once event
   * time has moved `watermarkIntervalS` past the last one; an input watermark (`force`, e.g. from
   * a timer on a quiet feed) is always passed on once the expiries it caused are out.
   */
  advance(ts: number, force = false): void {
    if (ts <= this.now) return;
    if (this.now === -Infinity) this.lastWatermark = ts;
    this.now = ts;
    this.expire(ts);
    if (force || ts - this.lastWatermark >= this.watermarkUs) {
      this.lastWatermark = ts;
      this.emit({ type: 'watermark', ts });
    }
  }

  process(p: PacketRecord): void {
    this.counters.packets++;
    if (p.ts < this.now) this.counters.outOfOrder++;
    else this.advance(p.ts);
    const t = this.t;
    const sensor = p.sensor || this.defaultSensor;
    // Packets of one connection come in runs, often alternating direction: a two-entry cache of the
    // last tuples seen skips hashing the tuple and probing the index (the per-packet hot spot).
    let dir: number;
    let row: number;
    let hash = 0;
    const c = p.src === this.cacheSrc[0] && p.sport === this.cacheSport[0] ? 0 : p.src === this.cacheSrc[1] && p.sport === this.cacheSport[1] ? 1 : -1;
    if (c >= 0 && p.dst === this.cacheDst[c] && p.dport === this.cacheDport[c] && sensor === this.cacheSensor[c] && t.generation[this.cacheRow[c]] === this.cacheGeneration[c]) {
      dir = this.cacheDir[c];
      row = this.cacheRow[c];
    } else {
      // Canonical tuple: lower address (then port) first, so both directions find one row.
      dir = endpointFirst(p.src, p.sport, p.dst, p.dport) ? 0 : 1;
      hash = dir === 0 ? tupleHash(sensor, p.src, p.sport, p.dst, p.dport) : tupleHash(sensor, p.dst, p.dport, p.src, p.sport);
      row = dir === 0 ? t.keys.find(hash, sensor, p.src, p.sport, p.dst, p.dport) : t.keys.find(hash, sensor, p.dst, p.dport, p.src, p.sport);
    }

    const quote = p.icmpQuote;
    // Wireshark gives an ICMP error a stream only when it quotes the whole 20-byte TCP header.
    if (quote !== undefined && quote < 20) {
      this.counters.icmpQuotes++;
      if (this.annotate) this.emitAnnotation(p, sensor, null, row !== NIL ? this.flowIdAt(row) : null, false);
      return;
    }

    const flags = p.flags;
    const synOnly = (flags & (F_SYN | F_ACK)) === F_SYN;
    const synAck = (flags & (F_SYN | F_ACK)) === (F_SYN | F_ACK);
    const seq = p.seq;
    let wsReused = false;
    let previousStream = -1;

    if (row === NIL) {
      row = this.addRow(p, sensor, dir, hash);
    } else if ((synOnly || synAck) && t.wsFlags[row] & (1 << dir) && (seq | 0) !== t.wsBase[2 * row + dir]) {
      wsReused = true;
      if (synOnly) {
        previousStream = t.stream[row];
        t.stream[row] = this.newStream(sensor);
        t.wsFlags[row] = 0;
      } else {
        t.wsBase[2 * row + dir] = seq;
      }
    }
    if (c < 0) this.remember(p, sensor, dir, row);
    if (quote !== undefined) {
      // A whole quoted header meets Wireshark's SYN and SYN-ACK rules above (a quoted SYN with
      // another ISN starts a stream, flagged reused) but sets no base sequence number (tshark
      // does no sequence analysis inside an ICMP error), and it is no traffic of a connection.
      this.counters.icmpQuotes++;
      if (this.annotate) this.emitAnnotation(p, sensor, t.stream[row], t.state[row] & S_LIVE ? this.flowIdAt(row) : null, wsReused);
      return;
    }
    // Wireshark's base sequence numbers, per direction (see the class comment).
    if (!(t.wsFlags[row] & (1 << dir))) {
      t.wsBase[2 * row + dir] = flags & F_SYN ? seq : (seq - 1) >>> 0;
      t.wsFlags[row] |= 1 << dir;
    }
    if (flags & F_ACK && !(t.wsFlags[row] & (2 >> dir))) {
      t.wsBase[2 * row + 1 - dir] = (p.ack - 1) >>> 0;
      t.wsFlags[row] |= 2 >> dir;
    }

    // tcpreuse's own connection boundary.
    const st = t.state[row];
    const live = (st & S_LIVE) !== 0;
    const fromClientIfSame = (dir === 1) === ((st & S_CLIENT_B) !== 0);
    let open: OpenedBy | null = null;
    if (!live) {
      if (synOnly && fromClientIfSame && this.repeatsEndedIsn(row, st, seq)) {
        this.counters.lateDuplicates++;
        if (this.annotate) this.emitAnnotation(p, sensor, t.stream[row], null, wsReused);
        return;
      }
      open = synOnly ? 'syn' : synAck ? 'synack' : 'midstream';
    } else if (synOnly) {
      if (!fromClientIfSame || !(st & S_ISN_C) || (seq | 0) !== t.isn[2 * row]) open = 'syn';
      else if (!(st & (S_LAST_SHIFT_MASK)) && st & S_DATA) open = 'syn'; // same ISN, old one never closed: rebooted device
    } else if (synAck && (st & CLOSED_MASK || (st & S_FIN_C && st & S_FIN_S)) && st & S_ISN_S && (seq | 0) !== t.isn[2 * row + 1]) {
      open = 'synack'; // the SYN of a new connection was not captured
    }
    if (open !== null) {
      // A SYN on a connection still open (no FIN/RST seen): watch for it carrying on (NAT collision).
      const old: Replaced | null =
        live && open === 'syn' && !(st & S_LAST_SHIFT_MASK) && st & (S_SEQ_A | S_SEQ_B)
          ? { flowId: this.flowIdAt(row)!, by: '', seqEnd: [t.seqEnd[2 * row], t.seqEnd[2 * row + 1]], known: st & (S_SEQ_A | S_SEQ_B), told: false }
          : null;
      if (live) {
        // The connection this SYN replaces keeps the stream it had before the SYN started a new one.
        const stream = t.stream[row];
        if (previousStream >= 0) t.stream[row] = previousStream;
        this.closeFlow(row, 'reused');
        t.stream[row] = stream;
      }
      this.openFlow(row, p, dir, open, wsReused, live);
      if (old !== null) {
        old.by = this.flowIdAt(row)!;
        this.replaced.set(row, old);
      }
    } else if (this.replaced.size > 0) {
      const old = this.replaced.get(row);
      if (old !== undefined && this.oldConnectionPacket(old, row, p, dir, sensor, wsReused)) return;
    }
    this.update(row, p, dir);
    if (this.annotate) this.emitAnnotation(p, sensor, t.stream[row], this.flowIdAt(row), wsReused);
  }

  /**
   * Whether a packet on a row whose flow replaced a still-open connection belongs to that old
   * connection (its sequence numbers continue the old one's, not the new one's). Such packets
   * are kept out of the new flow; the first from the client side that is not a bare RST (the
   * RFC 5961 answer to a challenge ACK) means two hosts are using the 4-tuple at once, and a
   * `flow.interleave` tells detectPortReuse so.
   */
  private oldConnectionPacket(old: Replaced, row: number, p: PacketRecord, dir: number, sensor: string, wsReused: boolean): boolean {
    const t = this.t;
    const bit = dir === 0 ? S_SEQ_A : S_SEQ_B;
    if (!(old.known & bit) || p.flags & F_SYN) return false; // SYNs and SYN-ACKs are the new handshake's
    const dOld = Math.abs((p.seq - old.seqEnd[dir]) | 0);
    if (dOld >= SEQ_NEAR) return false;
    if (t.state[row] & bit && Math.abs((p.seq - t.seqEnd[2 * row + dir]) | 0) <= dOld) return false;
    this.counters.interleaved++;
    old.seqEnd[dir] = (p.seq + p.len) >>> 0;
    const fromClient = (dir === 1) === ((t.state[row] & S_CLIENT_B) !== 0);
    if (fromClient && !(p.flags & F_RST) && !old.told) {
      old.told = true;
      this.emit({ type: 'flow.interleave', ts: p.ts, sensor, flowId: old.by, previousFlowId: old.flowId, frame: p.frame ?? null });
    }
    if (this.annotate) this.emitAnnotation(p, sensor, t.stream[row], old.flowId, wsReused);
    return true;
  }

  /** Input complete: every live flow is closed (`eof` unless it ended with FIN/RST). */
  flush(): void {
    const t = this.t;
    for (const list of [List.HALF_OPEN, List.ESTABLISHED, List.CLOSED]) {
      let r: number;
      while ((r = t.head(list)) !== NIL) this.closeFlow(r, 'eof');
    }
    if (this.now > -Infinity && this.now !== this.lastWatermark) this.emit({ type: 'watermark', ts: this.now });
  }

  /**
   * The id of the row's current (or last) connection, derived from its key and first packet time
   * rather than stored: a string per open flow would cost ~50 bytes of the per-flow budget.
   */
  private flowIdAt(row: number): string | null {
    const first = this.t.firstTs[row];
    return Number.isNaN(first) ? null : flowIdFromHash(this.t.keys.hash[row], first);
  }

  /** Puts a tuple in the two-entry lookup cache (the older entry goes). */
  private remember(p: PacketRecord, sensor: string, dir: number, row: number): void {
    const slot = this.cacheNext;
    this.cacheNext ^= 1;
    this.cacheSrc[slot] = p.src;
    this.cacheDst[slot] = p.dst;
    this.cacheSport[slot] = p.sport;
    this.cacheDport[slot] = p.dport;
    this.cacheSensor[slot] = sensor;
    this.cacheGeneration[slot] = this.t.generation[row];
    this.cacheDir[slot] = dir;
    this.cacheRow[slot] = row;
  }

  private newStream(sensor: string): number {
    const n = this.nextStream.get(sensor) ?? 0;
    this.nextStream.set(sensor, n + 1);
    return n;
  }

  /** A SYN repeating the ISN of a connection that ended with FIN/RST (or never carried data) is a late duplicate. */
  private repeatsEndedIsn(row: number, st: number, seq: number): boolean {
    if (!(st & S_ISN_C) || this.t.isn[2 * row] !== (seq | 0)) return false;
    return (st & S_LAST_SHIFT_MASK) !== 0 || !(st & S_DATA);
  }

  /** A row for the packet's tuple, which has none (`hash`: its tupleHash). */
  private addRow(p: PacketRecord, sensor: string, dir: number, hash: number): number {
    this.makeRoom();
    const t = this.t;
    const row = dir === 0 ? t.add(sensor, p.src, p.sport, p.dst, p.dport, List.MEMORY, hash) : t.add(sensor, p.dst, p.dport, p.src, p.sport, List.MEMORY, hash);
    t.stream[row] = this.newStream(sensor);
    t.lastTs[row] = p.ts;
    return row;
  }

  private openFlow(row: number, p: PacketRecord, dir: number, openedBy: OpenedBy, wsReused: boolean, replaced: boolean): void {
    const t = this.t;
    let clientIsB: boolean;
    let clientBy: number;
    if (openedBy === 'syn') {
      clientIsB = dir === 1;
      clientBy = 0;
    } else if (openedBy === 'synack') {
      clientIsB = dir === 0;
      clientBy = 1;
    } else {
      // No handshake seen: the side with the higher port is the client (ephemeral ports are high).
      const senderIsClient = p.sport >= p.dport;
      clientIsB = senderIsClient === (dir === 1);
      clientBy = 2;
    }
    let st =
      S_LIVE |
      (clientIsB ? S_CLIENT_B : 0) |
      (clientBy << S_CLIENTBY_SHIFT) |
      (OPENED_BY.indexOf(openedBy) << S_OPENEDBY_SHIFT) |
      (replaced ? S_REUSED : 0) |
      (wsReused ? S_WS_REUSED : 0);
    if (openedBy === 'synack') {
      t.isn[2 * row + 1] = p.seq;
      t.isn[2 * row] = (p.ack - 1) >>> 0;
      st |= S_ISN_S | S_ISN_C;
    }
    t.state[row] = st;
    t.firstTs[row] = p.ts;
    t.lastTs[row] = p.ts; // the new connection's own, even where time ran back from the old one's
    t.openFrame[row] = p.frame ?? -1;
    t.packets[2 * row] = 0;
    t.packets[2 * row + 1] = 0;
    t.bytes[2 * row] = 0;
    t.bytes[2 * row + 1] = 0;
    t.history[row] = 0;
    t.history2[row] = 0;
    t.historyLen[row] = 0;
    t.historySeen[row] = 0;
    t.scaledCounts.fill(0, 4 * row, 4 * row + 4);
    t.zeek[row] = 0;
    if (clientIsB !== (dir === 1)) this.addLetter(row, HISTORY_FLIP); // the opening packet came from the server
    t.vlan[row] = p.vlan ?? 0xffff;
    this.counters.flowsOpened++;
    this.emit(this.openEvent(row, p.ts));
  }

  /** Applies one packet to the live flow in `row`. */
  private update(row: number, p: PacketRecord, dir: number): void {
    const t = this.t;
    let st = t.state[row];
    const fromClient = (dir === 1) === ((st & S_CLIENT_B) !== 0);
    const side = fromClient ? 0 : 1;
    const flags = p.flags;
    t.packets[2 * row + side]++;
    t.bytes[2 * row + side] += p.len;
    t.seqEnd[2 * row + dir] = (p.seq + p.len + (flags & F_SYN ? 1 : 0) + (flags & F_FIN ? 1 : 0)) >>> 0;
    st |= dir === 0 ? S_SEQ_A : S_SEQ_B;
    st |= fromClient ? S_SEEN_C : S_SEEN_S;
    if (flags & F_SYN && !(flags & (F_FIN | F_RST))) {
      if (flags & F_ACK) {
        if (!fromClient) {
          st |= S_SYNACK_S;
          if (!(st & S_ISN_S)) {
            t.isn[2 * row + 1] = p.seq;
            st |= S_ISN_S;
          }
        }
      } else if (fromClient) {
        st |= S_SYN_C;
        if (!(st & S_ISN_C)) {
          t.isn[2 * row] = p.seq;
          st |= S_ISN_C;
        }
      }
    }
    if (p.len > 0) st |= S_DATA;
    if (fromClient && flags & F_ACK && !(flags & F_SYN) && st & S_SYNACK_S && st & S_SYN_C) st |= S_EST;
    if (flags & (F_FIN | F_RST)) {
      const rst = (flags & F_RST) !== 0;
      if (rst) st |= fromClient ? S_RST_C : S_RST_S;
      else st |= fromClient ? S_FIN_C : S_FIN_S;
      st = (st & ~(3 << S_LAST_SHIFT)) | ((rst ? LAST_RST : LAST_FIN) << S_LAST_SHIFT);
      if (!((st >> S_CLOSER_SHIFT) & 3)) st |= (fromClient ? 1 : 2) << S_CLOSER_SHIFT;
    }
    this.zeekPacket(row, p, side);
    t.state[row] = st;
    if (p.ts > t.lastTs[row]) t.lastTs[row] = p.ts;
    t.touch(row, listFor(st));
  }

  /**
   * What Zeek's TCP analyzer does with a packet from `side` (0 client, 1 server), in its order:
   * history letters for the flags, W for a zero window, T for a retransmission, then the
   * endpoint state machine. Every check reads the states from before this packet, as Zeek's do.
   */
  private zeekPacket(row: number, p: PacketRecord, side: number): void {
    const t = this.t;
    const flags = p.flags;
    const z = t.zeek[row];
    const own = zState(z, side);
    const fromClient = side === 0;
    const ctl = flags & (F_SYN | F_FIN | F_RST);
    if (ctl === 0) {
      if (p.len > 0) this.hist(row, historySymbol(H.D, fromClient));
      else if (flags & F_ACK) this.hist(row, historySymbol(H.A, fromClient));
    } else if (ctl !== F_SYN && ctl !== F_FIN && ctl !== F_RST) this.hist(row, historySymbol(flags & F_SYN ? H.Q : H.I, fromClient));
    else if (ctl === F_SYN) {
      // S and H share one "SYN seen" entry per direction in Zeek: the first of them is written.
      if (!(t.historySeen[row] & ((1 << historySymbol(H.S, fromClient)) | (1 << historySymbol(H.H, fromClient))))) this.hist(row, historySymbol(flags & F_ACK ? H.H : H.S, fromClient));
    } else if (ctl === F_FIN) this.hist(row, historySymbol(H.F, fromClient));
    else {
      const sym = historySymbol(H.R, fromClient);
      if (!(t.historySeen[row] & (1 << sym))) this.hist(row, sym);
      else if ((p.seq | 0) !== t.lastRstSeq[2 * row + side]) this.addLetter(row, sym); // another RST, not a copy
      t.lastRstSeq[2 * row + side] = p.seq;
    }

    // After its RST nothing a side sends is trusted (and RESET is final): no W, no T.
    if (own !== Z_RESET) {
      if (p.win === 0 && !(flags & F_RST) && zState(z, 1 - side) !== Z_CLOSED) this.scaledLetter(row, 2 + side, historySymbol(H.W, fromClient));
      // Zeek's LastSeq: set by a side's first packet (past a SYN, at a data packet's start), again
      // by a SYN after the handshake, moved by every segment reaching past it; payload that does
      // not is a retransmission. Wild jumps of SYN/RST numbers are not trusted.
      const segEnd = (p.seq + (flags & F_RST ? 0 : p.len) + (flags & F_SYN ? 1 : 0) + (flags & F_FIN ? 1 : 0)) | 0;
      const k = 2 * row + side;
      if (own === Z_INACTIVE) t.highSeq[k] = flags & F_SYN ? segEnd : p.seq;
      else if (flags & F_SYN && zeekSynReinits(z, side)) t.highSeq[k] = segEnd;
      const delta = (segEnd - t.highSeq[k]) | 0;
      if (!(flags & (F_SYN | F_RST)) || (delta <= TOO_LARGE_SEQ_DELTA && delta >= -TOO_LARGE_SEQ_DELTA)) {
        if (delta > 0) t.highSeq[k] = segEnd;
        else if (p.len > 0) this.scaledLetter(row, side, historySymbol(H.T, fromClient));
      }
    }

    // Only SYN, FIN and RST move an endpoint that has spoken once: most packets skip the machine.
    if (ctl !== 0 || own === Z_INACTIVE) t.zeek[row] = zeekStep(z, side, flags, p.len);
  }

  /** Records a history letter the first time it occurs in this direction. */
  private hist(row: number, sym: number): void {
    const t = this.t;
    const seen = t.historySeen[row];
    if (seen & (1 << sym)) return;
    t.historySeen[row] = seen | (1 << sym);
    this.addLetter(row, sym);
  }

  /** Counts a T or W occurrence (`k`: 0-1 retransmissions, 2-3 zero windows, per side); the letter at 1, 10, 100, ... */
  private scaledLetter(row: number, k: number, sym: number): void {
    const t = this.t;
    const n = t.scaledCounts[4 * row + k] + 1;
    if (n > 0xffff) return;
    t.scaledCounts[4 * row + k] = n;
    if (isHistoryScale(n)) this.addLetter(row, sym);
  }

  private addLetter(row: number, sym: number): void {
    const t = this.t;
    const n = t.historyLen[row];
    if (n >= HISTORY_MAX_LETTERS) return;
    if (n < HISTORY_WORD_LETTERS) t.history[row] = historyWordAppend(t.history[row], n, sym);
    else t.history2[row] = historyWordAppend(t.history2[row], n - HISTORY_WORD_LETTERS, sym);
    t.historyLen[row] = n + 1;
  }

  private closeFlow(row: number, cause: ClosedBy): void {
    const t = this.t;
    if (this.replaced.size > 0) this.replaced.delete(row);
    this.counters.flowsClosed++;
    this.emit(this.closeEvent(row, cause));
    t.state[row] &= ~S_LIVE;
    t.touch(row, List.MEMORY);
  }

  private expire(now: number): void {
    const t = this.t;
    for (let list = List.HALF_OPEN; list <= List.CLOSED; list++) {
      const limit = now - this.timeoutUs[list];
      let r: number;
      while ((r = t.head(list)) !== NIL && t.lastTs[r] <= limit) this.closeFlow(r, 'idle');
    }
    const limit = now - this.memoryUs;
    let r: number;
    while ((r = t.head(List.MEMORY)) !== NIL && t.lastTs[r] <= limit) t.remove(r);
  }

  /** Keeps the table within its limits before a row is added. */
  private makeRoom(): void {
    const t = this.t;
    while (t.listSize[List.MEMORY] > 0 && t.listSize[List.MEMORY] >= this.maxRemembered) {
      t.remove(t.head(List.MEMORY));
      this.counters.forgotten++;
    }
    while (this.openFlows >= this.maxFlows) {
      // The least recently seen live flow is the oldest of the list heads.
      let victim = NIL;
      for (let list = List.HALF_OPEN; list <= List.CLOSED; list++) {
        const h = t.head(list);
        if (h !== NIL && (victim === NIL || t.lastTs[h] < t.lastTs[victim])) victim = h;
      }
      this.counters.evicted++;
      this.closeFlow(victim, 'evicted');
      if (this.maxRemembered === 0) t.remove(victim);
    }
  }

  private communityIdAt(row: number): string {
    const k = this.t.keys;
    return communityId(k.ipA[row]!, k.ports[2 * row], k.ipB[row]!, k.ports[2 * row + 1], this.communityIdSeed);
  }

  private endpoints(row: number): { client: Endpoint; server: Endpoint } {
    const t = this.t;
    const a: Endpoint = { ip: t.keys.ipA[row]!, port: t.keys.ports[2 * row] };
    const b: Endpoint = { ip: t.keys.ipB[row]!, port: t.keys.ports[2 * row + 1] };
    return t.state[row] & S_CLIENT_B ? { client: b, server: a } : { client: a, server: b };
  }

  private openEvent(row: number, ts: number): FlowOpenEvent {
    const t = this.t;
    const st = t.state[row];
    const { client, server } = this.endpoints(row);
    return {
      type: 'flow.open',
      ts,
      sensor: t.keys.sensor[row]!,
      flowId: this.flowIdAt(row)!,
      communityId: this.communityIdAt(row),
      stream: t.stream[row],
      client,
      server,
      clientBy: CLIENT_BY[(st >> S_CLIENTBY_SHIFT) & 3],
      openedBy: OPENED_BY[(st >> S_OPENEDBY_SHIFT) & 3],
      reused: (st & S_REUSED) !== 0,
      wireshark: (st & S_WS_REUSED) !== 0,
      frame: t.openFrame[row] >= 0 ? t.openFrame[row] : null,
      vlan: t.vlan[row] === 0xffff ? null : t.vlan[row],
    };
  }

  private closeEvent(row: number, cause: ClosedBy): FlowCloseEvent {
    const t = this.t;
    const st = t.state[row];
    const last = (st >> S_LAST_SHIFT) & 3;
    const startTs = t.firstTs[row];
    const endTs = t.lastTs[row];
    const { client, server } = this.endpoints(row);
    const history = historyText(t.history[row], t.history2[row]);
    // The open event's fields written again, in its order (JSON key order is part of the
    // contract), then the close fields: one literal is one allocation with every field in-object.
    // Extending openEvent()'s object in place, or spreading it, grows a property store per close
    // (the one literal measured 1.06-1.08x on track+detect).
    return {
      type: 'flow.close',
      ts: endTs,
      sensor: t.keys.sensor[row]!,
      flowId: this.flowIdAt(row)!,
      communityId: this.communityIdAt(row),
      stream: t.stream[row],
      client,
      server,
      clientBy: CLIENT_BY[(st >> S_CLIENTBY_SHIFT) & 3],
      openedBy: OPENED_BY[(st >> S_OPENEDBY_SHIFT) & 3],
      reused: (st & S_REUSED) !== 0,
      wireshark: (st & S_WS_REUSED) !== 0,
      frame: t.openFrame[row] >= 0 ? t.openFrame[row] : null,
      vlan: t.vlan[row] === 0xffff ? null : t.vlan[row],
      startTs,
      endTs,
      durationS: secondsBetween(startTs, endTs),
      closedBy: last === LAST_FIN ? 'fin' : last === LAST_RST ? 'rst' : cause,
      activeCloser: SIDES[(st >> S_CLOSER_SHIFT) & 3],
      state: zeekConnState(t.zeek[row], t.bytes[2 * row], t.bytes[2 * row + 1], history),
      history,
      packets: { c2s: t.packets[2 * row], s2c: t.packets[2 * row + 1] },
      bytes: { c2s: t.bytes[2 * row], s2c: t.bytes[2 * row + 1] },
    };
  }

  /** Consecutive packets are mostly of one connection: the last tuple's hash is kept. */
  private lastTuple = '';
  private lastCommunityId = '';
  private packetCommunityId(p: PacketRecord): string {
    const tuple = p.src + ' ' + p.sport + ' ' + p.dst + ' ' + p.dport;
    if (tuple !== this.lastTuple) {
      this.lastTuple = tuple;
      this.lastCommunityId = communityId(p.src, p.sport, p.dst, p.dport, this.communityIdSeed);
    }
    return this.lastCommunityId;
  }

  private emitAnnotation(p: PacketRecord, sensor: string, stream: number | null, flowId: string | null, reused: boolean): void {
    const communityId = p.icmpQuote === undefined ? this.packetCommunityId(p) : null;
    const a: PacketAnnotation = { type: 'packet', ts: p.ts, sensor, frame: p.frame ?? null, stream, flowId, communityId, reused, packet: p };
    this.emit(a);
  }
}


/** The timeout class of a flow in this state. */
function listFor(st: number): number {
  if (st & CLOSED_MASK || (st & S_FIN_C && st & S_FIN_S)) return List.CLOSED;
  if (st & (S_EST | S_DATA)) return List.ESTABLISHED;
  // Seen both ways without any handshake: a connection that began before the capture.
  if (!(st & (S_SYN_C | S_SYNACK_S)) && st & S_SEEN_C && st & S_SEEN_S) return List.ESTABLISHED;
  return List.HALF_OPEN;
}
