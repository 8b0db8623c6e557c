// The rabbitmq.conf text format (sysctl-like, read by RabbitMQ through cuttlefish): text -> settings.
// Pure: no file access and no knowledge of which keys exist; conf-keys.ts gives the keys meaning.
//
// The grammar follows cuttlefish's conf_parse (RabbitMQ 3.10 and later):
//   - one `key = value` per line; spaces and tabs around the key, the `=` and the value are ignored;
//   - a key is dot-separated words of letters, digits, `_` and `-` (a `\.` inside a word is a literal dot);
//     keys are case-sensitive;
//   - `#` starts a comment anywhere, also inside an unquoted value (`pass = a#b` sets `a`);
//   - a value may be wrapped in single quotes to keep a `#` (`pass = 'a#b'`), as cuttlefish does since
//     RabbitMQ 3.13.7/4.0 (3.10 keeps the quotes as part of the value); a quoted value cannot hold a quote;
//   - blank lines are skipped, CRLF line ends are accepted, and a later line for the same key wins.

export interface ConfEntry {
  /** The key as written, e.g. `listeners.tcp.default`. */
  readonly key: string;
  /** The key's words, escaped dots resolved: `a\.b.c` -> ['a.b', 'c']. */
  readonly path: readonly string[];
  readonly value: string;
  /** 1-based line number. */
  readonly line: number;
}

/** A line that is not a setting, a comment or blank. */
export class ConfSyntaxError extends Error {
  override readonly name = 'ConfSyntaxError';
  constructor(
    readonly line: number,
    readonly detail: string,
  ) {
    super(`line ${line}: ${detail}`);
  }
}

const WORD = String.raw`(?:\\\.|[A-Za-z0-9_-])+`;
const SETTING = new RegExp(String.raw`^[ \t]*(${WORD}(?:\.${WORD})*)[ \t]*=[ \t]*(.*)$`);
/** A whole remainder that is one quoted value, optionally followed by a comment. */
const QUOTED = /^'([^']*)'[ \t]*(?:#.*)?$/;
const BLANK = /^[ \t]*$/;
const COMMENT = /^[ \t]*#/;
const INCLUDE = /^[ \t]*include[ \t]+\S/;

/** Parse a whole file's text; throws ConfSyntaxError at the first bad line. */
export function parseConf(text: string): ConfEntry[] {
  const out: ConfEntry[] = [];
  // A UTF-8 byte order mark, as some editors write one, is not part of the first key.
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const lines = body.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).replace(/\r$/, '');
    const n = i + 1;
    if (BLANK.test(line) || COMMENT.test(line)) continue;
    const m = SETTING.exec(line);
    if (m === null) {
      if (INCLUDE.test(line)) throw new ConfSyntaxError(n, 'include directives are not supported');
      if (!line.includes('=')) throw new ConfSyntaxError(n, "expected 'key = value'");
      throw new ConfSyntaxError(n, 'invalid key (words of letters, digits, _ and - joined by dots)');
    }
    const key = m[1] as string;
    const value = parseValue(m[2] as string);
    if (value === null) throw new ConfSyntaxError(n, `no value for '${key}'`);
    out.push({ key, path: splitKey(key), value, line: n });
  }
  return out;
}

/** The value part after `=`: quoted, or up to a `#` with trailing blanks dropped; null when empty. */
function parseValue(rest: string): string | null {
  const q = QUOTED.exec(rest);
  if (q !== null) return q[1] as string;
  const hash = rest.indexOf('#');
  const v = (hash < 0 ? rest : rest.slice(0, hash)).replace(/[ \t]+$/, '');
  return v === '' ? null : v;
}

function splitKey(key: string): string[] {
  // Split on dots not preceded by a backslash, then resolve the escapes.
  return key.split(/(?<!\\)\./).map((w) => w.replace(/\\\./g, '.'));
}
