// rabbitmq.conf keys -> Config: every implemented key, the keys refused and ignored, and errors that
// name the file and line. Value rules were checked against RabbitMQ 3.10.8's schema and cuttlefish.

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, configFromEnv, resolveConfig, type Config } from '../../src/config/config.js';
import { loadConfigFile, parseConfigText } from '../../src/config/config-file.js';
import { IGNORED, KEYS, keyMatches, REFUSED } from '../../src/config/conf-keys.js';

const GIB = 2 ** 30;
const conf = (text: string): Partial<Config> => parseConfigText('rabbitmq.conf', text, 8 * GIB).config;

function confError(text: string): string {
  try {
    parseConfigText('/etc/warren/rabbitmq.conf', text, 8 * GIB);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('rabbitmq.conf keys', () => {
  it.each<[string, Partial<Config>]>([
    ['listeners.tcp.default = 5673', { host: '::', port: 5673 }],
    ['listeners.tcp.default = 127.0.0.1:5673', { host: '127.0.0.1', port: 5673 }],
    ['listeners.tcp.default = 0.0.0.0:5673', { host: '0.0.0.0', port: 5673 }],
    ['listeners.tcp.local = ::1:5673', { host: '::1', port: 5673 }],
    ['listeners.tcp.default = [::1]:5673', { host: '::1', port: 5673 }],
    ['listeners.tcp.1 = 127.0.0.1:5673\nlisteners.tcp.2 = ::1:5673', { host: null, port: 5673 }],
    ['listeners.ssl.default = 5671', { host: '::', tlsPort: 5671 }],
    ['listeners.tcp.default = 10.0.0.1:5672\nlisteners.ssl.default = 10.0.0.1:5671', { host: '10.0.0.1', port: 5672, tlsPort: 5671 }],
    ['listeners.ssl = none', { tlsPort: null }],
    ['listeners.ssl = none\nlisteners.ssl.default = 5671', { tlsPort: null }],
    ['ssl_options.verify = verify_peer\nssl_options.fail_if_no_peer_cert = true', { tlsVerify: 'peer' }],
    ['ssl_options.verify = verify_none', { tlsVerify: 'none' }],
    ['ssl_options.fail_if_no_peer_cert = false', { tlsVerify: 'none' }],
    ['default_user = alice\ndefault_pass = s3cret pass', { defaultUser: 'alice', defaultPass: 's3cret pass' }],
    ["default_pass = 'a#b'", { defaultPass: 'a#b' }],
    ['default_vhost = /', { defaultVhost: '/' }],
    ['loopback_users = none', { loopbackUsers: [] }],
    ['loopback_users = none\nloopback_users.guest = true', { loopbackUsers: [] }],
    ['loopback_users.guest = false', { loopbackUsers: [] }],
    ['loopback_users.guest = false\nloopback_users.ops = true', { loopbackUsers: ['ops'] }],
    ['vm_memory_high_watermark.relative = 0.6', { memoryHighWatermark: 0.6 }],
    ['vm_memory_high_watermark.absolute = 1073741824', { memoryHighWatermark: GIB }],
    ['vm_memory_high_watermark.absolute = 1GB', { memoryHighWatermark: 1e9 }],
    ['vm_memory_high_watermark.absolute = 512MiB', { memoryHighWatermark: 512 * 2 ** 20 }],
    ['vm_memory_high_watermark.absolute = 2G', { memoryHighWatermark: 2 * GIB }],
    ['vm_memory_high_watermark.absolute = 100kB', { memoryHighWatermark: 100_000 }],
    ['vm_memory_high_watermark.absolute = 2GB\nvm_memory_high_watermark.relative = 0.5', { memoryHighWatermark: 2e9 }],
    ['disk_free_limit.absolute = 2GB', { diskFreeLimit: 2e9 }],
    ['disk_free_limit.absolute = 50000000', { diskFreeLimit: 50_000_000 }],
    ['disk_free_limit.relative = 1.5', { diskFreeLimit: 12 * GIB }],
    ['disk_free_limit.relative = 2.0\ndisk_free_limit.absolute = 1GiB', { diskFreeLimit: GIB }],
    ['consumer_timeout = 900000', { consumerTimeout: 900_000 }],
    ['max_message_size = 536870912', { maxMessageSize: 536_870_912 }],
    ['heartbeat = 0', { heartbeat: 0 }],
    ['heartbeat = 30 # seconds', { heartbeat: 30 }],
    ['heartbeat = 1\nheartbeat = 2', { heartbeat: 2 }],
    ['frame_max = 131072', { frameMax: 131072 }],
    ['frame_max = 128KB', { frameMax: 131072 }],
    ['frame_max = 1mb', { frameMax: 2 ** 20 }],
    ['channel_max = 128', { channelMax: 128 }],
    ['channel_max = 0', { channelMax: 65535 }],
    ['handshake_timeout = 5000', { handshakeTimeout: 5000 }],
    ['handshake_timeout = infinity', { handshakeTimeout: 2 ** 31 - 1 }],
    ['log.console.level = warning', { logLevel: 'warn' }],
    ['log.console.level = debug', { logLevel: 'debug' }],
    ['log.console.level = notice', { logLevel: 'info' }],
    ['log.console.level = critical', { logLevel: 'fatal' }],
    ['log.console.level = none', { logLevel: 'silent' }],
    ['log.console = true', {}],
    ['auth_mechanisms.1 = PLAIN', { authMechanisms: ['PLAIN'] }],
    ['auth_mechanisms.1 = AMQPLAIN\nauth_mechanisms.2 = PLAIN', { authMechanisms: ['AMQPLAIN', 'PLAIN'] }],
    ['auth_backends.1 = internal', {}],
    ['prometheus.tcp.port = 15692', { metricsPort: 15692 }],
    ['prometheus.tcp.ip = 0.0.0.0', { metricsHost: '0.0.0.0' }],
    ['prometheus.tcp.ip = ::1', { metricsHost: '::1' }],
    ['prometheus.return_per_object_metrics = true', { metricsPerObject: true }],
    ['proxy_protocol = false', {}],
    ['server_properties.product = RabbitMQ\nserver_properties.version = 3.10.8', { serverProperties: { product: 'RabbitMQ', version: '3.10.8' } }],
  ])('%s', (text, expected) => {
    expect(conf(text)).toEqual(expected);
  });

  it.each<[string, string]>([
    ['heartbeat = 30\nfoo.bar = 1', "/etc/warren/rabbitmq.conf:2: unknown key 'foo.bar'"],
    ['Heartbeat = 30', "/etc/warren/rabbitmq.conf:1: unknown key 'Heartbeat'"],
    ['\n\nheartbeat = abc', "/etc/warren/rabbitmq.conf:3: heartbeat: 'abc' is not an integer"],
    ['heartbeat = 70000', '/etc/warren/rabbitmq.conf:1: heartbeat: 70000 is out of range (0 to 65535)'],
    ['consumer_timeout = 0', '/etc/warren/rabbitmq.conf:1: consumer_timeout: 0 is out of range (1 to 9007199254740991)'],
    ['max_message_size = 536870913', '/etc/warren/rabbitmq.conf:1: max_message_size: 536870913 is out of range (1 to 536870912)'],
    ['frame_max = 1024', '/etc/warren/rabbitmq.conf:1: frame_max: 1024 is out of range (4096 to 4294967295 bytes)'],
    ['frame_max = 1.5MB', "/etc/warren/rabbitmq.conf:1: frame_max: '1.5MB' is not a size (an integer, or one with KB, MB or GB)"],
    ['vm_memory_high_watermark.relative = 1.0', '/etc/warren/rabbitmq.conf:1: vm_memory_high_watermark.relative: 1.0 is out of range (0 up to, not including, 1)'],
    ['vm_memory_high_watermark.relative = 0', '/etc/warren/rabbitmq.conf:1: vm_memory_high_watermark.relative: 0 (block all publishing) is not supported; give a fraction above 0'],
    ['vm_memory_high_watermark.absolute = 0MB', '/etc/warren/rabbitmq.conf:1: vm_memory_high_watermark.absolute: 0 (block all publishing) is not supported; give a size above 0'],
    ['vm_memory_high_watermark.absolute = 1.5GB', "/etc/warren/rabbitmq.conf:1: vm_memory_high_watermark.absolute: '1.5GB' is not a byte count (e.g. 50000000, 500MB, 500MiB, 2GB, 2GiB)"],
    ['disk_free_limit.absolute = 2XB', "/etc/warren/rabbitmq.conf:1: disk_free_limit.absolute: '2XB' is not a byte count (e.g. 50000000, 500MB, 500MiB, 2GB, 2GiB)"],
    ['listeners.tcp.default = localhost:5672', "/etc/warren/rabbitmq.conf:1: listeners.tcp.default: 'localhost:5672' is not a port or an IP:port (host names are not accepted, as in RabbitMQ)"],
    ['listeners.tcp.default = 127.0.0.1:99999', "/etc/warren/rabbitmq.conf:1: listeners.tcp.default: '127.0.0.1:99999' has no valid port (0 to 65535)"],
    ['listeners.tcp.a = 127.0.0.1:5672\nlisteners.tcp.b = 10.0.0.1:5672', '/etc/warren/rabbitmq.conf:2: listeners.tcp has 2 listeners; warren listens on one address (or on 127.0.0.1 and ::1 with one port)'],
    ['listeners.tcp = none\nlisteners.ssl.default = 5671', '/etc/warren/rabbitmq.conf:1: listeners.tcp = none is not supported: warren always serves plain AMQP'],
    ['listeners.tcp.default = 127.0.0.1:5672\nlisteners.ssl.default = 5671', '/etc/warren/rabbitmq.conf:2: the TLS listener must use the same address as the AMQP listener (warren binds one address for both)'],
    ['ssl_options.verify = verify_peer', '/etc/warren/rabbitmq.conf:1: ssl_options.verify = verify_peer needs ssl_options.fail_if_no_peer_cert = true (warren refuses clients without a valid certificate)'],
    ['ssl_options.verify = verify_none\nssl_options.fail_if_no_peer_cert = true', '/etc/warren/rabbitmq.conf:2: ssl_options.fail_if_no_peer_cert = true needs ssl_options.verify = verify_peer'],
    ['ssl_options.verify = peer', "/etc/warren/rabbitmq.conf:1: ssl_options.verify: 'peer' is not one of verify_peer, verify_none"],
    ['ssl_options.versions.1 = tlsv1.3', '/etc/warren/rabbitmq.conf:1: ssl_options.versions.1 is not supported: TLS versions cannot be restricted yet'],
    ['loopback_users.guest = yes', "/etc/warren/rabbitmq.conf:1: loopback_users.guest: 'yes' is not true or false"],
    ['log.console.level = warn', "/etc/warren/rabbitmq.conf:1: log.console.level: 'warn' is not one of debug, info, notice, warning, error, critical, alert, emergency, none"],
    ['auth_mechanisms.1 = CRAM-MD5', "/etc/warren/rabbitmq.conf:1: auth_mechanisms.1: authentication mechanism 'CRAM-MD5' is not supported (warren offers PLAIN, AMQPLAIN, EXTERNAL)"],
    ['ssl_cert_login_from = serial', "/etc/warren/rabbitmq.conf:1: ssl_cert_login_from: 'serial' is not one of distinguished_name, common_name"],
    ['definitions.import_backend = https', "/etc/warren/rabbitmq.conf:1: definitions.import_backend: 'https' is not one of local_filesystem, rabbit_definitions_import_local_filesystem"],
    ['definitions.https.url = https://example/defs.json', '/etc/warren/rabbitmq.conf:1: definitions.https.url is not supported: definitions are read from the local file system only (definitions.local.path)'],
    ['default_permissions.read = (', "/etc/warren/rabbitmq.conf:1: default_permissions.read: '(' is not a valid regular expression"],
    ['auth_backends.1 = ldap', "/etc/warren/rabbitmq.conf:1: auth_backends.1: auth backend 'ldap' is not supported (warren has only the internal user database)"],
    ['auth_backends.1.authn = internal', '/etc/warren/rabbitmq.conf:1: auth_backends.1.authn is not supported: warren has only the internal user database'],
    ['prometheus.tcp.ip = localhost', "/etc/warren/rabbitmq.conf:1: prometheus.tcp.ip: 'localhost' is not an IP address"],
    ['proxy_protocol = true', '/etc/warren/rabbitmq.conf:1: proxy_protocol: the PROXY protocol is not supported'],
    ['server_properties.capabilities = x', '/etc/warren/rabbitmq.conf:1: server_properties.capabilities: the capabilities table cannot be replaced'],
    ['heartbeat 30', "/etc/warren/rabbitmq.conf:1: expected 'key = value'"],
    ["default_user = ''", '/etc/warren/rabbitmq.conf:1: default_user: the user name is empty'],
  ])('refuses %j', (text, message) => {
    expect(confError(text)).toBe(message);
  });

  it('reads the user-database keys: default user tags and permissions, boot definitions, certificate login', () => {
    const loaded = parseConfigText(
      'rabbitmq.conf',
      [
        'default_user_tags.administrator = false', 'default_user_tags.monitoring = true', 'default_user_tags.management = true',
        'default_permissions.configure = ^app\\.', 'default_permissions.read = .*',
        'load_definitions = /etc/rabbitmq/old.json', 'definitions.import_backend = local_filesystem',
        'definitions.local.path = /etc/rabbitmq/defs', 'definitions.skip_if_unchanged = true',
        'auth_mechanisms.1 = EXTERNAL', 'auth_mechanisms.2 = PLAIN', 'ssl_cert_login_from = common_name',
      ].join('\n'),
      8 * GIB,
    );
    expect(loaded.warnings).toEqual([]);
    expect(loaded.config).toEqual({
      defaultUserTags: ['monitoring', 'management'],
      defaultPermissions: { configure: '^app\\.', write: '.*', read: '.*' },
      loadDefinitions: '/etc/rabbitmq/defs',
      definitionsSkipIfUnchanged: true,
      authMechanisms: ['EXTERNAL', 'PLAIN'],
      sslCertLoginFrom: 'common_name',
    });
  });

  it('accepts known RabbitMQ keys it does not implement, with one warning per key naming its line', () => {
    const loaded = parseConfigText(
      'rabbitmq.conf',
      'management.rates_mode = basic\nheartbeat = 10\ndefinitions.hashing.algorithm = SHA256\nmanagement.rates_mode = none\nlog.file.level = debug\nlog.console = false\n',
      8 * GIB,
    );
    expect(loaded.config).toEqual({ heartbeat: 10 });
    expect(loaded.warnings).toEqual([
      { key: 'management.rates_mode', line: 1, hint: 'not implemented by warren' },
      { key: 'definitions.hashing.algorithm', line: 3, hint: 'not implemented; boot definitions use load_definitions or definitions.local.path' },
      { key: 'log.file.level', line: 5, hint: 'warren logs to standard output only; its level is log.console.level' },
      { key: 'log.console', line: 6, hint: 'warren always logs to standard output; set log.console.level = none to silence it' },
    ]);
  });

  it('classifies every rabbitmq.conf key of RabbitMQ 3.10.8, so a valid RabbitMQ file never meets "unknown key"', () => {
    const keys = readFileSync(resolve(__dirname, '../fixtures/rabbitmq-3.10.8-conf-keys.txt'), 'utf8')
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('#'));
    expect(keys.length).toBeGreaterThan(800);
    const unclassified = keys.filter((k) => {
      const path = k.split('.');
      return ![...KEYS.map((s) => s.key), ...REFUSED.map((r) => r.key), ...IGNORED].some((p) => keyMatches(p, path));
    });
    expect(unclassified).toEqual([]);
  });

  it('matches key patterns word by word: $name is one word, ** one or more', () => {
    expect(keyMatches('listeners.tcp.$name', ['listeners', 'tcp', 'x'])).toBe(true);
    expect(keyMatches('listeners.tcp.$name', ['listeners', 'tcp'])).toBe(false);
    expect(keyMatches('listeners.tcp.$name', ['listeners', 'tcp', 'x', 'y'])).toBe(false);
    expect(keyMatches('management.**', ['management'])).toBe(false);
    expect(keyMatches('management.**', ['management', 'tcp', 'port'])).toBe(true);
  });

  it('checks that certificate files named by ssl_options can be read, naming the line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'warren-conf-'));
    const cert = join(dir, 'cert.pem');
    writeFileSync(cert, 'x');
    const file = join(dir, 'rabbitmq.conf');
    writeFileSync(file, `ssl_options.certfile = ${cert}\nssl_options.keyfile = ${join(dir, 'missing.pem')}\n`);
    expect(() => loadConfigFile(file)).toThrow(`${file}:2: ssl_options.keyfile: cannot read ${join(dir, 'missing.pem')} (ENOENT)`);
  });

  it('reports a missing file and a file that is not UTF-8', () => {
    const dir = mkdtempSync(join(tmpdir(), 'warren-conf-'));
    expect(() => loadConfigFile(join(dir, 'nope.conf'))).toThrow(`cannot read config file ${join(dir, 'nope.conf')}: ENOENT`);
    const bad = join(dir, 'latin1.conf');
    writeFileSync(bad, Buffer.concat([Buffer.from('heartbeat = 1\ndefault_pass = '), Buffer.from([0xe9]), Buffer.from('\n')]));
    expect(() => loadConfigFile(bad)).toThrow(`${bad}:2: not valid UTF-8`);
  });
});

describe('default user, vhost and loopback users', () => {
  it('builds the one user from default_user, default_pass and loopback_users', () => {
    expect(resolveConfig({}).users).toEqual([{ name: 'guest', password: 'guest', loopbackOnly: true }]);
    expect(resolveConfig({ defaultUser: 'alice', defaultPass: 'pw' }).users).toEqual([{ name: 'alice', password: 'pw', loopbackOnly: false }]);
    expect(resolveConfig({ loopbackUsers: [] }).users).toEqual([{ name: 'guest', password: 'guest', loopbackOnly: false }]);
    expect(resolveConfig({ defaultUser: 'ops', loopbackUsers: ['ops'] }).users[0]?.loopbackOnly).toBe(true);
  });

  it('reads WARREN_DEFAULT_* and RABBITMQ_DEFAULT_*; WARREN_ wins, and an empty value is unset', () => {
    expect(configFromEnv({ RABBITMQ_DEFAULT_USER: 'bob', RABBITMQ_DEFAULT_PASS: 'b', RABBITMQ_DEFAULT_VHOST: '/' })).toEqual({
      defaultUser: 'bob',
      defaultPass: 'b',
      defaultVhost: '/',
    });
    expect(configFromEnv({ RABBITMQ_DEFAULT_USER: 'bob', WARREN_DEFAULT_USER: 'carol' })).toEqual({ defaultUser: 'carol' });
    expect(configFromEnv({ RABBITMQ_DEFAULT_USER: 'bob', WARREN_DEFAULT_USER: '' })).toEqual({ defaultUser: 'bob' });
    expect(configFromEnv({ RABBITMQ_DEFAULT_PASS: '' })).toEqual({});
  });

  it('keeps users given explicitly (embedding)', () => {
    const users = [{ name: 'x', password: 'y', loopbackOnly: false }];
    expect(resolveConfig({ users, defaultUser: 'alice' }).users).toEqual(users);
  });

  it('takes any default vhost name but an empty one', () => {
    expect(resolveConfig({ defaultVhost: 'app' }).defaultVhost).toBe('app');
    expect(() => resolveConfig({ defaultVhost: '' })).toThrow(
      'empty default vhost',
    );
  });
});

describe('README: Configuration file', () => {
  const readme = readFileSync(resolve(__dirname, '../../README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Configuration file'), readme.indexOf('## Embedding it'));

  it('documents every implemented and refused key', () => {
    const undocumented = KEYS.map((k) => k.key).filter((k) => !section.includes(`\`${k}\``));
    expect(undocumented).toEqual([]);
    const refusedUndocumented = REFUSED.map((r) => r.key.replace(/\.(\$name|\*\*)(\..*)?$/, '')).filter((k) => !section.includes(`\`${k}`));
    expect(refusedUndocumented).toEqual([]);
  });

  it("has an example file that warren accepts as it stands", () => {
    const example = /```ini\n([\s\S]*?)```/.exec(section)?.[1];
    expect(example).toBeDefined();
    const loaded = parseConfigText('README example', example as string, 8 * GIB);
    expect(loaded.warnings).toEqual([]);
    expect(loaded.config).toMatchObject({ host: '::', port: 5672, defaultUser: 'team', defaultPass: 'correct#horse', metricsPort: 15692 });
  });
});
