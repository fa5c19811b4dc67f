import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The package's root folder (where package.json is), found from this file: built (dist/src/util) or not (src/util). */
export function packageRoot(): string {
  let d = __dirname;
  while (!existsSync(join(d, 'package.json')) && dirname(d) !== d) d = dirname(d);
  return d;
}

let version: string | undefined;

/** The package's version, as package.json says. */
export function packageVersion(): string {
  version ??= (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  return version;
}
