// Vhost and user limits: parsing, and RabbitMQ 3.10.8's refusals (codes, texts, hard or soft).

import { describe, expect, it } from 'vitest';
import {
  LimitError,
  LimitStore,
  checkQueueLimit,
  checkUserChannelLimit,
  checkUserConnectionLimit,
  checkVhostConnectionLimit,
  parseUserLimits,
  parseVhostLimits,
} from '../../../src/broker/auth/limits.js';
import { ConnectionCounts } from '../../../src/broker/auth/connection-counts.js';
import { AmqpError, ChannelError, ConnectionError } from '../../../src/protocol/errors.js';

function refusal(fn: () => void): AmqpError {
  try {
    fn();
  } catch (err) {
    if (err instanceof AmqpError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('limit values', () => {
  it('parse the known names as integers', () => {
    expect(parseVhostLimits({ 'max-connections': 500, 'max-queues': -1 })).toEqual({ 'max-connections': 500, 'max-queues': -1 });
    expect(parseUserLimits({ 'max-channels': 16 })).toEqual({ 'max-channels': 16 });
    expect(parseVhostLimits([])).toEqual({}); // RabbitMQ 3.10 exports "no limits" as []
  });

  it('refuse unknown names, non-integers and non-objects', () => {
    expect(() => parseVhostLimits({ 'max-channels': 1 })).toThrow("unknown vhost limit 'max-channels' (max-connections, max-queues)");
    expect(() => parseUserLimits({ 'max-queues': 1 })).toThrow(LimitError);
    expect(() => parseVhostLimits({ 'max-queues': 1.5 })).toThrow("vhost limit 'max-queues' must be an integer, got 1.5");
    expect(() => parseUserLimits({ 'max-channels': '3' })).toThrow(/must be an integer/);
    expect(() => parseVhostLimits('x')).toThrow(/JSON object/);
    expect(() => parseVhostLimits([1])).toThrow(/JSON object/);
  });
});

describe('refusals', () => {
  it('vhost max-connections: 530 on connection.open', () => {
    expect(() => checkVhostConnectionLimit('v', 'u', { 'max-connections': 2 }, 1)).not.toThrow();
    const err = refusal(() => checkVhostConnectionLimit('v', 'u', { 'max-connections': 2 }, 2));
    expect(err).toBeInstanceOf(ConnectionError);
    expect(err.replyCode).toBe(530);
    expect(err.replyText).toBe("NOT_ALLOWED - access to vhost 'v' refused for user 'u': connection limit (2) is reached");
    expect([err.classId, err.methodId]).toEqual([10, 40]);
    expect(refusal(() => checkVhostConnectionLimit('v', 'u', { 'max-connections': 0 }, 0)).replyText).toContain('connection limit (0) is reached');
  });

  it('user max-connections: 530 on connection.open', () => {
    const err = refusal(() => checkUserConnectionLimit('u', { 'max-connections': 1 }, 1));
    expect(err).toBeInstanceOf(ConnectionError);
    expect(err.replyText).toBe("NOT_ALLOWED - connection refused for user 'u': user connection limit (1) is reached");
    expect([err.classId, err.methodId]).toEqual([10, 40]);
  });

  it('user max-channels: 530 closing the connection, class and method 0', () => {
    expect(() => checkUserChannelLimit('u', { 'max-channels': 1 }, 0)).not.toThrow();
    const err = refusal(() => checkUserChannelLimit('u', { 'max-channels': 1 }, 1));
    expect(err).toBeInstanceOf(ConnectionError);
    expect(err.replyCode).toBe(530);
    expect(err.replyText).toBe("NOT_ALLOWED - number of channels opened for user 'u' has reached the maximum allowed user limit of (1)");
    expect([err.classId, err.methodId]).toEqual([0, 0]);
  });

  it('vhost max-queues: 406 on the channel for queue.declare', () => {
    const err = refusal(() => checkQueueLimit('q2', 'v', { 'max-queues': 1 }, 1));
    expect(err).toBeInstanceOf(ChannelError);
    expect(err.replyCode).toBe(406);
    expect(err.replyText).toBe("PRECONDITION_FAILED - cannot declare queue 'q2': queue limit in vhost 'v' (1) is reached");
    expect([err.classId, err.methodId]).toEqual([50, 10]);
  });

  it('a negative or absent limit is no limit', () => {
    expect(() => checkQueueLimit('q', 'v', { 'max-queues': -1 }, 1e6)).not.toThrow();
    expect(() => checkUserChannelLimit('u', {}, 1e6)).not.toThrow();
    expect(() => checkVhostConnectionLimit('v', 'u', { 'max-queues': 0 }, 1e6)).not.toThrow();
  });
});

describe('LimitStore', () => {
  it('holds limits per vhost and per user; none is an empty object', () => {
    const s = new LimitStore();
    expect(s.vhost('/')).toEqual({});
    s.setVhost('/', { 'max-queues': 10 });
    s.setUser('u', { 'max-channels': 2 });
    expect(s.vhost('/')).toEqual({ 'max-queues': 10 });
    expect(s.user('u')).toEqual({ 'max-channels': 2 });
    s.setVhost('/', {});
    s.clearUser('u');
    expect(s.vhost('/')).toEqual({});
    expect(s.user('u')).toEqual({});
  });
});

describe('ConnectionCounts', () => {
  it('checks the vhost limit before the user limit, as RabbitMQ does', () => {
    const limits = new LimitStore();
    const counts = new ConnectionCounts(limits);
    limits.setVhost('v', { 'max-connections': 0 });
    limits.setUser('u', { 'max-connections': 0 });
    // Both limits reached: the vhost's is the one reported.
    expect(refusal(() => counts.admitConnection('v', 'u')).replyText).toBe(
      "NOT_ALLOWED - access to vhost 'v' refused for user 'u': connection limit (0) is reached",
    );
    expect(counts.connectionsIn('v')).toBe(0);
  });

  it('counts per vhost and per user', () => {
    const limits = new LimitStore();
    const counts = new ConnectionCounts(limits);
    limits.setVhost('v', { 'max-connections': 2 });
    limits.setUser('u', { 'max-connections': 3 });
    counts.admitConnection('v', 'u');
    counts.admitConnection('v', 'other');
    expect(refusal(() => counts.admitConnection('v', 'u')).replyText).toContain("access to vhost 'v' refused for user 'u': connection limit (2)");
    counts.admitConnection('w', 'u');
    counts.admitConnection('w', 'u');
    expect(refusal(() => counts.admitConnection('w', 'u')).replyText).toBe("NOT_ALLOWED - connection refused for user 'u': user connection limit (3) is reached");
    expect([counts.connectionsIn('v'), counts.connectionsIn('w'), counts.connectionsOf('u')]).toEqual([2, 2, 3]);
    counts.releaseConnection('v', 'u');
    counts.admitConnection('v', 'other');
    expect([counts.connectionsIn('v'), counts.connectionsOf('u'), counts.connectionsOf('other')]).toEqual([2, 2, 2]);
  });

  it('counts channels per user across connections', () => {
    const limits = new LimitStore();
    const counts = new ConnectionCounts(limits);
    limits.setUser('u', { 'max-channels': 2 });
    counts.admitChannel('u');
    counts.admitChannel('u');
    expect(refusal(() => counts.admitChannel('u')).replyCode).toBe(530);
    counts.releaseChannel('u');
    counts.admitChannel('u');
    expect(counts.channelsOf('u')).toBe(2);
    counts.admitChannel('someone-else');
    expect(counts.channelsOf('someone-else')).toBe(1);
  });
});
