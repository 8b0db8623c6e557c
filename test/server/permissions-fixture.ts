// Shared set-up for the permission tests: a broker on port 0 with a vhost 'pv', users whose
// permissions are set through broker.users / broker.permissions / broker.limits, and helpers to
// assert RabbitMQ 3.10.8's refusal texts (checked live against it).

import { beforeAll } from 'vitest';
import * as amqplib from 'amqplib';
import type { Broker } from '../../src/broker/broker.js';
import { useBroker, type BrokerHandle } from '../helpers/broker.js';
import { channel, expectAmqpError, sync } from '../helpers/amqp.js';

export const VHOST = 'pv';
export const PASSWORD = 'secret-pw';

export interface UserSetup {
  configure: string;
  write: string;
  read: string;
  tags?: string[];
  topics?: Record<string, { write: string; read: string }>;
}

/** One broker per file; `users` are created in vhost 'pv' before the tests (guest gets `.*` there too). */
export function usePermissionBroker(users: Record<string, UserSetup>): BrokerHandle & { broker(): Broker } {
  const b = useBroker();
  beforeAll(async () => {
    const broker = b.running.broker;
    await broker.addVhost(VHOST);
    broker.permissions.set('guest', VHOST, { configure: '.*', write: '.*', read: '.*' });
    for (const [name, u] of Object.entries(users)) {
      broker.users.put({ name, password: PASSWORD, tags: u.tags ?? [] });
      broker.permissions.set(name, VHOST, { configure: u.configure, write: u.write, read: u.read });
      for (const [exchange, p] of Object.entries(u.topics ?? {})) broker.permissions.setTopic(name, VHOST, exchange, p);
    }
  });
  return Object.assign(b, { broker: () => b.running.broker });
}

export function userUrl(b: BrokerHandle, user: string, vhost = VHOST): string {
  return `amqp://${encodeURIComponent(user)}:${PASSWORD}@127.0.0.1:${b.port}/${encodeURIComponent(vhost)}`;
}

/** A channel as `user` on its own connection (closed after the test). */
export async function userChannel(b: BrokerHandle, user: string): Promise<{ conn: amqplib.ChannelModel; ch: amqplib.Channel }> {
  const conn = await b.connect(userUrl(b, user));
  return { conn, ch: await channel(conn) };
}

/** guest's channel in 'pv', to set up and inspect resources. */
export async function adminChannel(b: BrokerHandle): Promise<amqplib.Channel> {
  const conn = await b.connect(`amqp://guest:guest@127.0.0.1:${b.port}/${VHOST}`);
  return channel(conn);
}

/** RabbitMQ 3.10.8's resource refusal. */
export function refusedText(kind: 'queue' | 'exchange', name: string, user: string): string {
  return `ACCESS_REFUSED - access to ${kind} '${name}' in vhost '${VHOST}' refused for user '${user}'`;
}

export function topicRefusedText(key: string, exchange: string, user: string): string {
  return `ACCESS_REFUSED - access to topic '${key}' in exchange '${exchange}' in vhost '${VHOST}' refused for user '${user}'`;
}

/** The operation fails with 403 and exactly RabbitMQ's text. */
export function expectRefused(p: Promise<unknown>, kind: 'queue' | 'exchange', name: string, user: string): Promise<Error> {
  return expectAmqpError(p, 403, refusedText(kind, name, user));
}

/** After a channel error the connection is still usable, as with RabbitMQ (403 is a channel error). */
export async function connectionSurvives(conn: amqplib.ChannelModel): Promise<void> {
  const ch = await channel(conn);
  await ch.close();
}

/** Publish and wait for the channel to settle: resolves after a round trip, rejects with a channel error. */
export async function publishAndSync(ch: amqplib.Channel, exchange: string, key: string, opts: amqplib.Options.Publish = {}): Promise<void> {
  ch.publish(exchange, key, Buffer.from('m'), opts);
  // A round trip: any error from the publish arrives first.
  await sync(ch);
}
