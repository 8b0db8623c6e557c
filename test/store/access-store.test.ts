// The access snapshot file: round trip, coalesced saves, a leftover temp file, damage detected.

import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ACCESS_FILE, AccessStore, AccessStoreError, type AccessSnapshot } from '../../src/store/access-store.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function dir(): string {
  const d = mkdtempSync(join(tmpdir(), 'warren-access-store-'));
  dirs.push(d);
  return d;
}

function snapshot(users: number): AccessSnapshot {
  return {
    users: Array.from({ length: users }, (_, i) => ({ name: `u${i}ü`, passwordHash: '', hashingAlgorithm: 'rabbit_password_hashing_sha256', tags: ['x'], limits: { 'max-channels': i } })),
    vhosts: [{ name: '/', description: 'd', tags: [], defaultQueueType: 'classic', limits: {} }],
    permissions: [{ user: 'u0ü', vhost: '/', configure: '.*', write: '', read: '^a' }],
    topicPermissions: [{ user: 'u0ü', vhost: '/', exchange: 'amq.topic', write: '.*', read: '.*' }],
    deletedVhosts: ['gone'],
    clusterName: 'c',
    bootDefinitionsHash: null,
  };
}

describe('AccessStore', () => {
  it('loads what it saved; none saved is null; a leftover temp file is ignored and removed', async () => {
    const d = dir();
    const s = new AccessStore(d);
    expect(await s.load()).toBeNull();
    await s.save(snapshot(3));
    writeFileSync(join(d, `${ACCESS_FILE}.tmp`), 'half a write');
    const again = new AccessStore(d);
    expect(await again.load()).toEqual(snapshot(3));
    expect(existsSync(join(d, `${ACCESS_FILE}.tmp`))).toBe(false);
  });

  it('coalesces saves made while one is written: the newest is written, every caller waits for it', async () => {
    const d = dir();
    const s = new AccessStore(d);
    const saves = Array.from({ length: 20 }, (_, i) => s.save(snapshot(i + 1)));
    await Promise.all(saves);
    expect(s.writes).toBeLessThan(20);
    expect((await new AccessStore(d).load())?.users).toHaveLength(20);
  });

  it('refuses a damaged snapshot, naming the file', async () => {
    const d = dir();
    await new AccessStore(d).save(snapshot(2));
    const file = join(d, ACCESS_FILE);
    const buf = readFileSync(file);
    buf.writeUInt8((buf.readUInt8(buf.length - 5) ^ 0x01), buf.length - 5);
    writeFileSync(file, buf);
    const err = await new AccessStore(d).load().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AccessStoreError);
    expect((err as Error).message).toContain(file);
    writeFileSync(file, 'not a snapshot at all');
    await expect(new AccessStore(d).load()).rejects.toThrow(/is not a warren access snapshot/);
  });
});
