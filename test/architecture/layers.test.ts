// Imports go one way: cli → server → broker → store, server → protocol, metrics → broker, management → broker, broker → protocol
// (its errors, field tables and property codec); protocol/ and store/ import only util/.
// No import cycles between src/ files, type-only imports included: a cycle of types still ties the
// modules together (neither can be read, tested or moved without the other), and one `import type`
// turned into a value import would make it a runtime cycle (an undefined binding at load time).
// Also: no `any` and no Buffer.concat on the hot path (protocol/, server/).

import { readFileSync } from 'node:fs';
import { relative, resolve, dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SRC, srcFiles } from './src-files.js';

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
  metrics: ['metrics', 'broker', 'util'],
  // High availability: the replicated log, leadership and the follower work on the store's files.
  ha: ['ha', 'store', 'util', 'log.ts'],
  // The management API reads and commands the broker; connections reach it through broker.clients.
  management: ['management', 'broker', 'config', 'util', 'log.ts'],
  'index.ts': ['server', 'broker', 'metrics', 'management', 'ha', 'config', 'log.ts', 'util'],
  cli: ['cli', 'config', 'index.ts', 'server', 'util'],
};

const all = srcFiles();

/** Relative imports of a file: `import`/`export ... from`, `import type`, side-effect `import '...'` and `import('...')`. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  const patterns = [/^\s*(?:import|export)\b[^'"]*?from\s+'(\.[^']+)'/gm, /^\s*import\s+'(\.[^']+)'/gm, /\bimport\(\s*'(\.[^']+)'\s*\)/g];
  for (const re of patterns) {
    for (const m of text.matchAll(re)) out.push(resolve(dirname(file), m[1] as string));
  }
  return out;
}

/** The file an import names: `./x.js` is `./x.ts` in src/. */
const sourceOf = (target: string): string => target.replace(/\.js$/, '.ts');

/** Import cycles among `nodes`: the strongly connected components of more than one file, or a file importing itself. */
function cycles(nodes: readonly string[], edges: (n: string) => readonly string[]): string[][] {
  // Tarjan's algorithm, iterative so a deep import chain cannot overflow the stack.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const out: string[][] = [];
  let next = 0;
  for (const root of nodes) {
    if (index.has(root)) continue;
    const work: { node: string; children: readonly string[]; i: number }[] = [];
    const enter = (n: string): void => {
      index.set(n, next);
      low.set(n, next);
      next++;
      stack.push(n);
      onStack.add(n);
      work.push({ node: n, children: edges(n), i: 0 });
    };
    enter(root);
    while (work.length > 0) {
      const top = work[work.length - 1] as { node: string; children: readonly string[]; i: number };
      if (top.i < top.children.length) {
        const child = top.children[top.i++] as string;
        if (!index.has(child)) enter(child);
        else if (onStack.has(child)) low.set(top.node, Math.min(low.get(top.node) as number, index.get(child) as number));
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent !== undefined) low.set(parent.node, Math.min(low.get(parent.node) as number, low.get(top.node) as number));
      if (low.get(top.node) === index.get(top.node)) {
        const component: string[] = [];
        let n: string;
        do {
          n = stack.pop() as string;
          onStack.delete(n);
          component.push(n);
        } while (n !== top.node);
        if (component.length > 1 || edges(top.node).includes(top.node)) out.push(component.sort());
      }
    }
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
        const to = area(sourceOf(target));
        if (!(allowed ?? []).includes(to)) violations.push(`${relative(SRC, f)} imports ${relative(SRC, target)}`);
      }
    }
    expect(violations).toEqual([]);
  });

  it('no import cycles in src/ (type-only imports count)', () => {
    const known = new Set(all);
    const edges = new Map(all.map((f) => [f, importsOf(f).map(sourceOf).filter((t) => known.has(t))]));
    const found = cycles(all, (f) => edges.get(f) ?? []).map((c) => c.map((f) => relative(SRC, f)).join(' <-> '));
    expect(found).toEqual([]);
  });

  it('the cycle check finds cycles, type-only and self imports included', () => {
    const graph: Record<string, string[]> = { a: ['b'], b: ['c'], c: ['a'], d: ['a', 'e'], e: [], f: ['f'], g: ['h'], h: ['g'] };
    const found = cycles(Object.keys(graph), (n) => graph[n] ?? []);
    expect(found.sort()).toEqual([['a', 'b', 'c'], ['f'], ['g', 'h']]);
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
