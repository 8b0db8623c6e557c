// The user database: passwords hashed on the way in, login against the hash, tags, loopback_users.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MD5, SHA256, SHA512, parseHashingAlgorithm } from '../../../src/broker/auth/password-hash.js';
import { UserDatabase, UserError, checkUserId, hasTag, parseTags } from '../../../src/broker/auth/users.js';
import { ChannelError } from '../../../src/protocol/errors.js';

const exported = JSON.parse(readFileSync(join(__dirname, '../../fixtures/rabbitmq-3.10.8-users.json'), 'utf8')) as {
  users: { name: string; password_hash: string; hashing_algorithm: string; tags: string[] }[];
};

describe('UserDatabase', () => {
  it('keeps a hash, never the password', () => {
    const db = new UserDatabase([]);
    const u = db.put({ name: 'alice', password: 'wonder-land', tags: 'management' });
    expect(JSON.stringify(u)).not.toContain('wonder-land');
    expect(JSON.stringify(db.list())).not.toContain('wonder-land');
    expect(u.hashingAlgorithm).toBe(SHA256);
    expect(u.passwordHash).toHaveLength(48);
    expect(db.authenticate('alice', 'wonder-land', false)).toEqual({ ok: true, user: u });
  });

  it('a wrong password and an unknown user are refused alike', () => {
    const db = new UserDatabase([]);
    db.put({ name: 'alice', password: 'wonder-land' });
    expect(db.authenticate('alice', 'wrong', true)).toEqual({ ok: false, detail: "user 'alice' - invalid credentials" });
    expect(db.authenticate('bob', 'wonder-land', true)).toEqual({ ok: false, detail: "user 'bob' - invalid credentials" });
  });

  it('refuses a blank password, and a user without a password cannot log in with one', () => {
    const db = new UserDatabase([]);
    db.put({ name: 'alice', password: 'wonder-land' });
    db.put({ name: 'svc' });
    expect(db.get('svc')?.passwordHash).toBe('');
    expect(db.authenticate('alice', '', true)).toEqual({ ok: false, detail: "user 'alice' attempted to log in with a blank password" });
    expect(db.authenticate('svc', '', true).ok).toBe(false);
    expect(db.authenticate('svc', 'anything', true)).toEqual({ ok: false, detail: "user 'svc' - invalid credentials" });
  });

  it('users imported with RabbitMQ 3.10.8 hashes log in with their passwords', () => {
    const db = new UserDatabase([]);
    for (const u of exported.users) {
      db.put({ name: u.name, passwordHash: u.password_hash, hashingAlgorithm: parseHashingAlgorithm(u.hashing_algorithm), tags: u.tags });
    }
    expect(db.authenticate('vector-ascii', 's3cret-Vector_1', true).ok).toBe(true);
    expect(db.authenticate('vector-utf8', 'pässwörd-ü€', true).ok).toBe(true);
    expect(db.authenticate('vector-utf8', 's3cret-Vector_1', true).ok).toBe(false);
    expect(db.get('vector-utf8')?.tags).toEqual(['monitoring', 'custom-tag']);
  });

  it('accepts SHA-512 and MD5 hashes and checks their shape', () => {
    const db = new UserDatabase([]);
    db.put({ name: 'a', passwordHash: 'kI3GChuNuIYf8lRbCCxZjgjKwsY19ns6+uFO0zcXRBGA/XGJPYD8OWMy7EB8TaOmAzjP2azv84GbINYwX2cDWb4DHnc=', hashingAlgorithm: SHA512 });
    db.put({ name: 'b', passwordHash: 'kI3GChNpte2FApYFXScl+0dIluk=', hashingAlgorithm: MD5 });
    expect(db.authenticate('a', 'test12', true).ok).toBe(true);
    expect(db.authenticate('b', 'test12', true).ok).toBe(true);
    expect(() => db.put({ name: 'c', passwordHash: 'kI3GChNpte2FApYFXScl+0dIluk=' })).toThrow(UserError);
    expect(() => db.put({ name: 'c', passwordHash: 'kI3GChNpte2FApYFXScl+0dIluk=' })).toThrow(/not a valid rabbit_password_hashing_sha256 hash/);
    expect(() => db.put({ name: 'c', password: 'x', passwordHash: 'kI3GChNpte2FApYFXScl+0dIluk=', hashingAlgorithm: MD5 })).toThrow(/not both/);
    expect(() => db.put({ name: '' })).toThrow(/empty/);
    expect(db.get('c')).toBeUndefined();
  });

  it('loopback_users may log in only from loopback; others from anywhere', () => {
    const db = new UserDatabase(['guest']);
    db.put({ name: 'guest', password: 'guest' });
    db.put({ name: 'alice', password: 'pw' });
    expect(db.authenticate('guest', 'guest', true).ok).toBe(true);
    expect(db.authenticate('guest', 'guest', false)).toEqual({ ok: false, detail: "user 'guest' can only connect via localhost" });
    expect(db.authenticate('alice', 'pw', false).ok).toBe(true);
    db.setLoopbackUsers([]);
    expect(db.authenticate('guest', 'guest', false).ok).toBe(true);
  });

  it('the default loopback_users is guest', () => {
    expect(new UserDatabase().isLoopbackOnly('guest')).toBe(true);
  });

  it('tags: known and other tags kept, set_user_tags replaces them; delete removes the user', () => {
    const db = new UserDatabase([]);
    db.put({ name: 'ops', password: 'pw', tags: ['administrator', 'team-a'] });
    expect(hasTag(db.get('ops')!, 'administrator')).toBe(true);
    const v = db.version;
    db.setTags('ops', 'impersonator, monitoring');
    expect(db.get('ops')?.tags).toEqual(['impersonator', 'monitoring']);
    expect(db.version).toBeGreaterThan(v);
    expect(db.authenticate('ops', 'pw', true).ok).toBe(true);
    expect(db.delete('ops')).toBe(true);
    expect(db.delete('ops')).toBe(false);
    expect(db.authenticate('ops', 'pw', true).ok).toBe(false);
    expect(() => db.setTags('ops', [])).toThrow(/no user 'ops'/);
  });
});

describe('parseTags', () => {
  it('splits a comma-separated string, trims, drops empty and repeated tags', () => {
    expect(parseTags('administrator, management,,management ,x')).toEqual(['administrator', 'management', 'x']);
    expect(parseTags(['a', ' b ', ''])).toEqual(['a', 'b']);
    expect(parseTags('')).toEqual([]);
    expect(parseTags(undefined)).toEqual([]);
  });
});

describe('checkUserId', () => {
  const db = new UserDatabase([]);
  const alice = db.put({ name: 'alice', password: 'pw' });
  const proxy = db.put({ name: 'proxy', password: 'pw', tags: ['impersonator'] });

  it('passes no user-id or the own name; an impersonator may name anyone', () => {
    expect(() => checkUserId(undefined, alice)).not.toThrow();
    expect(() => checkUserId('alice', alice)).not.toThrow();
    expect(() => checkUserId('alice', proxy)).not.toThrow();
  });

  it("refuses another name with RabbitMQ's 406 on basic.publish", () => {
    let err: unknown;
    try {
      checkUserId('bob', alice);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ChannelError);
    expect(err).toMatchObject({
      replyCode: 406,
      replyText: "PRECONDITION_FAILED - user_id property set to 'bob' but authenticated user was 'alice'",
      classId: 60,
      methodId: 40,
    });
  });
});
