// The Prometheus text exposition format (version 0.0.4): families with HELP and TYPE lines, then
// their samples, each family's samples together. The writer collects lines into chunks so a
// large scrape can be sent (and yielded between) a slice at a time.

export type MetricType = 'gauge' | 'counter' | 'untyped' | 'histogram';

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export class TextWriter {
  private lines: string[] = [];
  private size = 0;

  /** Start a family: its HELP and TYPE lines. */
  family(name: string, type: MetricType, help: string): void {
    this.push(`# TYPE ${name} ${type}`);
    this.push(`# HELP ${name} ${help}`);
  }

  /** One sample; `labels` is a rendered label set (`{a="b"}`) or ''. */
  sample(name: string, labels: string, value: number): void {
    this.push(`${name}${labels} ${formatValue(value)}`);
  }

  /** A family with one unlabelled sample. */
  single(name: string, type: MetricType, help: string, value: number): void {
    this.family(name, type, help);
    this.sample(name, '', value);
  }

  private push(line: string): void {
    this.lines.push(line);
    this.size += line.length + 1;
  }

  /** Bytes (about: UTF-16 units) written since the last take(). */
  get pending(): number {
    return this.size;
  }

  /** The text written since the last take(). */
  take(): string {
    if (this.lines.length === 0) return '';
    const s = this.lines.join('\n') + '\n';
    this.lines = [];
    this.size = 0;
    return s;
  }
}

/** Prometheus number syntax: integers as they are, NaN and infinities spelled its way. */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/** Escape a label value (backslash, double quote, newline). */
export function escapeLabel(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** Render a label set in the given order: `{k1="v1",k2="v2"}` ('' when empty). */
export function labels(pairs: readonly (readonly [string, string])[]): string {
  if (pairs.length === 0) return '';
  return `{${pairs.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}`;
}
