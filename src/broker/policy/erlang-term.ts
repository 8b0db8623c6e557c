// JSON values written the way RabbitMQ's error texts print them (Erlang's ~tp of the decoded
// JSON): strings as <<"...">>, objects as maps, integers plain, floats in Erlang's notation.

export function erlangTerm(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') return erlangNumber(v);
  if (typeof v === 'string') return `<<${JSON.stringify(v).replace(/\\u([0-9a-f]{4})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)))}>>`;
  if (Array.isArray(v)) return `[${v.map(erlangTerm).join(',')}]`;
  if (typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).sort(([a], [b]) => compareKeys(a, b));
    return `#{${entries.map(([k, x]) => `${erlangTerm(k)} => ${erlangTerm(x)}`).join(',')}}`;
  }
  return String(v);
}

/** A list of key/value pairs, as RabbitMQ prints the settings it did not recognise. */
export function erlangPairs(pairs: ReadonlyArray<readonly [string, unknown]>): string {
  return `[${pairs.map(([k, v]) => `{${erlangTerm(k)},${erlangTerm(v)}}`).join(',')}]`;
}

/** Erlang orders binaries byte by byte (UTF-8), which is not JavaScript's UTF-16 order. */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function erlangNumber(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) <= Number.MAX_SAFE_INTEGER) return String(n);
  // Erlang prints floats with the shortest round-trip digits, as 1.5 or 1.0e3 (always a ".").
  const s = String(n);
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:e([+-]?\d+))?$/.exec(s);
  if (m === null) return s;
  const [, sign, int, frac, exp] = m;
  if (exp === undefined) return `${sign}${int}.${frac ?? '0'}`;
  return `${sign}${int}.${frac ?? '0'}e${Number(exp)}`;
}
