// One `warren ctl` command: its name, usage line and what it does with the API.

import type { ApiClient, ApiResponse } from './api-client.js';
import { reasonOf } from './api-client.js';
import { CtlError, EXIT, usage, type ExitCode } from './errors.js';
import type { Output, Row } from './format.js';

export interface CtlContext {
  readonly api: ApiClient;
  readonly out: Output;
  /** -p / --vhost, default "/". */
  readonly vhost: string;
  /** Command options (--priority, --apply-to, --if-empty, ...), by long name without dashes. */
  readonly options: ReadonlyMap<string, string | true>;
  readonly timeoutMs: number;
  /** Progress lines for long operations (stderr, so piped output stays clean). */
  progress(text: string): void;
}

export interface Command {
  readonly name: string;
  /** Arguments after the name, rabbitmqctl style, for the usage text. */
  readonly usage: string;
  readonly args: readonly [min: number, max: number];
  run(ctx: CtlContext, args: readonly string[]): Promise<ExitCode | void>;
}

/** The rows of a list reply: a bare array, or the items of a paged reply. */
export function rowsOf(r: ApiResponse): Row[] {
  const b = r.body;
  if (Array.isArray(b)) return b as Row[];
  if (typeof b === 'object' && b !== null && Array.isArray((b as { items?: unknown }).items)) return (b as { items: Row[] }).items;
  return [];
}

/** Fail unless the reply is one of the expected statuses; the text is the API's reason. */
export function expectOk(r: ApiResponse, ...ok: number[]): ApiResponse {
  if ((ok.length === 0 ? r.status >= 200 && r.status < 300 : ok.includes(r.status))) return r;
  if (r.status === 401) throw new CtlError(EXIT.noPerm, `Error:\n${reasonOf(r)}`);
  throw new CtlError(r.status === 404 ? EXIT.dataErr : EXIT.software, `Error:\n${reasonOf(r)}`);
}

/** Checks the column names a list command was given, as rabbitmqctl does (exit 64). */
export function columnsFor(cmd: string, given: readonly string[], defaults: readonly string[], valid: readonly string[]): string[] {
  if (given.length === 0) return [...defaults];
  const bad = given.filter((c) => !valid.includes(c));
  if (bad.length > 0) throw usage(`Error (argument validation): Info key(s) ${bad.join(',')} are not supported\nArguments given:\n\t${cmd} ${given.join(' ')}`);
  return [...given];
}

/** Dotted lookup ("queue.name") in an API object. */
export function pick(o: Row, path: string): unknown {
  let v: unknown = o;
  for (const k of path.split('.')) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Row)[k];
  }
  return v;
}

export function flag(ctx: CtlContext, name: string): boolean {
  return ctx.options.get(name) === true || ctx.options.get(name) === 'true';
}

export function option(ctx: CtlContext, name: string): string | undefined {
  const v = ctx.options.get(name);
  return typeof v === 'string' ? v : undefined;
}
