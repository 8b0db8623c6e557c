// Policies survive restarts: written to the vhost's definitions log (fsynced before put resolves,
// so a SIGKILL right after loses nothing), restored before queues and exchanges so these get
// their effective values at once; a record this build refuses is logged and skipped.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { DefinitionsStore } from '../../src/store/definitions-store.js';
import { vhostDir } from '../../src/store/data-dir.js';
import { policySpecFromJson } from '../../src/broker/policy/policy-json.js';
import type { RunningBroker } from '../../src/index.js';
import type { VHost } from '../../src/broker/vhost.js';
import { useDataDirBrokers } from '../lifecycle/data-dir-brokers.js';
import { channel } from '../lifecycle/helpers.js';

const { dataDir, start, stop, connect, closeConnections } = useDataDirBrokers('warren-policies');

function vhost(r: RunningBroker, name = '/'): VHost {
  const v = r.broker.vhost(name);
  if (v === undefined) throw new Error(`no vhost ${name}`);
  return v;
}

function logText(dir: string, name = '/'): string {
  return readFileSync(join(vhostDir(dir, name), 'definitions', 'definitions.log')).toString('latin1');
}

describe('policies across restarts', { timeout: 10_000 }, () => {
  it('policies and operator policies come back and apply to the recovered queue and exchange', async () => {
    const dir = dataDir();
    let r = await start(dir);
    const ch = await channel(await connect(r));
    await ch.assertQueue('orders', { durable: true, arguments: { 'x-max-length': 100 } });
    await ch.assertExchange('events', 'topic', { durable: true });
    await vhost(r).policies.put('limits', policySpecFromJson({ pattern: '^orders$', priority: 2, 'apply-to': 'queues', definition: { 'max-length': 10, 'message-ttl': 60000 } }));
    await vhost(r).policies.put('ae', policySpecFromJson({ pattern: '^events$', 'apply-to': 'exchanges', definition: { 'alternate-exchange': 'amq.fanout' } }));
    await vhost(r).operatorPolicies.put('cap', policySpecFromJson({ pattern: '.*', definition: { 'max-length': 5 } }));
    const listed = vhost(r).policies.list();
    await closeConnections();
    await stop(r);

    r = await start(dir);
    expect(vhost(r).policies.list()).toEqual(listed);
    expect(vhost(r).operatorPolicies.list()).toEqual([{ name: 'cap', pattern: '.*', applyTo: 'all', priority: 0, definition: { 'max-length': 5 } }]);
    const q = vhost(r).queues.get('orders');
    expect([q?.policyName, q?.operatorPolicyName, q?.policy.maxLength, q?.policy.messageTtl]).toEqual(['limits', 'cap', 5, 60000]);
    expect(q?.effectivePolicyDefinition()).toEqual({ 'max-length': 5, 'message-ttl': 60000 });
    const e = vhost(r).exchanges.get('events');
    expect([e?.policyName, e?.operatorPolicyName, e?.alternateExchange]).toEqual(['ae', 'cap', 'amq.fanout']);

    // Deleted stays deleted.
    expect(await vhost(r).operatorPolicies.delete('cap')).toBe(true);
    expect(await vhost(r).policies.delete('limits')).toBe(true);
    await stop(r);
    r = await start(dir);
    expect(vhost(r).operatorPolicies.list()).toEqual([]);
    expect(vhost(r).policies.list().map((p) => p.name)).toEqual(['ae']);
    const again = vhost(r).queues.get('orders');
    expect([again?.policyName, again?.operatorPolicyName, again?.policy.maxLength]).toEqual([null, null, 100]);
  });

  it('put resolves only once the record is on disk', async () => {
    const dir = dataDir();
    const r = await start(dir);
    const name = 'durable-before-answer';
    expect(logText(dir)).not.toContain(name);
    await vhost(r).policies.put(name, policySpecFromJson({ pattern: 'x', definition: { expires: 1000 } }));
    // Read straight from the file while the broker runs: what a SIGKILL now would leave.
    const text = logText(dir);
    expect(text).toContain('"putPolicy"');
    expect(text).toContain(name);
    await vhost(r).policies.delete(name);
    expect(logText(dir)).toContain('"deletePolicy"');
  });

  it('each vhost keeps its own policies, and a deleted vhost takes them along', async () => {
    const dir = dataDir();
    let r = await start(dir);
    await r.broker.addVhost('v2');
    await vhost(r, 'v2').policies.put('only-here', policySpecFromJson({ pattern: '.*', definition: { 'max-length': 1 } }));
    await stop(r);
    r = await start(dir);
    expect(vhost(r, 'v2').policies.list().map((p) => p.name)).toEqual(['only-here']);
    expect(vhost(r).policies.list()).toEqual([]);
    await r.broker.deleteVhost('v2');
    await r.broker.addVhost('v2');
    expect(vhost(r, 'v2').policies.list()).toEqual([]);
  });

  it('a stored policy this build refuses is logged and skipped; the others apply', async () => {
    const dir = dataDir();
    let r = await start(dir);
    await vhost(r).policies.put('good', policySpecFromJson({ pattern: '.*', definition: { 'max-length': 7 } }));
    await stop(r);
    const s = new DefinitionsStore({ dir: join(vhostDir(dir, '/'), 'definitions') });
    await s.open();
    s.putPolicy({ vhost: '/', kind: 'policy', name: 'unknown-key', pattern: '.*', applyTo: 'all', priority: 9, definition: '{"ha-mode":"all"}' });
    s.putPolicy({ vhost: '/', kind: 'operator', name: 'not-json', pattern: '.*', applyTo: 'all', priority: 0, definition: '{' });
    await new Promise<void>((resolve, reject) => s.whenDurable((err) => (err === null ? resolve() : reject(err))));
    await s.close();

    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const l of chunk.toString().split('\n')) if (l !== '') lines.push(JSON.parse(l) as Record<string, unknown>);
        cb();
      },
    });
    r = await start(dir, { logger: pino({ level: 'warn' }, sink) });
    expect(vhost(r).policies.list().map((p) => p.name)).toEqual(['good']);
    expect(vhost(r).operatorPolicies.list()).toEqual([]);
    const skipped = lines.filter((l) => l['msg'] === 'durable definition unreadable, skipped at recovery');
    expect(skipped.map((l) => [l['kind'], l['name']])).toEqual([
      ['policy', 'unknown-key'],
      ['operator policy', 'not-json'],
    ]);
    expect(String(skipped[0]?.['err'])).toContain('are not recognised policy settings');
  });

  it('the definitions log keeps policies through compaction, and a vhost delete removes them', async () => {
    const dir = join(dataDir(), 'definitions');
    const s = new DefinitionsStore({ dir, compactAboveBytes: 1 });
    await s.open();
    const def = { vhost: 'a', kind: 'policy' as const, name: 'p', pattern: '.*', applyTo: 'queues', priority: 1, definition: '{"max-length":1}' };
    for (let i = 0; i < 20; i++) s.putPolicy({ ...def, priority: i });
    s.putPolicy({ ...def, kind: 'operator' });
    s.putPolicy({ ...def, vhost: 'b' });
    s.deletePolicy('a', 'operator', 'p');
    await new Promise<void>((resolve, reject) => s.whenDurable((err) => (err === null ? resolve() : reject(err))));
    expect(s.stats().compactions).toBeGreaterThan(0);
    s.deleteVhost('b');
    await s.close();
    const reopened = new DefinitionsStore({ dir });
    const defs = await reopened.open();
    await reopened.close();
    expect(defs.policies).toEqual([{ ...def, priority: 19 }]);
  });
});
