// RabbitMQ's stored password format: base64(salt ‖ H(salt ‖ UTF-8 password)) with a 4-byte random
// salt, H chosen by the user's hashing algorithm (rabbit_password.erl, rabbit_password_hashing_*).

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const SHA256 = 'rabbit_password_hashing_sha256';
export const SHA512 = 'rabbit_password_hashing_sha512';
export const MD5 = 'rabbit_password_hashing_md5';

export type HashingAlgorithm = typeof SHA256 | typeof SHA512 | typeof MD5;

/** RabbitMQ's default password_hashing_module. */
export const DEFAULT_HASHING_ALGORITHM: HashingAlgorithm = SHA256;

/** rabbit_password:generate_salt/0: 4 random bytes. */
const SALT_BYTES = 4;

const DIGEST: Record<HashingAlgorithm, { name: string; bytes: number }> = {
  [SHA256]: { name: 'sha256', bytes: 32 },
  [SHA512]: { name: 'sha512', bytes: 64 },
  [MD5]: { name: 'md5', bytes: 16 },
};

export function isHashingAlgorithm(name: unknown): name is HashingAlgorithm {
  return name === SHA256 || name === SHA512 || name === MD5;
}

/** The algorithm named in a definitions file or config; an unknown name is an error, not a silent default. */
export function parseHashingAlgorithm(name: unknown): HashingAlgorithm {
  if (isHashingAlgorithm(name)) return name;
  throw new Error(`unknown password hashing algorithm '${String(name)}' (${SHA256}, ${SHA512} or ${MD5})`);
}

/**
 * The algorithm for an imported user that names none: RabbitMQ infers it from the definitions'
 * rabbit_version (3.6.0 introduced SHA-256; 3.0 to 3.5 hashed with MD5), else its default.
 */
export function importedHashingAlgorithm(given: unknown, rabbitVersion: unknown): HashingAlgorithm {
  if (given !== undefined && given !== null) return parseHashingAlgorithm(given);
  if (typeof rabbitVersion === 'string' && /^3\.[0-5](\.|$)/.test(rabbitVersion)) return MD5;
  return DEFAULT_HASHING_ALGORITHM;
}

function digest(algorithm: HashingAlgorithm, salt: Buffer, password: string): Buffer {
  return createHash(DIGEST[algorithm].name).update(salt).update(password, 'utf8').digest();
}

/** A new stored hash for `password`; `salt` only for test vectors. */
export function hashPassword(password: string, algorithm: HashingAlgorithm = DEFAULT_HASHING_ALGORITHM, salt: Buffer = randomBytes(SALT_BYTES)): string {
  if (salt.length !== SALT_BYTES) throw new Error(`salt must be ${SALT_BYTES} bytes`);
  const out = Buffer.allocUnsafe(SALT_BYTES + DIGEST[algorithm].bytes);
  salt.copy(out, 0);
  digest(algorithm, salt, password).copy(out, SALT_BYTES);
  return out.toString('base64');
}

/** Whether `passwordHash` (as exported by RabbitMQ) is well formed for `algorithm`. */
export function isValidPasswordHash(passwordHash: string, algorithm: HashingAlgorithm): boolean {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(passwordHash) || passwordHash.length % 4 !== 0) return false;
  return Buffer.from(passwordHash, 'base64').length === SALT_BYTES + DIGEST[algorithm].bytes;
}

/**
 * Whether `password` matches the stored hash; the digests are compared in constant time. An
 * empty or malformed hash (a user without a password) matches nothing.
 */
export function verifyPassword(password: string, passwordHash: string, algorithm: HashingAlgorithm): boolean {
  const stored = Buffer.from(passwordHash, 'base64');
  const expectedLength = SALT_BYTES + DIGEST[algorithm].bytes;
  // Hash anyway when the stored value is unusable, so the reply takes the same time.
  const salt = stored.length === expectedLength ? stored.subarray(0, SALT_BYTES) : Buffer.alloc(SALT_BYTES);
  const actual = digest(algorithm, salt, password);
  if (stored.length !== expectedLength) return false;
  return timingSafeEqual(actual, stored.subarray(SALT_BYTES));
}
