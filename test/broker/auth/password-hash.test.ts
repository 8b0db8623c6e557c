// RabbitMQ's password hashing: hashes exported by a live RabbitMQ 3.10.8 (rabbitmqctl add_user, then
// export_definitions) must verify, and hashes we make must match vectors computed independently
// from the scheme (Python hashlib; the SHA-256 one is also RabbitMQ's documented example).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  MD5,
  SHA256,
  SHA512,
  hashPassword,
  importedHashingAlgorithm,
  isValidPasswordHash,
  parseHashingAlgorithm,
  verifyPassword,
  type HashingAlgorithm,
} from '../../../src/broker/auth/password-hash.js';

interface ExportedUser {
  name: string;
  password_hash: string;
  hashing_algorithm: string;
  tags: string[];
}

const exported = JSON.parse(readFileSync(join(__dirname, '../../fixtures/rabbitmq-3.10.8-users.json'), 'utf8')) as { users: ExportedUser[] };
/** The passwords the fixture's users were created with. */
const PASSWORDS: Record<string, string> = { 'vector-ascii': 's3cret-Vector_1', 'vector-utf8': 'pässwörd-ü€' };

const SALT = Buffer.from('908DC60A', 'hex');
const VECTORS: [HashingAlgorithm, string, string][] = [
  [SHA256, 'test12', 'kI3GCqW5JLMJa4iX1lo7X4D6XbYqlLgxIs30+P6tENUV2POR'],
  [SHA256, 'pässwörd-ü€', 'kI3GCi3MaPQ9Nyf27IHTOW6vw9SkPt6Y+zB9A040RcP7HgEh'],
  [SHA512, 'test12', 'kI3GChuNuIYf8lRbCCxZjgjKwsY19ns6+uFO0zcXRBGA/XGJPYD8OWMy7EB8TaOmAzjP2azv84GbINYwX2cDWb4DHnc='],
  [SHA512, 'pässwörd-ü€', 'kI3GCp3YuFuyhYuDpOxQ/scS2juypgg1VAciLpVCJVfjSCWM9B0d0c8sEndg+R76yjdpGCqyv7ocu8N2ZyM7iHofG4I='],
  [MD5, 'test12', 'kI3GChNpte2FApYFXScl+0dIluk='],
  [MD5, 'pässwörd-ü€', 'kI3GCo4sBfj2ohXzro6s5QWUmvI='],
];

describe('hashes exported by RabbitMQ 3.10.8', () => {
  it.each(exported.users.map((u) => [u.name, u] as const))('%s verifies with its password and no other', (name, u) => {
    const alg = parseHashingAlgorithm(u.hashing_algorithm);
    expect(alg).toBe(SHA256);
    const password = PASSWORDS[name] as string;
    expect(verifyPassword(password, u.password_hash, alg)).toBe(true);
    expect(verifyPassword(`${password}x`, u.password_hash, alg)).toBe(false);
    expect(verifyPassword(password.slice(0, -1), u.password_hash, alg)).toBe(false);
    expect(verifyPassword(password, u.password_hash, SHA512)).toBe(false);
  });

  it('guest/guest as published for RabbitMQ verifies', () => {
    expect(verifyPassword('guest', '9/1i+jKFRpbTRV1PtRnzFFYibT3cEpP92JeZ8YKGtflf4e/u', SHA256)).toBe(true);
  });
});

describe('hashPassword', () => {
  it.each(VECTORS)('%s of %s with salt 908DC60A', (alg, password, expected) => {
    expect(hashPassword(password, alg, SALT)).toBe(expected);
    expect(verifyPassword(password, expected, alg)).toBe(true);
    expect(verifyPassword('test13', expected, alg)).toBe(false);
  });

  it('uses a fresh 4-byte salt each time, SHA-256 by default', () => {
    const a = hashPassword('same');
    const b = hashPassword('same');
    expect(a).not.toBe(b);
    expect(a).toHaveLength(48); // base64 of 4 + 32 bytes
    expect(hashPassword('same', SHA512)).toHaveLength(92);
    expect(verifyPassword('same', a, SHA256)).toBe(true);
    expect(verifyPassword('same', b, SHA256)).toBe(true);
  });

  it('refuses a salt of the wrong size', () => {
    expect(() => hashPassword('x', SHA256, Buffer.alloc(3))).toThrow(/4 bytes/);
  });
});

describe('verifyPassword on unusable hashes', () => {
  it('an empty hash (a user without a password) matches nothing, not even the empty password', () => {
    expect(verifyPassword('', '', SHA256)).toBe(false);
    expect(verifyPassword('guest', '', SHA256)).toBe(false);
  });

  it('a hash of the wrong length or encoding matches nothing', () => {
    expect(verifyPassword('test12', 'kI3GCqW5JLMJa4iX1lo7X4D6', SHA256)).toBe(false);
    expect(verifyPassword('test12', 'not base64 at all!', SHA256)).toBe(false);
    // A SHA-256 hash read as SHA-512 has the wrong length.
    expect(verifyPassword('test12', 'kI3GCqW5JLMJa4iX1lo7X4D6XbYqlLgxIs30+P6tENUV2POR', SHA512)).toBe(false);
  });

  it('isValidPasswordHash checks encoding and length for the algorithm', () => {
    expect(isValidPasswordHash('kI3GCqW5JLMJa4iX1lo7X4D6XbYqlLgxIs30+P6tENUV2POR', SHA256)).toBe(true);
    expect(isValidPasswordHash('kI3GCqW5JLMJa4iX1lo7X4D6XbYqlLgxIs30+P6tENUV2POR', SHA512)).toBe(false);
    expect(isValidPasswordHash('kI3GChNpte2FApYFXScl+0dIluk=', MD5)).toBe(true);
    expect(isValidPasswordHash('kI3GChNpte2FApYFXScl+0dIluk', MD5)).toBe(false);
    expect(isValidPasswordHash('****', SHA256)).toBe(false);
  });
});

describe('hashing algorithm names', () => {
  it('accepts the three RabbitMQ modules and refuses others', () => {
    expect(parseHashingAlgorithm('rabbit_password_hashing_sha512')).toBe(SHA512);
    expect(() => parseHashingAlgorithm('rabbit_password_hashing_sha1')).toThrow(/unknown password hashing algorithm 'rabbit_password_hashing_sha1'/);
    expect(() => parseHashingAlgorithm(undefined)).toThrow(/unknown/);
  });

  it('an import without one follows rabbit_version: 3.0-3.5 is MD5, later or unknown SHA-256', () => {
    expect(importedHashingAlgorithm(undefined, '3.5.7')).toBe(MD5);
    expect(importedHashingAlgorithm(undefined, '3.0.0')).toBe(MD5);
    expect(importedHashingAlgorithm(undefined, '3.6.0')).toBe(SHA256);
    expect(importedHashingAlgorithm(undefined, '3.10.8')).toBe(SHA256);
    expect(importedHashingAlgorithm(undefined, undefined)).toBe(SHA256);
    expect(importedHashingAlgorithm(SHA512, '3.5.0')).toBe(SHA512);
  });
});
