// The rabbitmq.conf keys warren understands, what each sets in Config, and what it does with the
// rest of RabbitMQ's keys (the table; conf-map.ts applies it).
//
// Every setting falls in one of four groups, checked in this order:
//   1. KEYS: implemented; the value is checked and applied.
//   2. REFUSED: RabbitMQ keys warren does not implement and cannot ignore, because ignoring them would
//      make warren less strict than the file asks (TLS ciphers, trust store, other auth backends, ...).
//   3. IGNORED: RabbitMQ keys warren does not implement and can ignore safely (plugins, clustering,
//      Erlang tuning, log files, ...); each is logged once as a warning naming the key and line.
//   4. anything else: an unknown key, refused.
// Errors carry the line; the loader (config-file.ts) adds the file name.

import type { KeySpec } from './conf-spec.js';
import { LISTENER_KEYS } from './conf-keys-listeners.js';
import { AUTH_KEYS, USER_KEYS } from './conf-keys-auth.js';
import { RESOURCE_KEYS } from './conf-keys-resources.js';
import { ENDPOINT_KEYS } from './conf-keys-endpoints.js';

/** Implemented keys, by area; the first whose pattern matches a key applies it. */
export const KEYS: readonly KeySpec[] = [...LISTENER_KEYS, ...USER_KEYS, ...RESOURCE_KEYS, ...AUTH_KEYS, ...ENDPOINT_KEYS];

/** RabbitMQ keys refused: ignoring them would make warren less strict than the file asks. */
export const REFUSED: readonly { readonly key: string; readonly reason: string }[] = [
  { key: 'ssl_options.versions.$name', reason: 'TLS versions cannot be restricted yet' },
  { key: 'ssl_options.ciphers.$name', reason: 'TLS cipher suites cannot be restricted yet' },
  { key: 'ssl_options.crl_check', reason: 'certificate revocation lists are not checked' },
  { key: 'ssl_options.depth', reason: 'the certificate chain depth cannot be limited' },
  { key: 'ssl_options.password', reason: 'encrypted private keys are not supported' },
  { key: 'ssl_options.cacerts.**', reason: 'give the CAs as a file with ssl_options.cacertfile' },
  { key: 'ssl_options.cert', reason: 'give the certificate as a file with ssl_options.certfile' },
  { key: 'ssl_options.key.**', reason: 'give the key as a file with ssl_options.keyfile' },
  { key: 'ssl_options.dh', reason: 'custom Diffie-Hellman parameters are not supported' },
  { key: 'ssl_options.dhfile', reason: 'custom Diffie-Hellman parameters are not supported' },
  { key: 'auth_backends.$name.**', reason: 'warren has only the internal user database' },
  { key: 'trust_store.**', reason: 'the trust store plugin (client certificate allow-list) is not implemented' },
  { key: 'definitions.https.**', reason: 'definitions are read from the local file system only (definitions.local.path)' },
  { key: 'definitions.tls.**', reason: 'definitions are read from the local file system only (definitions.local.path)' },
];

/** RabbitMQ keys accepted and ignored (with a warning): plugins, clustering, Erlang and log-file tuning. */
export const IGNORED: readonly string[] = [
  // Plugins warren does not have (the Prometheus endpoint and the management API are built in: the
  // prometheus.tcp.port and management.tcp/ssl keys above; other management.* settings are ignored).
  'management.**', 'management_agent.**', 'mqtt.**', 'web_mqtt.**', 'stomp.**', 'web_stomp.**', 'stream.**',
  'amqp1_0.**', 'event_exchange.**', 'prometheus.**', 'auth_ldap.**', 'auth_http.**', 'auth_cache.**', 'auth_oauth2.**',
  'federation.**', 'shovel.**', 'aws.**',
  // Clustering and the Erlang runtime.
  'cluster_formation.**', 'cluster_name', 'cluster_partition_handling', 'cluster_partition_handling.**',
  'cluster_keepalive_interval', 'cluster_queue_limit', 'net_ticktime', 'distribution.**', 'erlang.**', 'raft.**',
  'sysmon_handler.**', 'delegate_count', 'default_worker_pool_size', 'hipe_compile', 'background_gc_enabled',
  'background_gc_target_interval', 'mnesia_table_loading_retry_limit', 'mnesia_table_loading_retry_timeout',
  'metadata_store.**', 'mirroring_sync_batch_size', 'mirroring_sync_max_throughput', 'queue_master_locator',
  'queue_leader_locator', 'vhost_restart_strategy', 'message_store_shutdown_timeout', 'queue_index_embed_msgs_below',
  'socket_writer.gc_threshold', 'num_acceptors.**', 'tcp_listen_options', 'tcp_listen_options.**', 'reverse_dns_lookups',
  'vm_memory_calculation_strategy', 'vm_memory_high_watermark_paging_ratio', 'memory_monitor_interval',
  'total_memory_available_override_value', 'collect_statistics', 'collect_statistics_interval', 'initial_frame_max',
  'classic_queue.**', 'quorum_queue.**', 'default_queue_type', 'deprecated_features.**', 'message_interceptors.**',
  'runtime_parameters.**', 'channel_max_per_node', 'consumer_max_per_channel', 'connection_max', 'vhost_max',
  // Policies and limits on the first start, hashing and password rules not implemented.
  'definitions.**', 'default_users.**',
  'default_policies.**', 'default_limits.**', 'password_hashing_module', 'credential_validator.**',
  'ssl_cert_login_san_type', 'ssl_cert_login_san_index',
  // Product banners and logging destinations other than standard output.
  'product.name', 'product.version', 'motd_file', 'log.**',
  // TLS settings that only relax or tune the handshake.
  'ssl_options', 'ssl_options.client_renegotiation', 'ssl_options.honor_cipher_order', 'ssl_options.honor_ecc_order',
  'ssl_options.log_level', 'ssl_options.log_alert', 'ssl_options.reuse_sessions', 'ssl_options.secure_renegotiate',
  'ssl_options.bypass_pem_cache', 'ssl_options.psk_identity', 'ssl_handshake_timeout', 'ssl_allow_poodle_attack',
];

/** `$name` (or `*`) matches one word; a trailing `**` matches one or more. */
export function keyMatches(pattern: string, path: readonly string[]): boolean {
  const p = pattern.split('.');
  for (let i = 0; i < p.length; i++) {
    const w = p[i] as string;
    if (w === '**') return i === p.length - 1 && path.length > i;
    if (i >= path.length) return false;
    if (w.startsWith('$') || w === '*') continue;
    if (w !== path[i]) return false;
  }
  return p.length === path.length;
}

/** Why an ignored key does nothing, where a general "not implemented" says too little. */
export const IGNORED_HINTS: readonly { readonly prefix: string; readonly hint: string }[] = [
  { prefix: 'log.', hint: 'warren logs to standard output only; its level is log.console.level' },
  { prefix: 'definitions.', hint: 'not implemented; boot definitions use load_definitions or definitions.local.path' },
];
