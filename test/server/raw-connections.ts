// Raw-socket connections for the bad-input tests: a bystander that lives for the whole file (to
// show one connection's bad input never hurts another), and fresh ones with channel 1 open.

import { afterAll, beforeAll } from 'vitest';
import type { BrokerHandle } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';

/** Opens a bystander (channel 1 open) before the file's tests and closes it after; returns its getter. */
export function useBystander(b: BrokerHandle): () => RawClient {
  let bystander: RawClient | undefined;
  beforeAll(async () => {
    bystander = await RawClient.open(b.port);
    await bystander.openChannel(1);
  });
  afterAll(async () => {
    await bystander?.close();
  });
  return () => {
    if (bystander === undefined) throw new Error('bystander not open yet');
    return bystander;
  };
}

/** A new connection with channel 1 open (and frame_max `frameMax` in tune-ok, if given). */
export async function fresh(port: number, frameMax?: number): Promise<RawClient> {
  const c = await RawClient.open(port, frameMax === undefined ? {} : { tuneOk: { frameMax } });
  await c.openChannel(1);
  return c;
}
