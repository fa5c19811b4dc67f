import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as avro from 'avsc';

/** One registry for all of tcpreuse's schemas, so event schemas can name io.tcpreuse.PacketRecord. */
const registry: Record<string, avro.Type> = {};

/** schemas/ sits at the package root, two levels above src/avro (three from dist/src/avro). */
function schemaPath(name: string): string {
  for (const up of ['../..', '../../..']) {
    const p = join(__dirname, up, 'schemas', name);
    try {
      readFileSync(p);
      return p;
    } catch {
      // try the next location
    }
  }
  throw new Error(`schema ${name} not found next to the package`);
}

/** Parses schemas/<name> into an avsc Type (schemas load in dependency order: packets first). */
export function loadSchema(name: string): avro.Type {
  return avro.Type.forSchema(JSON.parse(readFileSync(schemaPath(name), 'utf8')), { registry, wrapUnions: 'auto' });
}
