// `npm run codegen`: render spec/ into the files under src/protocol/generated/.
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { SPEC_PATH, renderAll } from './render.js';

const root = resolve(process.argv[2] ?? process.cwd());
const spec = readFileSync(resolve(root, SPEC_PATH), 'utf8');
for (const f of renderAll(spec)) {
  writeFileSync(resolve(root, f.path), f.text);
  process.stdout.write(`wrote ${f.path}\n`);
}
