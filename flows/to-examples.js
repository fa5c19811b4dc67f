// prepack: Node-RED's Import > Examples menu reads examples/ at the package root; the flows live
// in flows/ (the design card's folder), so the JSON files are copied there when packing.
const { cpSync, mkdirSync, readdirSync, rmSync } = require('node:fs');
const { join } = require('node:path');

const out = join(__dirname, '..', 'examples');
rmSync(out, { recursive: true, force: true });
mkdirSync(out);
for (const f of readdirSync(__dirname)) if (f.endsWith('.json')) cpSync(join(__dirname, f), join(out, f));
