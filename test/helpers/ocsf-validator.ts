import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './run';

/**
 * The OCSF schema check runs in Python: ocsf-json-schema (the OCSF schema exports, made into JSON
 * Schemas per class) and jsonschema, pinned in ocsf-requirements.txt, installed from PyPI into
 * .cache/python on first use (.ci/run installs them up front).
 */
const TARGET = join(ROOT, '.cache', 'python');
const REQUIREMENTS = join(__dirname, 'ocsf-requirements.txt');
const SCRIPT = join(__dirname, 'ocsf_validate.py');
const env = { ...process.env, PYTHONPATH: TARGET };

export function pythonAvailable(): boolean {
  return spawnSync('python3', ['--version'], { stdio: 'ignore' }).status === 0;
}

export function installOcsfValidator(): void {
  const ok = spawnSync('python3', ['-c', 'import ocsf_json_schema, jsonschema'], { env, stdio: 'ignore' }).status === 0;
  if (ok && existsSync(TARGET)) return;
  execFileSync('python3', ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--target', TARGET, '-r', REQUIREMENTS], { stdio: 'inherit' });
}

/** Problems per event (empty: valid), against each OCSF version given. */
export function validateOcsf(events: readonly Record<string, unknown>[], versions: readonly string[]): string[][] {
  const out = execFileSync('python3', [SCRIPT, ...versions], { env, input: events.map((e) => JSON.stringify(e)).join('\n') + '\n', maxBuffer: 1 << 30, encoding: 'utf8' });
  return out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as string[]);
}
