// rabbitmq_build_info and rabbitmq_identity_info: every panel of RabbitMQ's Grafana dashboards
// joins on identity_info's rabbitmq_cluster / rabbitmq_node / rabbitmq_endpoint labels.

import { hostname } from 'node:os';
import type { Broker } from '../broker/broker.js';
import { labels, type TextWriter } from './text-format.js';

/** The version warren reports; kept with the server properties' one. */
export const WARREN_VERSION = '0.1.0';

/** RabbitMQ names nodes `rabbit@<host>`; warren is one node, `warren@<host>`. */
export function nodeName(): string {
  return `warren@${hostname()}`;
}

/** The cluster name clients see in connection.start: the configured cluster_name server property, else its default. */
export function clusterName(broker: Broker): string {
  return broker.config.serverProperties['cluster_name'] ?? `warren@${process.env['HOSTNAME'] ?? 'localhost'}`;
}

export type Endpoint = 'aggregated' | 'per-object' | 'detailed' | 'memory-breakdown';

export function writeIdentity(w: TextWriter, broker: Broker, endpoint: Endpoint): void {
  w.family('rabbitmq_build_info', 'untyped', 'RabbitMQ & Erlang/OTP version info');
  w.sample(
    'rabbitmq_build_info',
    labels([
      // Dashboards show these two; warren reports its own version and the Node.js runtime in their place.
      ['rabbitmq_version', WARREN_VERSION],
      ['prometheus_plugin_version', WARREN_VERSION],
      ['prometheus_client_version', WARREN_VERSION],
      ['erlang_version', `node-${process.versions.node}`],
      ['product_name', 'warren'],
      ['product_version', WARREN_VERSION],
    ]),
    1,
  );
  w.family('rabbitmq_identity_info', 'untyped', 'RabbitMQ node & cluster identity info');
  w.sample(
    'rabbitmq_identity_info',
    labels([
      ['rabbitmq_node', nodeName()],
      ['rabbitmq_cluster', clusterName(broker)],
      ['rabbitmq_endpoint', endpoint],
    ]),
    1,
  );
}
