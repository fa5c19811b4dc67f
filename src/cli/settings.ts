import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { argvError, UsageError } from './args';

/**
 * Settings of the long-running commands, from three sources: flags win over environment
 * variables (`TCPREUSE_<NAME>`), which win over a JSON config file (`--config`, keys in
 * camelCase), which wins over the default. Every value is validated at start and an error names
 * the source it came from, so a bad value never surfaces later as a stack trace.
 */
export interface Setting {
  /** Flag name without dashes, e.g. "time-wait". */
  readonly name: string;
  readonly kind: 'string' | 'number' | 'integer' | 'boolean' | 'list' | 'enum';
  readonly values?: readonly string[];
  readonly default?: string | number | boolean | readonly string[] | null;
  readonly min?: number;
  readonly max?: number;
  readonly help: string;
  /** Shown instead of the value in the help (e.g. secrets that should come from the environment). */
  readonly placeholder?: string;
  /** The value (each item of a list) names a Kafka topic: checked here, not refused later by the broker. */
  readonly topic?: boolean;
}

/** What the broker accepts as a topic name (Kafka's Topic.validate). */
const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;

export type SettingValue = string | number | boolean | string[] | null;

export const envName = (name: string): string => `TCPREUSE_${name.toUpperCase().replace(/-/g, '_')}`;
export const fileKey = (name: string): string => name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

const TOPIC_RULE = 'a Kafka topic name (1 to 249 of a-z A-Z 0-9 . _ -, not "." or "..")';
const isTopicName = (t: string): boolean => TOPIC_NAME.test(t) && t !== '.' && t !== '..';

function convert(s: Setting, raw: unknown, where: string): SettingValue {
  const bad = (what: string): never => {
    throw new UsageError(`${where} must be ${what}, got ${JSON.stringify(raw)}`);
  };
  if (raw === null) return null;
  switch (s.kind) {
    case 'boolean':
      if (typeof raw === 'boolean') return raw;
      if (raw === 'true' || raw === '1' || raw === 'yes') return true;
      if (raw === 'false' || raw === '0' || raw === 'no') return false;
      return bad('true or false');
    case 'number':
    case 'integer': {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
      const min = s.min ?? 0;
      const range = s.max === undefined ? `>= ${min}` : `in ${min}..${s.max}`;
      if (!Number.isFinite(n) || n < min || n > (s.max ?? Infinity) || (s.kind === 'integer' && !Number.isInteger(n))) return bad(`${s.kind === 'integer' ? 'an integer' : 'a number'} ${range}`);
      return n;
    }
    case 'list': {
      const items = Array.isArray(raw) ? raw.map(String) : typeof raw === 'string' ? raw.split(',') : bad('a comma-separated list');
      const list = (items as string[]).map((x) => x.trim()).filter((x) => x !== '');
      if (list.length === 0) bad('a non-empty comma-separated list');
      if (s.topic && !list.every(isTopicName)) bad(TOPIC_RULE + ' (comma-separated)');
      return list;
    }
    case 'enum':
      if (typeof raw !== 'string' || !s.values!.includes(raw)) return bad(`one of ${s.values!.join(', ')}`);
      return raw;
    case 'string':
      if (typeof raw !== 'string' || raw === '') return bad('a non-empty string');
      if (s.topic && !isTopicName(raw)) return bad(TOPIC_RULE);
      return raw;
  }
}

/** Parses argv (after the command name) against `settings`; positionals are returned as they are. */
export function resolveSettings(
  command: string,
  settings: readonly Setting[],
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
): { values: Record<string, SettingValue>; positionals: string[]; help: boolean } {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = { help: { type: 'boolean', short: 'h' }, config: { type: 'string' } };
  for (const s of settings) options[s.name] = { type: s.kind === 'boolean' ? 'boolean' : 'string' };
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true, allowNegative: true } as Parameters<typeof parseArgs>[0] & { allowNegative: boolean });
  } catch (err) {
    throw argvError(err, `tcpreuse ${command} --help`, command);
  }
  const flags = parsed.values as Record<string, string | boolean | undefined>;
  if (flags.help) return { values: {}, positionals: parsed.positionals, help: true };
  const configPath = (flags.config as string | undefined) ?? env.TCPREUSE_CONFIG;
  let file: Record<string, unknown> = {};
  if (configPath) {
    let text: string;
    try {
      text = readFileSync(configPath, 'utf8');
    } catch (err) {
      throw new UsageError(`cannot read config file ${configPath}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    try {
      file = JSON.parse(text) as Record<string, unknown>;
    } catch (err) {
      throw new UsageError(`config file ${configPath} is not JSON: ${(err as Error).message}`);
    }
    if (file === null || typeof file !== 'object' || Array.isArray(file)) throw new UsageError(`config file ${configPath} must hold a JSON object`);
    const known = new Set(settings.map((s) => fileKey(s.name)));
    for (const k of Object.keys(file)) {
      if (!known.has(k)) throw new UsageError(`config file ${configPath}: unknown setting "${k}" (known: ${[...known].join(', ')})`);
    }
  }
  const values: Record<string, SettingValue> = {};
  for (const s of settings) {
    const key = fileKey(s.name);
    if (flags[s.name] !== undefined) values[key] = convert(s, flags[s.name], `--${s.name}`);
    else if (env[envName(s.name)] !== undefined) values[key] = convert(s, env[envName(s.name)], envName(s.name));
    else if (file[key] !== undefined) values[key] = convert(s, file[key], `config file ${configPath}: ${key}`);
    else values[key] = s.default === undefined ? null : Array.isArray(s.default) ? [...(s.default as string[])] : (s.default as SettingValue);
  }
  return { values, positionals: parsed.positionals, help: false };
}

/** The options part of a command's --help, generated from its settings. */
export function settingsHelp(settings: readonly Setting[]): string {
  const lines: string[] = [];
  for (const s of settings) {
    const arg = s.kind === 'boolean' ? '' : ` <${s.placeholder ?? (s.kind === 'enum' ? s.values!.join('|') : s.kind === 'list' ? 'a,b' : s.kind === 'string' ? 'text' : 'n')}>`;
    const head = `  --${s.name}${arg}`;
    const def = s.default === undefined || s.default === null || s.default === false ? '' : ` (default ${Array.isArray(s.default) ? s.default.join(',') : String(s.default)})`;
    const text = `${s.help}${def}`;
    lines.push(head.length < 34 ? head.padEnd(34) + text : `${head}\n${' '.repeat(34)}${text}`);
  }
  return lines.join('\n');
}
