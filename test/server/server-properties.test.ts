// Configurable connection.start server-properties (RabbitMQ's server_properties).

import { describe, expect, it } from 'vitest';
import { useBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { ConfigError, configFromEnv, parseServerProperty, resolveConfig } from '../../src/config/config.js';
import type { FieldTable } from '../../src/protocol/field-table.js';

const str = (v: unknown): string => (Buffer.isBuffer(v) ? v.toString('utf8') : String(v));

describe('default', () => {
  const b = useBroker();
  it('advertises product "warren"', async () => {
    const c = await RawClient.open(b.port);
    expect(str(c.start?.serverProperties['product'])).toBe('warren');
    await c.close();
  });
});

describe('with Config.serverProperties', () => {
  const b = useBroker({ serverProperties: { product: 'RabbitMQ', version: '3.10.8', cluster_name: 'rabbit@here', extra: 'x' } });
  it('overrides and adds string properties, keeps the capability table and the other defaults', async () => {
    const c = await RawClient.open(b.port);
    const props = c.start?.serverProperties as FieldTable;
    expect(str(props['product'])).toBe('RabbitMQ');
    expect(str(props['version'])).toBe('3.10.8');
    expect(str(props['cluster_name'])).toBe('rabbit@here');
    expect(str(props['extra'])).toBe('x');
    expect(str(props['platform'])).toMatch(/^Node\.js /);
    expect(props['capabilities']).toMatchObject({ per_consumer_qos: true, 'basic.nack': true });
    await c.close();
  });
});

describe('config plumbing', () => {
  it('defaults to no overrides; refuses capabilities and non-string values', () => {
    expect(resolveConfig({}).serverProperties).toEqual({});
    expect(() => resolveConfig({ serverProperties: { capabilities: 'x' } })).toThrow(ConfigError);
    expect(() => resolveConfig({ serverProperties: { product: 1 as unknown as string } })).toThrow(ConfigError);
  });

  it('reads WARREN_SERVER_PROPERTY_<KEY> variables', () => {
    expect(configFromEnv({ WARREN_SERVER_PROPERTY_PRODUCT: 'RabbitMQ', WARREN_SERVER_PROPERTY_CLUSTER_NAME: 'c1' }).serverProperties).toEqual({
      product: 'RabbitMQ',
      cluster_name: 'c1',
    });
    expect(configFromEnv({}).serverProperties).toBeUndefined();
  });

  it('splits a --server-property flag at the first "="', () => {
    expect(parseServerProperty('information=a=b')).toEqual(['information', 'a=b']);
    expect(parseServerProperty('version=')).toEqual(['version', '']);
    expect(() => parseServerProperty('product')).toThrow(ConfigError);
    expect(() => parseServerProperty('=x')).toThrow(ConfigError);
  });
});
