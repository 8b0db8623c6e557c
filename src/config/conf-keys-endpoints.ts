// rabbitmq.conf keys of the management and Prometheus endpoints, the PROXY protocol and server properties.

import { isIP } from 'node:net';
import { bool, ConfValueError, integer } from './conf-values.js';
import { type KeySpec, set, last } from './conf-spec.js';

function ipAddress(v: string): string {
  if (isIP(v) === 0) throw new ConfValueError(`'${v}' is not an IP address`);
  return v;
}

/** Listed in KEYS (conf-keys.ts) in this order. */
export const ENDPOINT_KEYS: readonly KeySpec[] = [
  {
    key: 'prometheus.tcp.port',
    values: 'a port',
    effect: 'serve Prometheus metrics at /metrics, /metrics/per-object and /metrics/detailed on this port (`--metrics-port`)',
    apply: set('metricsPort', (v) => integer(v, 0, 65535)),
  },
  {
    key: 'management.tcp.port',
    values: 'a port',
    effect: 'the management HTTP API on this port (`--management-port`; `warren serve` default 15672)',
    apply: set('managementPort', (v) => integer(v, 0, 65535)),
  },
  {
    key: 'management.tcp.ip',
    values: 'an IP address',
    effect: 'the management API\'s address (`--management-host`; default 127.0.0.1)',
    apply: set('managementHost', (v) => ipAddress(v)),
  },
  {
    key: 'management.ssl.port',
    values: 'a port',
    effect: 'the management API over HTTPS on this port (needs management.ssl.certfile and keyfile)',
    apply: set('managementTlsPort', (v) => integer(v, 0, 65535)),
  },
  { key: 'management.ssl.certfile', values: 'a file', effect: 'PEM certificate for the HTTPS management listener', apply: set('managementTlsCert', (v) => v) },
  { key: 'management.ssl.keyfile', values: 'a file', effect: 'PEM private key for management.ssl.certfile', apply: set('managementTlsKey', (v) => v) },
  { key: 'management.ssl.cacertfile', values: 'a file', effect: 'PEM CAs for client certificates on the HTTPS management listener', apply: set('managementTlsCa', (v) => v) },
  {
    key: 'prometheus.tcp.ip',
    values: 'an IP address',
    effect: 'the address the metrics listener binds (`--metrics-host`)',
    apply: set('metricsHost', (v) => {
      if (isIP(v) === 0) throw new ConfValueError(`'${v}' is not an IP address`);
      return v;
    }),
  },
  {
    key: 'prometheus.return_per_object_metrics',
    values: '`true` or `false`',
    effect: '/metrics gives one sample per queue, channel and exchange instead of sums (`--metrics-per-object`)',
    apply: set('metricsPerObject', bool),
  },
  {
    key: 'proxy_protocol',
    values: '`false`',
    effect: 'warren does not read the PROXY protocol header; true is refused',
    apply: (v) => {
      if (bool(v)) throw new ConfValueError('the PROXY protocol is not supported');
    },
  },
  {
    key: 'server_properties.$name',
    values: 'a string',
    effect: 'warren extension: a connection.start server property (product, version, platform, ...); not capabilities',
    apply: (v, e, g) => {
      const name = last(e);
      if (name === 'capabilities') throw new ConfValueError('the capabilities table cannot be replaced');
      g.serverProperties[name] = v;
    },
  },
];
