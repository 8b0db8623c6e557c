// Reply codes and method ids have names: outside src/protocol/, errors are made with the named
// constructors of protocol/errors.ts (preconditionFailed(text, QUEUE_DECLARE), ...) and methods are
// the generated ids (BASIC_PUBLISH). A numeric reply code or a literal class/method id pair there
// fails this test; so does an error text that hard-codes the vhost '/' instead of naming the real one.
//
// The rules look for the shapes such literals take, not for any 3-digit number, so ports, sizes
// and HTTP statuses pass: the self-checks at the bottom pin down what is and is not flagged.

import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SRC, srcFiles } from './src-files.js';
import { METHOD_INFO } from '../../src/protocol/generated/amqp.js';
import { REPLY_CODE_NAMES, ReplyCode } from '../../src/protocol/generated/reply-codes.js';

/** Error codes of the spec's table (REPLY_SUCCESS is not an error). */
const CODES = [...REPLY_CODE_NAMES.keys()].filter((c) => c !== ReplyCode.REPLY_SUCCESS).join('|');
/** Every `class id,method id` the spec defines. */
const PAIRS = new Set([...METHOD_INFO.values()].map((i) => `${i.classId},${i.methodId}`));
/** Every generated method id, as a hex literal would spell it. */
const METHOD_IDS = new Set([...METHOD_INFO.keys()]);
/** Calls that take an HTTP status first (the admin endpoints): not reply codes. */
const HTTP_CALLS = new Set(['writeHead', 'status', 'sendStatus']);

interface Finding {
  rule: string;
  match: string;
}

/** Comments may quote codes ("RabbitMQ answers 505"): drop them, leaving strings (even 'amqp://...') alone. */
function stripComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[\s;{}(),])\/\/.*$/gm, '$1');
}

/** What in `text` breaks the rules. */
function findings(text: string): Finding[] {
  const code = stripComments(text);
  const out: Finding[] = [];
  const add = (rule: string, re: RegExp, keep: (m: RegExpMatchArray) => boolean = () => true): void => {
    for (const m of code.matchAll(re)) if (keep(m)) out.push({ rule, match: m[0] });
  };
  // The error classes are built only by protocol/errors.ts; everyone else calls a named constructor.
  add('error class constructed directly', /\bnew\s+(?:ChannelError|ConnectionError|AmqpError)\s*\(/g);
  // replyError(406, ...), connectionClose(530, ...), preconditionFailed's cousins with a number.
  add('numeric code passed to an error constructor', /\b(?:replyError|connectionClose)\s*\(\s*\d/g);
  // A reply code as the first argument of any call: closeChannel(406, ...), sendClose(320, ...).
  add('reply code as a first argument', new RegExp(`\\b([A-Za-z_$][\\w$]*)\\s*\\(\\s*(?:${CODES})\\s*,`, 'g'), (m) => !HTTP_CALLS.has(m[1] ?? ''));
  // replyCode: 312, err.replyCode === 404, code !== 530, 406 === e.replyCode, HARD_ERROR_CODES.has(504).
  add('reply code in a code field or comparison', new RegExp(`\\b\\w*[cC]ode\\s*(?:[:=]|[!=]==?)\\s*(?:${CODES})\\b`, 'g'));
  add('reply code in a code field or comparison', new RegExp(`\\b(?:${CODES})\\s*[!=]==?\\s*[\\w.]*[cC]ode\\b`, 'g'));
  add('reply code looked up by number', new RegExp(`\\b(?:HARD_ERROR_CODES|REPLY_CODE_NAMES)\\.(?:has|get)\\(\\s*(?:${CODES})\\s*\\)`, 'g'));
  // Class and method ids: `..., 60, 40)` as the last two arguments, `classId: 60`, `(60 << 16) | 40`, 0x003c0028.
  add('literal class/method id pair', /,\s*(\d{1,3})\s*,\s*(\d{1,3})\s*\)/g, (m) => PAIRS.has(`${m[1]},${m[2]}`));
  add('literal class or method id field', /\b(?:classId|methodId)\s*[:=]\s*[1-9]\d*\b/g);
  add('literal class id shifted into a method id', /\b[1-9]\d*\s*<<\s*16\b/g);
  add('literal method id', /\b0x[0-9a-fA-F]{8}\b/g, (m) => METHOD_IDS.has(Number(m[0])));
  return out;
}

/** An error text that names the vhost '/' rather than the one it happened in. */
function hardCodedVhost(text: string): string[] {
  return [...stripComments(text).matchAll(/in vhost '\/'/g)].map((m) => m[0]);
}

const outsideProtocol = srcFiles().filter((f) => relative(SRC, f).split('/')[0] !== 'protocol');

describe('named reply codes and method ids', () => {
  it('no numeric reply code or literal class/method id outside src/protocol/', () => {
    const offenders: string[] = [];
    for (const f of outsideProtocol) {
      for (const x of findings(readFileSync(f, 'utf8'))) offenders.push(`${relative(SRC, f)}: ${x.rule}: ${x.match}`);
    }
    expect(offenders).toEqual([]);
  });

  it("no error text outside src/protocol/ hard-codes the vhost '/'", () => {
    const offenders: string[] = [];
    for (const f of outsideProtocol) {
      for (const m of hardCodedVhost(readFileSync(f, 'utf8'))) offenders.push(`${relative(SRC, f)}: ${m}`);
    }
    expect(offenders).toEqual([]);
  });

  describe('the rules themselves', () => {
    const flagged = [
      "throw new ChannelError(406, 'x', 50, 10);",
      'throw new ConnectionError(ReplyCode.NOT_ALLOWED, `vhost ${v} not found`, 0, 0);',
      "return replyError(406, 'x');",
      "throw connectionClose(403, 'refused');",
      "closeChannel(404, 'no queue');",
      "this.sendClose(320, 'shutdown', 0, 0);",
      "this.send({ id: M.BASIC_RETURN, replyCode: 312, replyText: 'NO_ROUTE' });",
      'if (err.replyCode === 404) return;',
      'if (code !== 530) return;',
      'if (406 === e.replyCode) return;',
      'if (HARD_ERROR_CODES.has(504)) close();',
      "throw preconditionFailed('x', 60, 40);",
      'ch.send({ id: M.CHANNEL_CLOSE, replyCode: c, replyText: t, classId: 60, methodId: 40 });',
      'const ref = (60 << 16) | 40;',
      'if (m.id === 0x003c0028) publish();',
    ];
    const clean = [
      "listen(5672, '127.0.0.1');",
      "res.writeHead(404).end();",
      "res.writeHead(200, { 'content-type': 'text/plain' });",
      'const buf = Buffer.alloc(406);',
      'const t = setTimeout(cb, 503);',
      "throw preconditionFailed(`queue '${q}' in vhost '${vhost}' in use`, QUEUE_DECLARE);",
      "throw notAllowed(`channel_max=${m.channelMax} > ${max} max`, M.CONNECTION_TUNE_OK);",
      'if (err.replyCode === ReplyCode.NOT_FOUND) return;',
      '// RabbitMQ answers (505, ...) here, not 501',
      "const url = 'amqp://localhost:5672/';",
      'const x = clamp(v, 10, 2000);',
      'const mask = 0xffffffff;',
    ];
    it.each(flagged)('flags %s', (line) => {
      expect(findings(line)).not.toEqual([]);
    });
    it.each(clean)('passes %s', (line) => {
      expect(findings(line)).toEqual([]);
    });
    it("flags a hard-coded vhost '/' in an error text, not one passed in", () => {
      expect(hardCodedVhost("notFound(`no queue '${name}' in vhost '/'`)")).toHaveLength(1);
      expect(hardCodedVhost("notFound(`no queue '${name}' in vhost '${this.name}'`)")).toEqual([]);
    });
  });
});
