import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { STDIN_PATH } from '../capture/pcap-reader';
import { packageRoot } from '../util/package-root';
import { isSiemFormat, SIEM_FORMATS, type SiemFormat } from '../formats/siem-format';
import { SEVERITIES, type Severity } from '../model/events';
import type { AnalyzeOptions } from '../operators/analyze';

/** A mistake in how the command was called: exit code 2 with a one-line message. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export const HELP = `tcpreuse - TCP flow tracking and port-reuse detection on captures and packet streams

Usage:
  tcpreuse analyze <capture>... [options]   report flows, port reuses, port cycles and pressure
  tcpreuse annotate <capture>... [options]  print frame,stream,reused for every TCP frame
                                            (Wireshark's tcp.stream and [TCP Port numbers reused])
  tcpreuse consume --topic <t> [options]    the Kafka service: packet messages in, events out
                                            (tcpreuse consume --help)
  tcpreuse replay <capture> --topic <t>     publish a capture to Kafka as packet messages
                                            (tcpreuse replay --help)
  tcpreuse repartition --topic <t> --app-id <a>
                                            re-key packets by address pair for consume --app-id
                                            (tcpreuse repartition --help)
  tcpreuse help | --help                    this text
  tcpreuse --version

<capture> is a pcap or pcapng file, optionally gzip-compressed (.gz is detected, not guessed),
or - for standard input (tcpdump -w - | tcpreuse analyze -). Several files are read one after
another as one capture (as mergecap -a joins them; e.g. the files of a rotating tcpdump -G):
frame numbers go on, and a connection or a reuse may span files.

Options for analyze:
  --json                   print every event as one JSON line instead of the report
  --format <f>             report (default), json (as --json), or a SIEM's schema, one event per
                           line: ecs (Elastic Common Schema, every event), ocsf (OCSF 1.4: flows as
                           Network Activity, reuses/cycles/pressure as Detection Finding), cef
                           (ArcSight CEF, the alerts); events a schema has no place for are
                           counted on stderr
  --time-wait <s>          TIME_WAIT the severity policy judges against (default 60, as Linux;
                           use 240 for Windows clients)
  --window <s>             how long an ended connection is remembered per 4-tuple (default 14400)
  --stats-window <s>       tumbling window of reuse.stats events (default 60)
  --established-timeout <s>  idle time closing an established flow (default 300)
  --half-open-timeout <s>  idle time closing a flow still in its handshake (default 30)
  --closed-timeout <s>     linger of a flow after FIN/FIN or RST (default 10)
  --max-flows <n>          flow table limit; the least recently seen flow is evicted (default 1000000)
  --max-remembered <n>     ended connections remembered per 4-tuple (for Wireshark's stream numbers
                           and for reuse detection); the oldest are forgotten (default 1000000)
  --max-clients <n>        clients tracked for port cycles, pressure, reuse.stats windows and the
                           report's top clients; beyond it the least recent are dropped or new ones
                           not counted (default 100000). These three bound the memory: see
                           docs/limits.md for the bytes per entry
  --community-id-seed <n>  seed of the events' Community ID flow hash, 0..65535 (default 0; use
                           the seed your Zeek/Suricata sensors use, so the IDs join up)
  --sensor <name>          sensor id on every event (default: the (first) capture's file name;
                           "stdin" for -)
  --limit <n>              reuses listed per severity in the report (default 10; 0 = all)
  --min-severity <s>       only port reuses this severe or worse are listed (report) or printed
                           (--json): info, low, medium or high (default info: all); the counts
                           and reuse.stats still cover every reuse
  --no-progress            never draw the progress bar (drawn on a terminal for files > 20 MB)
  --sample                 the capture that comes with the package (samples/sample.pcap) as input

Severity policy (port.reuse):
  info    port came back after more than TIME_WAIT (after a FIN close or an idle flow)
  low     reuse after an RST abort (no TIME_WAIT after RST)
  medium  new SYN inside TIME_WAIT the server holds (RFC 6191); RST reuse recurring faster than 1/s;
          reuse of an idle flow inside TIME_WAIT
  high    client reused its port inside its own TIME_WAIT; previous connection still open

Examples:
  tcpreuse analyze --sample      (the capture bundled with the package, wherever it is installed)
  tcpreuse analyze trace.pcapng.gz --time-wait 240 --json | jq 'select(.type=="port.reuse")'
  tcpreuse annotate trace.pcap > ours.csv
  tcpreuse analyze ring/trace-*.pcap.gz --sensor dmz    (the files in the order given)
  tcpdump -i eth0 -U -s 256 -w - tcp | tcpreuse analyze - --json     (Ctrl-C ends the input)

A capture damaged midway (cut short, a corrupt record) is read up to the damage: the output
covers every frame before it, connections still open there close as at the end of a capture
("eof"), then one line says what is wrong and where, and the exit status is 1.

Exit status: 0 ok, 1 the capture could not be read to its end (one-line message), 2 usage error.`;

export interface CliCommand {
  command: 'analyze' | 'annotate' | 'help' | 'version';
  /** One or more; "-" (standard input) only alone. */
  captures: string[];
  /** Events as lines (tcpreuse JSON or a SIEM schema) instead of the report. */
  json: boolean;
  /** The line format when `json`: tcpreuse's own JSON or a SIEM schema. */
  format: 'json' | SiemFormat;
  limit: number;
  /** The report's client table limit (--max-clients). */
  maxClients: number;
  /** port.reuse events below this severity are left out of the listing and the --json lines. */
  minSeverity: Severity;
  progress: boolean;
  options: AnalyzeOptions;
}

function seconds(name: string, v: string | undefined, min = 0): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || v.trim() === '') throw new UsageError(`--${name} must be a number of seconds >= ${min}, got "${v}"`);
  return n;
}

function integer(name: string, v: string | undefined, min: number, max = Infinity): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  const range = max === Infinity ? `>= ${min}` : `in ${min}..${max}`;
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be an integer ${range}, got "${v}"`);
  return n;
}

function outputFormat(v: string | undefined, json: boolean): 'report' | 'json' | SiemFormat {
  if (v === undefined) return json ? 'json' : 'report';
  if (v !== 'report' && v !== 'json' && !isSiemFormat(v)) throw new UsageError(`--format must be one of report, json, ${SIEM_FORMATS.join(', ')}, got "${v}"`);
  if (json && v !== 'json') throw new UsageError(`--json and --format ${v} disagree: give one of them`);
  return v;
}

function severity(v: string | undefined): Severity {
  if (v === undefined) return 'info';
  if (!(SEVERITIES as readonly string[]).includes(v)) throw new UsageError(`--min-severity must be one of ${SEVERITIES.join(', ')}, got "${v}"`);
  return v as Severity;
}

/**
 * node:util parseArgs's complaint as a usage error that says where the options are listed. Its
 * advice on positionals ("To specify a positional argument starting with a '-'...") is dropped:
 * no tcpreuse positional starts with '-' but '-' itself, which parseArgs already accepts.
 */
export function argvError(err: unknown, help: string, command?: string): UsageError {
  const raw = (err as Error).message.replace(/\. To specify a positional argument.*$/, '');
  // parseArgs capitalises ("Unknown option"); every other message of the CLI starts in lower case.
  const what = raw.charAt(0).toLowerCase() + raw.slice(1);
  return new UsageError(`${command ? `${command}: ` : ''}${what} (${help} lists the options)`);
}

/** samples/sample.pcap of this package: beside the package.json above this file (built or not). */
function bundledSample(): string {
  return join(packageRoot(), 'samples', 'sample.pcap');
}

export function parseCli(argv: string[]): CliCommand {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean' },
        json: { type: 'boolean' },
        format: { type: 'string' },
        'time-wait': { type: 'string' },
        window: { type: 'string' },
        'stats-window': { type: 'string' },
        'established-timeout': { type: 'string' },
        'half-open-timeout': { type: 'string' },
        'closed-timeout': { type: 'string' },
        'max-flows': { type: 'string' },
        'max-remembered': { type: 'string' },
        'max-clients': { type: 'string' },
        'community-id-seed': { type: 'string' },
        sensor: { type: 'string' },
        limit: { type: 'string' },
        'min-severity': { type: 'string' },
        'no-progress': { type: 'boolean' },
        sample: { type: 'boolean' },
      },
    });
  } catch (err) {
    throw argvError(err, 'tcpreuse --help');
  }
  const { values: v, positionals } = parsed;
  const base: CliCommand = { command: 'help', captures: [], json: false, format: 'json', limit: 10, maxClients: 100_000, minSeverity: 'info', progress: true, options: {} };
  if (v.version) return { ...base, command: 'version' };
  // No command at all is a usage error (exit 2, the usage on stderr); asking for help is not.
  if (!v.help && positionals.length === 0) throw new UsageError(`a command is needed: tcpreuse analyze <capture> (tcpreuse --help lists the commands)`);
  if (v.help || positionals[0] === 'help') return base;
  const [command, ...given] = positionals;
  // The bundled sample, found from this file, so the first example runs wherever the package is installed.
  const captures = v.sample ? [...given, bundledSample()] : given;
  if (command !== 'analyze' && command !== 'annotate') {
    throw new UsageError(`unknown command "${command}" (expected analyze, annotate, consume or replay; see tcpreuse --help)`);
  }
  if (captures.length === 0) throw new UsageError(`${command} needs a capture file: tcpreuse ${command} <capture>`);
  if (captures.length > 1 && captures.includes(STDIN_PATH)) throw new UsageError('- (standard input) is a capture of its own: give it alone');
  const capture = captures[0];
  const timeWaitS = seconds('time-wait', v['time-wait']);
  const format = outputFormat(v.format, v.json === true);
  const maxRemembered = integer('max-remembered', v['max-remembered'], 1);
  const maxClients = integer('max-clients', v['max-clients'], 1);
  const options: AnalyzeOptions = {
    sensor: v.sensor ?? (capture === STDIN_PATH ? 'stdin' : basename(capture).replace(/\.(pcapng|pcap|cap)(\.gz)?$/i, '')),
    timeWaitS,
    flows: {
      establishedTimeoutS: seconds('established-timeout', v['established-timeout'], 0.001),
      halfOpenTimeoutS: seconds('half-open-timeout', v['half-open-timeout'], 0.001),
      closedTimeoutS: seconds('closed-timeout', v['closed-timeout']),
      maxFlows: integer('max-flows', v['max-flows'], 1),
      maxRemembered,
      communityIdSeed: integer('community-id-seed', v['community-id-seed'], 0, 65535),
    },
    reuse: { windowS: seconds('window', v.window), maxEntries: maxRemembered },
    cycles: { maxClients },
    stats: { windowS: seconds('stats-window', v['stats-window'], 0.001), maxClients },
  };
  return {
    command,
    captures,
    json: format !== 'report',
    format: format === 'report' ? 'json' : format,
    limit: integer('limit', v.limit, 0) ?? 10,
    maxClients: maxClients ?? 100_000,
    minSeverity: severity(v['min-severity']),
    progress: v['no-progress'] !== true,
    options,
  };
}
