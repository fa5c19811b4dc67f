import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { encodeBatch, encodePacket, packetBatchType, packetRecordType } from '../avro/packet-schemas';
import { CaptureError, readCapture, STDIN_PATH } from '../capture/pcap-reader';
import { FrameDecoder } from '../decode/frame-decoder';
import { AVRO_SHAPE_HEADER } from '../ingest/avro-packets';
import type { InputFormat } from '../ingest/input-decoder';
import { encodePcapRecord, LINK_TYPE_HEADER } from '../ingest/pcap-record';
import { decodeTsharkEk } from '../ingest/tshark-ek';
import type { PacketRecord } from '../model/packet-record';
import type { KafkaClient, OutgoingMessage, Sink } from './client';
import { fnv1a32 } from '../util/fnv';
import type { Compression } from './codecs';
import { SchemaRegistryClient, wireHeader, type RegistrySettings } from './schema-registry';

export interface ReplayOptions {
  readonly capture: string;
  readonly topic: string;
  readonly format: InputFormat;
  /** Partitions to create the topic with when it does not exist. @default 3 */
  readonly partitions: number;
  /** Packets per message for avro and json (1: one record per message). @default 500 */
  readonly batchSize: number;
  /** Capture time speed-up (1 = as captured, 10 = ten times faster); null: as fast as possible. */
  readonly speed: number | null;
  /** Upper bound on packets per second; null: none. */
  readonly rate: number | null;
  readonly sensor?: string;
  readonly compression: Compression;
  /** tshark binary for `tshark-ek` (the lines are what real tshark prints). @default "tshark" */
  readonly tshark?: string;
  readonly onProgress?: (packets: number, messages: number) => void;
  /** Avro in the Schema Registry wire format: the schema registered under `<topic>-value`, each message framed with its id. */
  readonly registry?: RegistrySettings | null;
}

export interface ReplaySummary {
  readonly frames: number;
  readonly packets: number;
  readonly messages: number;
  readonly partitions: number;
  /** The capture was damaged midway: everything before the damage was published, then reading stopped. */
  readonly damage?: CaptureError;
}

/** Kafka message key of a packet: its two addresses, low first, so both directions share it. */
export function addressPairKey(p: { src: string; dst: string }): string {
  return p.src < p.dst ? `${p.src}|${p.dst}` : `${p.dst}|${p.src}`;
}

/** FNV-1a: which partition an address pair goes to (stable across runs and machines). */
export function partitionOf(key: string, partitions: number): number {
  return fnv1a32(key) % partitions;
}

const SEND_EVERY_MESSAGES = 200;
const SEND_EVERY_BYTES = 4 * 1024 * 1024;

/** Paces messages in capture time (`speed`) and packet rate (`rate`). */
class Pacer {
  private firstTs: number | null = null;
  private readonly startMs = Date.now();
  private sent = 0;

  constructor(
    private readonly speed: number | null,
    private readonly rate: number | null,
  ) {}

  /** Milliseconds to wait before the packet at `ts` (µs) may go. */
  delayMs(ts: number): number {
    this.sent++;
    let wait = 0;
    const elapsed = Date.now() - this.startMs;
    if (this.speed !== null) {
      if (this.firstTs === null) this.firstTs = ts;
      wait = Math.max(wait, (ts - this.firstTs) / 1000 / this.speed - elapsed);
    }
    if (this.rate !== null) wait = Math.max(wait, (this.sent / this.rate) * 1000 - elapsed);
    return wait;
  }
}

/**
 * Publishes a capture to a topic as packet-decoded messages, so the pipeline can be shown and
 * measured end to end without a live sensor.
 *
 * Every packet of an address pair goes to the partition the pair hashes to, and each partition
 * receives its packets in capture order: single-packet messages are keyed by the pair; batches
 * (avro, json with batchSize > 1) are formed per partition, so a batch may mix pairs of that
 * partition and is sent without a key. `tshark-ek` runs the real tshark on the capture and
 * publishes its lines; `pcap-record` publishes raw frames with a pcap record header.
 */
export async function replayCapture(client: KafkaClient, o: ReplayOptions): Promise<ReplaySummary> {
  const admin = client.admin();
  await admin.connect();
  let partitions: number;
  try {
    await admin.ensureTopics([{ topic: o.topic, partitions: o.partitions }]);
    partitions = (await admin.endOffsets(o.topic)).size;
  } finally {
    await admin.disconnect();
  }
  // The one schema this run writes (a record per message, or batches), registered as the topic's value schema.
  let framing: Buffer | null = null;
  if (o.registry && o.format === 'avro') {
    const schema = (o.batchSize <= 1 ? packetRecordType : packetBatchType).schema() as object;
    framing = wireHeader(await new SchemaRegistryClient(o.registry).register(`${o.topic}-value`, schema));
  }
  const sink = client.sink({ compression: o.compression });
  await sink.connect();
  const out = new Publisher(sink, o, partitions, framing);
  let damage: CaptureError | undefined;
  try {
    damage = o.format === 'tshark-ek' ? await replayEk(out, o) : await replayFrames(out, o);
    await out.finish();
  } finally {
    await sink.disconnect();
  }
  return { frames: out.frames, packets: out.packets, messages: out.messages, partitions, damage };
}

class Publisher {
  frames = 0;
  packets = 0;
  messages = 0;
  private pending: OutgoingMessage[] = [];
  private pendingBytes = 0;
  private readonly batches: PacketRecord[][];
  private readonly pacer: Pacer;

  constructor(
    private readonly sink: Sink,
    private readonly o: ReplayOptions,
    private readonly partitions: number,
    /** The wire-format header avro values get (Schema Registry), or null. */
    private readonly framing: Buffer | null = null,
  ) {
    this.batches = Array.from({ length: partitions }, () => []);
    this.pacer = new Pacer(o.speed, o.rate);
  }

  /** Waits as pacing requires; pending messages go out first so nothing sits in a buffer while we sleep. */
  async pace(ts: number): Promise<void> {
    const wait = this.pacer.delayMs(ts);
    if (wait <= 1) return;
    await this.flushBatches();
    await this.send();
    await new Promise((r) => setTimeout(r, wait));
  }

  async packet(p: PacketRecord): Promise<void> {
    this.packets++;
    const key = addressPairKey(p);
    const partition = partitionOf(key, this.partitions);
    if (this.o.batchSize <= 1) {
      const single = this.o.format === 'avro';
      await this.push({
        topic: this.o.topic,
        partition,
        key,
        value: single ? this.framed(encodePacket(p)) : JSON.stringify(p),
        timestampMs: Math.floor(p.ts / 1000),
        headers: single ? { [AVRO_SHAPE_HEADER]: 'record' } : undefined,
      });
      return;
    }
    const b = this.batches[partition];
    b.push(p);
    if (b.length >= this.o.batchSize) await this.flushBatch(partition);
  }

  /** A message that is already encoded (ek line, pcap record), keyed by its address pair when it has one. */
  async raw(value: Buffer | string, tsUs: number, pair: string | null, headers?: Record<string, string>): Promise<void> {
    await this.push({
      topic: this.o.topic,
      partition: pair === null ? 0 : partitionOf(pair, this.partitions),
      key: pair,
      value,
      timestampMs: Math.floor(tsUs / 1000),
      headers,
    });
  }

  async finish(): Promise<void> {
    await this.flushBatches();
    await this.send();
  }

  private async flushBatches(): Promise<void> {
    for (let i = 0; i < this.partitions; i++) if (this.batches[i].length > 0) await this.flushBatch(i);
  }

  private async flushBatch(partition: number): Promise<void> {
    const b = this.batches[partition];
    this.batches[partition] = [];
    const avro = this.o.format === 'avro';
    await this.push({
      topic: this.o.topic,
      partition,
      key: null,
      value: avro ? this.framed(encodeBatch(b)) : JSON.stringify(b),
      timestampMs: Math.floor(b[0].ts / 1000),
      headers: avro ? { [AVRO_SHAPE_HEADER]: 'batch' } : undefined,
    });
  }

  private framed(avro: Buffer): Buffer {
    return this.framing ? Buffer.concat([this.framing, avro]) : avro;
  }

  private async push(m: OutgoingMessage): Promise<void> {
    this.pending.push(m);
    this.pendingBytes += m.value?.length ?? 0;
    this.messages++;
    if (this.pending.length >= SEND_EVERY_MESSAGES || this.pendingBytes >= SEND_EVERY_BYTES) await this.send();
  }

  private async send(): Promise<void> {
    if (this.pending.length === 0) return;
    const out = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    await this.sink.send(out);
    this.o.onProgress?.(this.packets, this.messages);
  }
}

/** Publishes every frame; resolves with the damage when the capture breaks off after its first frame. */
async function replayFrames(out: Publisher, o: ReplayOptions): Promise<CaptureError | undefined> {
  const decoder = new FrameDecoder({ sensor: o.sensor });
  let chain = Promise.resolve();
  let queued = 0;
  // Frames are published in order through one promise chain; the reader pauses (throttle) while
  // many are queued, so a multi-GB capture is read only as fast as Kafka takes it.
  let damage: CaptureError | undefined;
  const frames = readCapture(o.capture, { throttle: () => (queued > 10_000 ? chain : undefined), onDamage: (err) => (damage = err) });
  return new Promise<CaptureError | undefined>((resolve, reject) => {
    let failed = false;
    const sub = frames.subscribe({
      next(f) {
        out.frames++;
        queued++;
        chain = chain.then(async () => {
          queued--;
          if (failed) return;
          const p = decoder.decode(f);
          await out.pace(f.ts);
          if (o.format === 'pcap-record') {
            if (p) out.packets++;
            await out.raw(encodePcapRecord(f.ts, f.data), f.ts, p ? addressPairKey(p) : null, { [LINK_TYPE_HEADER]: String(f.linkType) });
          } else if (p) {
            await out.packet(p);
          }
        });
        chain.catch((err: unknown) => {
          if (failed) return;
          failed = true;
          sub?.unsubscribe();
          reject(err);
        });
      },
      error: reject,
      // Damage midway ends the capture there: what was read before it is still published.
      complete: () => chain.then(() => resolve(damage), reject),
    });
  });
}

/** Publishes tshark's ek lines; resolves with the damage when tshark stops midway. */
async function replayEk(out: Publisher, o: ReplayOptions): Promise<CaptureError | undefined> {
  const fields = ['frame.number', 'frame.time_epoch', 'ip.src', 'ip.dst', 'ipv6.src', 'ipv6.dst', 'tcp.srcport', 'tcp.dstport', 'tcp.flags', 'tcp.seq_raw', 'tcp.ack_raw', 'tcp.len', 'tcp.hdr_len', 'tcp.window_size_value', 'vlan.id', 'icmp.type', 'icmpv6.type'];
  const args = ['-r', o.capture, '-n', '-T', 'ek', ...fields.flatMap((f) => ['-e', f])];
  // tshark reads "-" as standard input too: hand it ours.
  const child = spawn(o.tshark ?? 'tshark', args, { stdio: [o.capture === STDIN_PATH ? 'inherit' : 'ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number>((resolve, reject) => {
    child.on('error', (err) => reject(new Error(`cannot run tshark (${(err as Error).message}); install it (Debian: apt-get install tshark) or pass --tshark <path>`)));
    child.on('close', (code) => resolve(code ?? 1));
  });
  const lines = createInterface({ input: child.stdout });
  for await (const line of lines) {
    if (!line.trim() || line.startsWith('{"index"')) continue;
    out.frames++;
    const { packets } = decodeTsharkEk(Buffer.from(line));
    const p = packets[0];
    const ts = p?.ts ?? 0;
    if (p) {
      out.packets++;
      await out.pace(ts);
    }
    await out.raw(line, ts, p ? addressPairKey(p) : null);
  }
  const code = await exited;
  if (code === 0) return undefined;
  const why = stderr.trim().split('\n').pop() ?? '';
  // tshark stops at damage midway after printing every packet before it (which is published).
  if (out.frames > 0) return new CaptureError(`tshark stopped reading it (exit ${code}): ${why}`, o.capture, -1);
  throw new Error(`tshark failed (exit ${code}): ${why}`);
}
