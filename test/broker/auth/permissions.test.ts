// Permission matching as RabbitMQ 3.10 does it, topic permissions with {username}/{vhost}, the exact
// 403 texts, and the answer cache (one regex per distinct resource, rebuilt when permissions change).

import { afterEach, describe, expect, it, vi } from 'vitest';
import { InvalidPatternError, PermissionStore, compilePattern, expandTopicPattern } from '../../../src/broker/auth/permissions.js';
import { AmqpError, ChannelError } from '../../../src/protocol/errors.js';
import { BASIC_PUBLISH, QUEUE_BIND } from '../../../src/protocol/generated/amqp.js';

function refusal(fn: () => void): AmqpError {
  try {
    fn();
  } catch (err) {
    if (err instanceof AmqpError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

const ALL = { configure: '.*', write: '.*', read: '.*' };

describe('resource permissions', () => {
  it('match with an unanchored search per permission', () => {
    const s = new PermissionStore();
    s.set('u', '/', { configure: '^app\\.', write: 'orders', read: '^(app\\..*|amq\\.default)$' });
    const a = s.access('u', '/');
    expect(a.hasVhostAccess).toBe(true);
    expect(a.allowed('configure', 'queue', 'app.q')).toBe(true);
    expect(a.allowed('configure', 'queue', 'x.app.q')).toBe(false);
    expect(a.allowed('write', 'exchange', 'my-orders-x')).toBe(true);
    expect(a.allowed('write', 'exchange', 'app.events')).toBe(false);
    expect(a.allowed('read', 'queue', 'app.anything')).toBe(true);
    expect(a.allowed('read', 'queue', 'other')).toBe(false);
  });

  it('the default exchange is checked, and refused, as amq.default', () => {
    const s = new PermissionStore();
    s.set('u', '/', { configure: '', write: '^amq\\.default$', read: '' });
    const a = s.access('u', '/');
    expect(a.allowed('write', 'exchange', '')).toBe(true);
    s.set('u', '/', { configure: '', write: '^app', read: '' });
    const err = refusal(() => a.check('write', 'exchange', '', BASIC_PUBLISH));
    expect(err.replyText).toBe("ACCESS_REFUSED - access to exchange 'amq.default' in vhost '/' refused for user 'u'");
  });

  it("an empty pattern grants nothing; '^$' likewise matches no real name", () => {
    const s = new PermissionStore();
    s.set('u', 'v', { configure: '', write: '^$', read: '.*' });
    const a = s.access('u', 'v');
    expect(a.hasVhostAccess).toBe(true);
    for (const name of ['q', 'amq.gen-abc', '.*', ' ']) {
      expect(a.allowed('configure', 'queue', name)).toBe(false);
      expect(a.allowed('write', 'exchange', name)).toBe(false);
    }
    expect(a.allowed('write', 'exchange', '')).toBe(false); // amq.default
    expect(a.allowed('read', 'queue', 'q')).toBe(true);
  });

  it('no permissions in a vhost: no access there, every check refused', () => {
    const s = new PermissionStore();
    s.set('u', '/', ALL);
    const a = s.access('u', 'other');
    expect(a.hasVhostAccess).toBe(false);
    expect(a.allowed('read', 'queue', 'q')).toBe(false);
    expect(s.access('nobody', '/').hasVhostAccess).toBe(false);
  });

  it("refuses with RabbitMQ 3.10's 403 text, a channel error carrying the method", () => {
    const s = new PermissionStore();
    s.set('ü/ser', 'v/%', { configure: '^ok', write: '^ok', read: '^ok' });
    const err = refusal(() => s.access('ü/ser', 'v/%').check('configure', 'queue', 'q', QUEUE_BIND));
    expect(err).toBeInstanceOf(ChannelError);
    expect(err.replyCode).toBe(403);
    expect(err.replyText).toBe("ACCESS_REFUSED - access to queue 'q' in vhost 'v/%' refused for user 'ü/ser'");
    expect([err.classId, err.methodId]).toEqual([50, 20]);
    expect(() => s.access('ü/ser', 'v/%').check('configure', 'queue', 'ok.q')).not.toThrow();
  });

  it('an invalid regular expression is refused with a clear error and changes nothing', () => {
    const s = new PermissionStore();
    s.set('u', '/', ALL);
    expect(() => s.set('u', '/', { configure: '.*', write: '(unclosed', read: '.*' })).toThrow(InvalidPatternError);
    expect(() => s.set('u', '/', { configure: '.*', write: '(unclosed', read: '.*' })).toThrow(
      "invalid regular expression '(unclosed' for write permission of user 'u' in vhost '/'",
    );
    expect(s.get('u', '/')).toEqual(ALL);
    expect(() => s.setTopic('u', '/', 'amq.topic', { write: '[', read: '' })).toThrow(/invalid regular expression '\['/);
    expect(s.listTopic()).toEqual([]);
    expect(() => compilePattern('(?i)abc')).toThrow(InvalidPatternError);
  });

  it('lists, clears, and forgets a deleted user or vhost', () => {
    const s = new PermissionStore();
    s.set('a', '/', ALL);
    s.set('a', 'v', ALL);
    s.set('b', 'v', ALL);
    s.setTopic('a', 'v', 'amq.topic', { write: 'x', read: 'y' });
    expect(s.list()).toHaveLength(3);
    const av = s.access('a', 'v');
    s.clearVhost('v');
    expect(av.hasVhostAccess).toBe(false);
    expect(s.list()).toEqual([{ user: 'a', vhost: '/', ...ALL }]);
    expect(s.listTopic()).toEqual([]);
    s.clearUser('a');
    expect(s.list()).toEqual([]);
    expect(s.clear('a', '/')).toBe(false);
  });
});

describe('topic permissions', () => {
  it('expand {username} and {vhost} (inserted as is, other braces untouched)', () => {
    expect(expandTopicPattern('^{username}\\.{vhost}\\.{client_id}$', 'alice', '/')).toBe('^alice\\./\\.{client_id}$');
  });

  it('check write and read on the routing key per exchange; no topic permission for an exchange allows all', () => {
    const s = new PermissionStore();
    s.set('alice', 'prod', ALL);
    s.setTopic('alice', 'prod', 'amq.topic', { write: '^{username}\\.', read: '^{vhost}\\.' });
    const a = s.access('alice', 'prod');
    expect(a.topicAllowed('write', 'amq.topic', 'alice.orders')).toBe(true);
    expect(a.topicAllowed('write', 'amq.topic', 'bob.orders')).toBe(false);
    expect(a.topicAllowed('read', 'amq.topic', 'prod.#')).toBe(true);
    expect(a.topicAllowed('read', 'amq.topic', 'alice.#')).toBe(false);
    expect(a.topicAllowed('write', 'other.topic', 'anything')).toBe(true);
    const err = refusal(() => a.checkTopic('write', 'amq.topic', 'a.b', BASIC_PUBLISH));
    expect(err.replyCode).toBe(403);
    expect(err.replyText).toBe("ACCESS_REFUSED - access to topic 'a.b' in exchange 'amq.topic' in vhost 'prod' refused for user 'alice'");
  });

  it("an empty topic pattern is '^$': only the empty routing key", () => {
    const s = new PermissionStore();
    s.setTopic('u', '/', 'x', { write: '', read: '.*' });
    const a = s.access('u', '/');
    expect(a.topicAllowed('write', 'x', '')).toBe(true);
    expect(a.topicAllowed('write', 'x', 'a')).toBe(false);
  });

  it('a pattern made invalid by the expansion denies', () => {
    const s = new PermissionStore();
    s.setTopic('we(ird', '/', 'x', { write: '^{username}$', read: '.*' });
    expect(s.access('we(ird', '/').topicAllowed('write', 'x', 'we(ird')).toBe(false);
  });
});

describe('the answer cache', () => {
  afterEach(() => vi.restoreAllMocks());

  it('runs a regex once per distinct resource, not per check', () => {
    const s = new PermissionStore();
    s.set('u', '/', ALL);
    s.setTopic('u', '/', 'amq.topic', { write: '^u\\.', read: '.*' });
    const a = s.access('u', '/');
    const test = vi.spyOn(RegExp.prototype, 'test');
    for (let i = 0; i < 1000; i++) {
      a.check('write', 'exchange', 'amq.topic');
      a.checkTopic('write', 'amq.topic', 'u.k');
    }
    expect(test).toHaveBeenCalledTimes(2);
  });

  it('is rebuilt when the permissions change, for contexts already handed out', () => {
    const s = new PermissionStore();
    s.set('u', '/', ALL);
    const a = s.access('u', '/');
    expect(s.access('u', '/')).toBe(a);
    expect(a.allowed('configure', 'queue', 'q')).toBe(true);
    s.set('u', '/', { configure: '^other$', write: '.*', read: '.*' });
    expect(a.allowed('configure', 'queue', 'q')).toBe(false);
    s.setTopic('u', '/', 'amq.topic', { write: '^a', read: '.*' });
    expect(a.topicAllowed('write', 'amq.topic', 'b')).toBe(false);
    s.clearTopic('u', '/', 'amq.topic');
    expect(a.topicAllowed('write', 'amq.topic', 'b')).toBe(true);
    s.clear('u', '/');
    expect(a.hasVhostAccess).toBe(false);
    expect(a.allowed('write', 'exchange', 'x')).toBe(false);
  });

  it('stays bounded with many distinct names', () => {
    const s = new PermissionStore();
    s.set('u', '/', ALL);
    const a = s.access('u', '/');
    let allowed = 0;
    for (let i = 0; i < 20_000; i++) if (a.allowed('read', 'queue', `amq.gen-${i}`)) allowed++;
    expect(allowed).toBe(20_000);
    const sizes = (a as unknown as { answers: Map<string, boolean>[] }).answers.map((m) => m.size);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(4096);
  });
});
