// rabbitmqctl's output contract: banner lines, then a tab-separated table with a header row
// (`--formatter table`, the default), or JSON, or CSV. -q drops the banners, --no-table-headers the
// header, -s both. Values print as rabbitmqctl prints Erlang terms: arguments as
// [{"x-max-length",10}], tags as [administrator, monitoring].

export type Formatter = 'table' | 'json' | 'csv';

export interface OutputOptions {
  readonly formatter: Formatter;
  readonly quiet: boolean;
  readonly silent: boolean;
  readonly tableHeaders: boolean;
}

export type Row = Record<string, unknown>;

export class Output {
  readonly lines: string[] = [];
  constructor(readonly opts: OutputOptions) {}

  /** An informational line ("Listing queues for vhost / ..."); dropped by -q and -s. */
  banner(text: string): void {
    if (!this.opts.quiet && !this.opts.silent) this.lines.push(text);
  }

  /** A result line that -q keeps (e.g. "Ping succeeded"). */
  line(text: string): void {
    this.lines.push(text);
  }

  table(columns: readonly string[], rows: readonly Row[], render: (column: string, value: unknown) => string = cell): void {
    const f = this.opts.formatter;
    if (f === 'json') {
      if (rows.length === 0) return this.lines.push('[]'), undefined;
      this.lines.push('[');
      rows.forEach((r, i) => {
        const o: Row = {};
        for (const c of columns) o[c] = r[c] ?? null;
        this.lines.push(`${i === 0 ? '' : ','}${JSON.stringify(o)}`);
      });
      this.lines.push(']');
      return;
    }
    if (rows.length === 0) return;
    const headers = this.opts.tableHeaders && !this.opts.silent;
    if (f === 'csv') {
      const q = (s: string): string => `"${s.replace(/"/g, '""')}"`;
      if (headers) this.lines.push(columns.map(q).join(','));
      for (const r of rows) this.lines.push(columns.map((c) => q(render(c, r[c]))).join(','));
      return;
    }
    if (headers) this.lines.push(columns.join('\t'));
    for (const r of rows) this.lines.push(columns.map((c) => render(c, r[c])).join('\t'));
  }

  /** A JSON value on its own (list_vhost_limits prints the limits object). */
  json(value: unknown): void {
    this.lines.push(JSON.stringify(value));
  }

  text(): string {
    return this.lines.length === 0 ? '' : `${this.lines.join('\n')}\n`;
  }
}

/** A table cell: strings as they are, tags and lists of names in brackets, tables as Erlang proplists. */
export function cell(column: string, v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (Array.isArray(v) && (column === 'tags' || v.every((x) => typeof x === 'string') && column !== 'arguments')) {
    return `[${v.map(String).join(', ')}]`;
  }
  return term(v);
}

/** An Erlang-style term: strings quoted, objects as [{"key",value}], arrays as [a,b]. */
export function term(v: unknown): string {
  if (v === null || v === undefined) return 'undefined';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (Array.isArray(v)) return `[${v.map(term).join(',')}]`;
  if (typeof v === 'object') {
    return `[${Object.entries(v as Row).map(([k, x]) => `{${JSON.stringify(k)},${term(x)}}`).join(',')}]`;
  }
  return String(v);
}
