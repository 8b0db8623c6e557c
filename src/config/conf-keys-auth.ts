// rabbitmq.conf keys of users and access: the default user and its rights, loopback users,
// definitions loaded at boot, authentication mechanisms and backends.

import { AUTH_MECHANISMS, type AuthMechanism } from './config.js';
import { bool, ConfValueError, oneOf } from './conf-values.js';
import { type KeySpec, set, last } from './conf-spec.js';

const INTERNAL_BACKENDS = ['internal', 'rabbit_auth_backend_internal'];

/** Listed in KEYS (conf-keys.ts) in this order: the default user, vhost and loopback users. */
export const USER_KEYS: readonly KeySpec[] = [
  {
    key: 'default_user',
    values: 'a user name',
    effect: 'the user that exists out of the box, instead of guest',
    apply: (v, _e, g) => {
      if (v === '') throw new ConfValueError('the user name is empty');
      g.out.defaultUser = v;
    },
  },
  {
    key: 'default_pass',
    values: 'a password (quote it if it holds a #)',
    effect: "the default user's password",
    apply: (v, _e, g) => {
      g.out.defaultPass = v;
    },
  },
  {
    key: 'default_vhost',
    values: 'a vhost name (default `/`)',
    effect: 'the vhost created on the first start, where the default user gets default_permissions',
    apply: set('defaultVhost', (v) => {
      if (v === '') throw new ConfValueError('the vhost name is empty');
      return v;
    }),
  },
  {
    key: 'loopback_users',
    values: '`none`',
    effect: 'no user is limited to loopback',
    apply: (v, e, g) => {
      oneOf(v, ['none']);
      g.loopbackNone = e.line;
    },
  },
  {
    key: 'loopback_users.$name',
    values: '`true` or `false`',
    effect: 'the users set true may only connect from loopback; giving any replaces the default (guest)',
    apply: (v, e, g) => g.loopback.set(last(e), bool(v)),
  },
];

/** Listed in KEYS (conf-keys.ts) in this order: default tags and permissions, definitions to load, authentication. */
export const AUTH_KEYS: readonly KeySpec[] = [
  {
    key: 'default_user_tags.$name',
    values: '`true` or `false`',
    effect: 'the tags of the default user created on the first start (default administrator); giving any replaces the default',
    apply: (v, e, g) => g.userTags.set(last(e), bool(v)),
  },
  {
    key: 'default_permissions.$name',
    values: '`configure`, `write` or `read` = a regular expression',
    effect: "the default user's permissions in the default vhost (default `.*` each)",
    apply: (v, e, g) => {
      const which = oneOf(last(e), ['configure', 'write', 'read']);
      try {
        new RegExp(v === '' ? '^$' : v);
      } catch {
        throw new ConfValueError(`'${v}' is not a valid regular expression`);
      }
      g.permissions[which] = v;
    },
  },
  {
    key: 'load_definitions',
    values: 'a definitions file, or a directory of .json files',
    effect: 'imported at every start; a bad file stops the start; with it, the first start creates no default user or vhost',
    apply: (v, e, g) => {
      if (v === '') throw new ConfValueError('the path is empty');
      g.definitionsPath = { value: v, line: e.line };
    },
  },
  {
    key: 'definitions.local.path',
    values: 'as load_definitions',
    effect: 'the same, with definitions.import_backend = local_filesystem',
    apply: (v, e, g) => {
      if (v === '') throw new ConfValueError('the path is empty');
      g.definitionsPath = { value: v, line: e.line };
    },
  },
  {
    key: 'definitions.import_backend',
    values: '`local_filesystem`',
    effect: 'where boot definitions come from; the HTTPS backend is refused',
    apply: (v, e, g) => {
      g.definitionsBackend = { value: oneOf(v, ['local_filesystem', 'rabbit_definitions_import_local_filesystem']), line: e.line };
    },
  },
  {
    key: 'definitions.skip_if_unchanged',
    values: '`true` or `false`',
    effect: 'skip the boot import when the definitions did not change since the last one (SHA-256 of the content)',
    apply: set('definitionsSkipIfUnchanged', bool),
  },
  {
    key: 'ssl_cert_login_from',
    values: '`distinguished_name` (the default) or `common_name`',
    effect: 'with EXTERNAL: the user name a client certificate logs in as',
    apply: set('sslCertLoginFrom', (v) => oneOf(v, ['distinguished_name', 'common_name'])),
  },
  {
    key: 'auth_mechanisms.$name',
    values: '`PLAIN`, `AMQPLAIN` or `EXTERNAL`',
    effect: 'the SASL mechanisms offered (EXTERNAL only on TLS connections with a verified client certificate); giving any replaces the default (PLAIN and AMQPLAIN)',
    apply: (v, e, g) => {
      if (!AUTH_MECHANISMS.includes(v as AuthMechanism)) {
        throw new ConfValueError(`authentication mechanism '${v}' is not supported (warren offers ${AUTH_MECHANISMS.join(', ')})`);
      }
      g.mechanisms.set(last(e), v as AuthMechanism);
    },
  },
  {
    key: 'auth_backends.$name',
    values: '`internal`',
    effect: 'the built-in user database, the only backend warren has',
    apply: (v) => {
      if (!INTERNAL_BACKENDS.includes(v)) {
        throw new ConfValueError(`auth backend '${v}' is not supported (warren has only the internal user database)`);
      }
    },
  },
];
