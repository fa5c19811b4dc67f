#!/usr/bin/env node
import { setFlagsFromString } from 'node:v8';
import { captureBytes, CaptureError, STDIN_PATH } from '../capture/pcap-reader';
import { readPacketsInSequence } from '../capture/read-packets';
import type { FrameDecoder } from '../decode/frame-decoder';
import type { FlowTracker } from '../flow/flow-tracker';
import { formatEvent, hasPlaceIn, isSiemJsonFormat, SIEM_JSON_WRITERS } from '../formats/siem-format';
import { severityBelow, type TcpReuseEvent } from '../model/events';
import { analyze } from '../operators/analyze';
import { trackFlows } from '../operators/track-flows';
import { OptionError } from '../util/options';
import { packageVersion } from '../util/package-root';
import { HELP, parseCli, UsageError, type CliCommand } from './args';
import { LiveStatus, ProgressBar, type Progress } from './progress';
import { limitNotes, type LimitedTables } from '../operators/limit-counts';
import { AnalyzeReport } from './report';
import { endInputOnInterrupt } from './live-input';
import { StdoutWriter } from './stdout-writer';

const PROGRESS_MIN_BYTES = 20 * 1024 * 1024;

/**
 * analyze and annotate are short runs on two cores shared by the analysis and V8's optimising
 * compiler: TurboFan's default inlining budget (920 bytecode bytes per function) makes it spend
 * about twice the CPU compiling our hot paths in the first 0.3 s. A budget of 200 measured
 * 0.90-0.94x the run time on a 6.7 MB capture and no change on a 67 MB one (bench/README.md,
 * "The core and analyze"). Set before any of our code is hot; the long-running consume keeps V8's default.
 * Only a compiler heuristic, read per compile job, is safe to change once V8 runs: heap and GC
 * flags set this way abort the process (--single-threaded-gc crashed V8 in its first GC).
 */
const SHORT_RUN_V8_FLAGS = '--max-inlined-bytecode-size-cumulative=200';


/** The captures as the report's first line names them. */
function captureList(captures: readonly string[]): string {
  if (captures.length <= 3) return captures.join(' ');
  return `${captures[0]} ... ${captures[captures.length - 1]} (${captures.length} files)`;
}

/**
 * What to draw on stderr while reading: a bar for a large file, a status line for a live capture
 * on standard input (nothing else shows until it ends; not over --json events on the same
 * terminal), nothing when stderr is no terminal.
 */
function progressFor(cmd: CliCommand, describe: () => string): Progress | undefined {
  if (!cmd.progress || !process.stderr.isTTY) return undefined;
  if (cmd.captures[0] === STDIN_PATH) return cmd.json && process.stdout.isTTY ? undefined : new LiveStatus(process.stderr, describe);
  try {
    const bytes = cmd.captures.reduce((n, c) => n + captureBytes(c), 0);
    return bytes >= PROGRESS_MIN_BYTES ? new ProgressBar(process.stderr) : undefined;
  } catch {
    return undefined; // the reader reports a missing or unreadable file with a proper message
  }
}

function run(cmd: CliCommand): Promise<void> {
  const live = cmd.captures[0] === STDIN_PATH ? endInputOnInterrupt() : undefined;
  return runOn(cmd, live?.signal).finally(() => live?.dispose());
}

function runOn(cmd: CliCommand, signal: AbortSignal | undefined): Promise<void> {
  const out = new StdoutWriter(process.stdout);
  const decoders: FrameDecoder[] = []; // one per capture file
  let tracker: FlowTracker | undefined;
  const reuses = { all: 0, high: 0 };
  const framesRead = (): number => decoders.reduce((n, d) => n + d.decoded + d.skippedTotal, 0);
  const bar = progressFor(cmd, () =>
    cmd.command === 'annotate'
      ? `${framesRead()} frames`
      : `${framesRead()} frames, ${tracker?.openFlows ?? 0} connections open, ${reuses.all} port reuses (${reuses.high} high)`,
  );
  // Damage after the first frame ends the capture there: open flows close as at the end of
  // input, the output covers every frame before the damage, then it is reported (exit 1).
  let damage: CaptureError | undefined;
  const frames$ = readPacketsInSequence(
    cmd.captures,
    {
      sensor: cmd.options.sensor,
      onProgress: bar ? (done, total) => bar!.update(done, total) : undefined,
      throttle: () => out.waitForDrain(),
      onDamage: (err) => (damage = err),
      signal,
    },
    { onDecoder: (d) => void decoders.push(d) },
  );
  const report = new AnalyzeReport(cmd.limit, cmd.maxClients);
  const tables: LimitedTables = {};
  const unformatted = new Map<string, number>(); // events the chosen SIEM schema has no place for

  return new Promise<void>((resolve, reject) => {
    const fail = (err: unknown): void => {
      bar?.clear();
      out.flush();
      reject(err);
    };
    const finish = (): void => {
      bar?.clear();
      out.flush();
      if (damage) reject(damage);
      else resolve();
    };
    if (cmd.command === 'annotate') {
      out.write('frame,stream,reused\n');
      frames$.pipe(trackFlows({ sensor: cmd.options.sensor, annotate: true })).subscribe({
        next(e) {
          if (e.type === 'packet') out.write(`${e.frame},${e.stream ?? ''},${e.reused ? 1 : 0}\n`);
        },
        error: fail,
        complete: finish,
      });
      return;
    }
    frames$
      .pipe(
        analyze({
          ...cmd.options,
          watermarks: false,
          hooks: {
            onTracker: (t) => {
              tracker = t;
              tables.tracker = t;
            },
            onDetector: (d) => (tables.detector = d),
            onCycles: (d) => (tables.cycles = d),
            onStats: (w) => (tables.stats = w),
          },
        }),
      )
      .subscribe({
        next(e: TcpReuseEvent) {
          if (e.type === 'port.reuse') {
            reuses.all++;
            if (e.severity === 'high') reuses.high++;
            if (cmd.json && severityBelow(e.severity, cmd.minSeverity)) return;
          }
          if (!cmd.json) report.add(e);
          else if (cmd.format === 'json') out.writeEvent(e);
          else if (isSiemJsonFormat(cmd.format) && hasPlaceIn(cmd.format, e)) out.writeEvent(e, SIEM_JSON_WRITERS[cmd.format]);
          else {
            const f = formatEvent(cmd.format, e);
            if (f) out.write(f.text + '\n');
            else unformatted.set(e.type, (unformatted.get(e.type) ?? 0) + 1);
          }
        },
        error: fail,
        complete() {
          bar?.clear();
          if (!cmd.json) {
            const skipped = new Map<string, number>();
            for (const d of decoders) for (const [why, n] of d.skipped) skipped.set(why, (skipped.get(why) ?? 0) + n);
            out.write(
              report.render(
                {
                  capture: captureList(cmd.captures),
                  sensor: cmd.options.sensor ?? 'default',
                  frames: framesRead(),
                  packets: decoders.reduce((n, d) => n + d.decoded, 0),
                  skipped,
                  streams: tracker?.streams ?? 0,
                  damage: damage && (cmd.captures.length > 1 ? `${damage.path}: ${damage.reason}` : damage.reason),
                },
                cmd.minSeverity,
              ),
            );
          }
          for (const note of limitNotes({ ...tables, reportUntracked: cmd.json ? 0 : report.untrackedClients })) process.stderr.write(note);
          if (unformatted.size > 0) {
            const what = [...unformatted].map(([type, n]) => `${n} ${type}`).join(', ');
            process.stderr.write(`tcpreuse: --format ${cmd.format} has no place for ${what}: not printed (--format ecs or json carries every event)\n`);
          }
          finish();
        },
      });
  });
}

/**
 * consume, repartition and replay are long-running Kafka commands with their own settings (flags, env, file).
 * Loaded on demand: kafkajs, the compression codecs and Avro cost `analyze` a tenth of a second
 * of start-up it has no use for.
 */
async function kafkaCommand(name: string, argv: string[]): Promise<number> {
  try {
    if (name === 'consume') return await (require('./consume-command') as typeof import('./consume-command')).consumeCommand(argv);
    if (name === 'repartition') return await (require('./repartition-command') as typeof import('./repartition-command')).repartitionCommand(argv);
    return await (require('./replay-command') as typeof import('./replay-command')).replayCommand(argv);
  } catch (err) {
    if (err instanceof UsageError || err instanceof OptionError) {
      process.stderr.write(`tcpreuse: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}

async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'consume' || argv[0] === 'replay' || argv[0] === 'repartition') return kafkaCommand(argv[0], argv.slice(1));
  let cmd: CliCommand;
  try {
    cmd = parseCli(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`tcpreuse: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (cmd.command === 'help') {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  if (cmd.command === 'version') {
    process.stdout.write(packageVersion() + '\n');
    return 0;
  }
  setFlagsFromString(SHORT_RUN_V8_FLAGS);
  try {
    await run(cmd);
    return 0;
  } catch (err) {
    if (err instanceof CaptureError) {
      process.stderr.write(`tcpreuse: ${err.message}\n`);
      return 1;
    }
    if (err instanceof OptionError) {
      process.stderr.write(`tcpreuse: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    // Not a user mistake: a bug. Say so, with the stack, so it can be reported.
    process.stderr.write(`tcpreuse: internal error, please report it: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exitCode = 70;
  },
);
