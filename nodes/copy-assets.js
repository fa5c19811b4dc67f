// Build step: Node-RED loads a node's editor file (<type>.html) and its locales/ from the
// folder of its runtime .js, so they are copied next to the compiled nodes in dist/nodes.
const { cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

const out = join(__dirname, '..', 'dist', 'nodes');
mkdirSync(out, { recursive: true });
// editor-shared.js goes at the top of every editor file, inline: each node set stays self-contained.
const shared = `<script type="text/javascript">\n${readFileSync(join(__dirname, 'editor-shared.js'), 'utf8')}</script>\n`;
for (const f of readdirSync(__dirname)) if (f.endsWith('.html')) writeFileSync(join(out, f), shared + readFileSync(join(__dirname, f), 'utf8'));
for (const dir of ['locales']) cpSync(join(__dirname, dir), join(out, dir), { recursive: true });
