import { existsSync, fstatSync } from 'node:fs';
import { CaptureError, STDIN_PATH } from '../capture/pcap-reader';
import type { InputFormat } from '../ingest/input-decoder';
import type { Compression } from '../kafka/codecs';
import { createKafkaClient } from '../kafka/kafka-client';
import { replayCapture } from '../kafka/replay';
import { createLogger, type LogLevel } from '../util/logger';
import { UsageError } from './args';
import { COMPRESSIONS, CONNECTION_SETTINGS, connectionOf, INPUT_FORMATS, REGISTRY_SETTINGS, registryOf } from './kafka-settings';
import { resolveSettings, settingsHelp, type Setting } from './settings';

const SETTINGS: readonly Setting[] = [
  { name: 'topic', kind: 'string', help: 'topic to publish to (required; created when missing)', topic: true },
  { name: 'input-format', kind: 'enum', values: INPUT_FORMATS, default: 'avro', help: 'message format (what `consume --input-format` reads)' },
  { name: 'partitions', kind: 'integer', min: 1, default: 3, help: 'partitions of a topic created by replay' },
  { name: 'batch-size', kind: 'integer', min: 1, default: 500, help: 'avro/json: packets per message (1: one record per message)' },
  { name: 'speed', kind: 'string', default: 'max', help: '"max" (as fast as possible) or a factor of capture time: 1 real time, 10 ten times faster' },
  { name: 'rate', kind: 'number', min: 1, help: 'at most this many packets per second' },
  { name: 'sensor', kind: 'string', help: 'sensor id written into avro/json packets' },
  { name: 'compression', kind: 'enum', values: COMPRESSIONS, default: 'none', help: 'compression of the produced batches' },
  { name: 'tshark', kind: 'string', default: 'tshark', help: 'tshark-ek: the tshark binary whose `-T ek` lines are published' },
  { name: 'quiet', kind: 'boolean', default: false, help: 'no progress line on stderr' },
  ...CONNECTION_SETTINGS,
  ...REGISTRY_SETTINGS,
];

export const REPLAY_HELP = `tcpreuse replay - publish a capture to Kafka as packet-decoded messages

Usage: tcpreuse replay <capture> --topic <topic> [options]      (<capture> "-": standard input)

Every packet of an address pair goes to the same partition (FNV-1a of the pair), and each
partition gets its packets in capture order. avro/json batches are formed per partition;
single-packet messages are keyed by the address pair. tshark-ek runs the real tshark on the
capture and publishes the lines it prints; pcap-record publishes each frame with a 16-byte pcap
record header (and its link type in the tcpreuse-linktype header).

Options (also from TCPREUSE_<NAME> or --config file.json, as for consume):
  --config <file>                 JSON config file (or TCPREUSE_CONFIG)
${settingsHelp(SETTINGS)}

Examples:
  tcpreuse replay samples/sample.pcap --topic packets --brokers 127.0.0.1:9092
  tcpreuse replay trace.pcapng --topic packets.ek --input-format tshark-ek --speed 1
  tcpreuse replay big.pcap --topic packets --batch-size 2000 --compression lz4

A capture damaged midway (cut short, a corrupt record) is published up to the damage, then
one line says what is wrong and where (exit status 1).

Exit status: 0 published, 1 capture or Kafka failure, 2 usage error.`;

export async function replayCommand(argv: string[]): Promise<number> {
  const { values: v, positionals, help } = resolveSettings('replay', SETTINGS, argv);
  if (help) {
    process.stdout.write(REPLAY_HELP + '\n');
    return 0;
  }
  const [capture, ...rest] = positionals;
  if (!capture) throw new UsageError('replay needs a capture file: tcpreuse replay <capture> --topic <topic>');
  if (rest.length) throw new UsageError(`unexpected argument "${rest[0]}": one capture file per run`);
  if (!v.topic) throw new UsageError('replay needs --topic <topic> (or TCPREUSE_TOPIC)');
  let speed: number | null = null;
  if (v.speed !== 'max') {
    speed = Number(v.speed);
    if (!Number.isFinite(speed) || speed <= 0) throw new UsageError(`--speed must be "max" or a factor > 0, got "${v.speed}"`);
  }
  if (capture !== STDIN_PATH && !existsSync(capture)) {
    process.stderr.write(`tcpreuse: cannot read ${capture}: no such file\n`);
    return 1;
  }
  if (capture === STDIN_PATH && v.inputFormat === 'tshark-ek' && fstatSync(0).isSocket()) {
    // tshark is handed our standard input and refuses a socket (what a parent's child_process gives).
    process.stderr.write('tcpreuse: tshark reads standard input only from a pipe or a file, and this one is a socket: pipe the capture in through a shell (cat trace.pcap | tcpreuse replay - ...)\n');
    return 1;
  }
  const connection = connectionOf(v);
  const log = createLogger(v.logLevel as LogLevel);
  const quiet = v.quiet === true || !process.stderr.isTTY;
  const started = Date.now();
  try {
    const summary = await replayCapture(createKafkaClient(connection, log), {
      capture,
      topic: v.topic as string,
      format: v.inputFormat as InputFormat,
      partitions: v.partitions as number,
      batchSize: v.batchSize as number,
      speed,
      rate: (v.rate as number | null) ?? null,
      sensor: (v.sensor as string | null) ?? undefined,
      compression: v.compression as Compression,
      registry: registryOf(v),
      tshark: v.tshark as string,
      onProgress: quiet ? undefined : (packets, messages) => process.stderr.write(`\r${packets} packets in ${messages} messages`),
    });
    if (!quiet) process.stderr.write('\n');
    const s = (Date.now() - started) / 1000;
    process.stdout.write(
      `replayed ${summary.packets} TCP packets (${summary.frames} frames) as ${summary.messages} ${v.inputFormat} messages to ${v.topic} ` +
        `(${summary.partitions} partitions) in ${s.toFixed(1)} s${summary.damage ? ', up to the damage below' : ''}\n`,
    );
    if (summary.damage) {
      process.stderr.write(`tcpreuse: ${summary.damage.message}\n`);
      return 1;
    }
    return 0;
  } catch (err) {
    if (!quiet) process.stderr.write('\n');
    if (err instanceof CaptureError) {
      process.stderr.write(`tcpreuse: ${err.message}\n`);
      return 1;
    }
    process.stderr.write(`tcpreuse: replay failed: ${(err as Error).message}\n`);
    return 1;
  }
}
