// Build step: Node-RED loads a node's editor file (<type>.html), its locales/ and icons/ from the
// folder of its runtime .js, so they are copied next to the compiled nodes in dist/nodes.
const { cpSync, mkdirSync, readdirSync } = require('node:fs');
const { join } = require('node:path');

const out = join(__dirname, '..', 'dist', 'nodes');
mkdirSync(out, { recursive: true });
for (const f of readdirSync(__dirname)) if (f.endsWith('.html')) cpSync(join(__dirname, f), join(out, f));
for (const dir of ['locales', 'icons']) cpSync(join(__dirname, dir), join(out, dir), { recursive: true });
