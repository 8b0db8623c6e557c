// `npm run codegen`: render spec/ into src/protocol/generated/amqp.ts.
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { render } from './render.js';

const root = resolve(process.argv[2] ?? process.cwd());
const spec = readFileSync(resolve(root, 'spec/amqp-rabbitmq-0.9.1.json'), 'utf8');
writeFileSync(resolve(root, 'src/protocol/generated/amqp.ts'), render(spec));
process.stdout.write('wrote src/protocol/generated/amqp.ts\n');
