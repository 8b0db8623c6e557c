// rabbitmq.conf keys of the AMQP listeners and their TLS settings (ssl_options.*).

import { bool, listenAddress, oneOf } from './conf-values.js';
import { type KeySpec, last } from './conf-spec.js';

/** Listed in KEYS (conf-keys.ts) in this order. */
export const LISTENER_KEYS: readonly KeySpec[] = [
  {
    key: 'listeners.tcp.default',
    values: 'a port (every interface), or IP:port',
    effect: 'AMQP port and address (`--port`, `--host`)',
    apply: (v, e, g) => g.tcp.set(last(e), { value: listenAddress(v), line: e.line }),
  },
  {
    key: 'listeners.tcp.$name',
    values: 'as listeners.tcp.default',
    effect: 'the same; warren listens on one address, or on the pair 127.0.0.1 and ::1 with one port',
    apply: (v, e, g) => g.tcp.set(last(e), { value: listenAddress(v), line: e.line }),
  },
  {
    key: 'listeners.tcp',
    values: '`none`',
    effect: 'refused: warren always serves plain AMQP',
    apply: (v, e, g) => {
      oneOf(v, ['none']);
      g.tcpNone = e.line;
    },
  },
  {
    key: 'listeners.ssl.default',
    values: 'a port (every interface), or IP:port',
    effect: 'AMQPS (TLS) port (`--tls-port`); its address must be the AMQP one',
    apply: (v, e, g) => g.ssl.set(last(e), { value: listenAddress(v), line: e.line }),
  },
  {
    key: 'listeners.ssl.$name',
    values: 'as listeners.ssl.default',
    effect: 'the same (one TLS listener)',
    apply: (v, e, g) => g.ssl.set(last(e), { value: listenAddress(v), line: e.line }),
  },
  {
    key: 'listeners.ssl',
    values: '`none`',
    effect: 'no TLS listener',
    apply: (v, e, g) => {
      oneOf(v, ['none']);
      g.sslNone = e.line;
    },
  },
  {
    key: 'ssl_options.certfile',
    values: 'a readable PEM file',
    effect: 'TLS certificate (`--tls-cert`)',
    apply: (v, e, g) => {
      g.sslOptionsLine ??= e.line;
      g.out.tlsCert = v;
    },
  },
  {
    key: 'ssl_options.keyfile',
    values: 'a readable PEM file',
    effect: 'TLS private key (`--tls-key`)',
    apply: (v, e, g) => {
      g.sslOptionsLine ??= e.line;
      g.out.tlsKey = v;
    },
  },
  {
    key: 'ssl_options.cacertfile',
    values: 'a readable PEM file',
    effect: 'CAs client certificates must chain to (`--tls-ca`)',
    apply: (v, e, g) => {
      g.sslOptionsLine ??= e.line;
      g.out.tlsCa = v;
    },
  },
  {
    key: 'ssl_options.verify',
    values: '`verify_peer` or `verify_none` (the default, as in RabbitMQ)',
    effect: 'client certificate checking (`--tls-verify`); verify_peer needs fail_if_no_peer_cert = true',
    apply: (v, e, g) => {
      g.sslOptionsLine ??= e.line;
      g.verify = { value: oneOf(v, ['verify_peer', 'verify_none']), line: e.line };
    },
  },
  {
    key: 'ssl_options.fail_if_no_peer_cert',
    values: '`true` or `false`',
    effect: 'with verify_peer: refuse clients without a certificate',
    apply: (v, e, g) => {
      g.sslOptionsLine ??= e.line;
      g.failIfNoPeerCert = { value: bool(v), line: e.line };
    },
  },
];
