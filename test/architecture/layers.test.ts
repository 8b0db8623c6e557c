// Imports go one way: cli → server → broker → store, server → protocol, admin → broker, broker → protocol
// (its errors, field tables and property codec); protocol/ and store/ import only util/.
// Also: no `any` and no Buffer.concat on the hot path (protocol/, server/).

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(__dirname, '../../src');

function files(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** Top-level area of a file under src/ ('protocol', 'broker', 'index.ts', ...). */
function area(file: string): string {
  return relative(SRC, file).split('/')[0] as string;
}

const ALLOWED: Record<string, readonly string[]> = {
  util: ['util'],
  protocol: ['protocol', 'util'],
  store: ['store', 'util'],
  config: ['config', 'util'],
  codegen: ['codegen'],
  'log.ts': ['config'],
  broker: ['broker', 'store', 'protocol', 'util', 'config', 'log.ts'],
  server: ['server', 'broker', 'protocol', 'util', 'config', 'log.ts'],
  admin: ['admin', 'broker', 'util'],
  'index.ts': ['server', 'broker', 'admin', 'config', 'log.ts', 'util'],
  cli: ['cli', 'config', 'index.ts', 'server'],
};

const all = files(SRC);

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+'(\.[^']+)'/gm)) {
    out.push(resolve(dirname(file), m[1] as string));
  }
  return out;
}

describe('layering', () => {
  it('every src/ area imports only the areas below it', () => {
    const violations: string[] = [];
    for (const f of all) {
      const from = area(f);
      const allowed = ALLOWED[from];
      expect(allowed, `no layering rule for ${from}`).toBeDefined();
      for (const target of importsOf(f)) {
        const to = area(target.replace(/\.js$/, '.ts'));
        if (!(allowed ?? []).includes(to)) violations.push(`${relative(SRC, f)} imports ${relative(SRC, target)}`);
      }
    }
    expect(violations).toEqual([]);
  });

  it('the broker never touches sockets', () => {
    const offenders = all.filter((f) => area(f) === 'broker' && /from 'node:(net|tls|dgram)'/.test(readFileSync(f, 'utf8')));
    expect(offenders.map((f) => relative(SRC, f))).toEqual([]);
  });

  it('no `any` outside generated code', () => {
    const offenders = all
      .filter((f) => !f.includes('/generated/'))
      .filter((f) => /:\s*any\b|as any\b|<any>/.test(readFileSync(f, 'utf8')));
    expect(offenders.map((f) => relative(SRC, f))).toEqual([]);
  });

  it('no Buffer.concat in protocol/ or server/ (the hot path copies only when a frame spans chunks)', () => {
    const offenders = all
      .filter((f) => ['protocol', 'server'].includes(area(f)))
      .filter((f) => readFileSync(f, 'utf8').includes('Buffer.concat'));
    expect(offenders.map((f) => relative(SRC, f))).toEqual([]);
  });
});
