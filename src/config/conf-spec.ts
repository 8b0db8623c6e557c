// The shapes the rabbitmq.conf key table is made of (conf-keys.ts), and helpers its entries share.

import type { AuthMechanism, Config } from './config.js';
import type { ConfEntry } from './conf-file.js';
import type { ListenAddress } from './conf-values.js';

/** A setting accepted but not applied. */
export interface ConfWarning {
  readonly key: string;
  readonly line: number;
  readonly hint: string;
}

export interface Located<T> {
  readonly value: T;
  readonly line: number;
}

/** What the settings gather before the keys that depend on each other are combined. */
export interface Gathered {
  readonly out: Partial<Config>;
  readonly warnings: ConfWarning[];
  readonly tcp: Map<string, Located<ListenAddress>>;
  tcpNone: number | null;
  readonly ssl: Map<string, Located<ListenAddress>>;
  sslNone: number | null;
  /** First line of any ssl_options.* key: TLS settings were given. */
  sslOptionsLine: number | null;
  verify: Located<'verify_peer' | 'verify_none'> | null;
  failIfNoPeerCert: Located<boolean> | null;
  loopbackNone: number | null;
  readonly loopback: Map<string, boolean>;
  memRelative: number | null;
  memAbsolute: number | null;
  diskRelative: number | null;
  diskAbsolute: number | null;
  readonly mechanisms: Map<string, AuthMechanism>;
  readonly serverProperties: Record<string, string>;
  /** default_user_tags.$tag = true/false. */
  readonly userTags: Map<string, boolean>;
  readonly permissions: { configure?: string; write?: string; read?: string };
  /** load_definitions or definitions.local.path, whichever comes last. */
  definitionsPath: Located<string> | null;
  definitionsBackend: Located<string> | null;
}

export interface KeySpec {
  /** The key; `$name` stands for any one word. */
  readonly key: string;
  /** The values accepted. */
  readonly values: string;
  /** What it does in warren. */
  readonly effect: string;
  apply(value: string, entry: ConfEntry, g: Gathered): void;
}

export function set<K extends keyof Config>(field: K, parse: (v: string) => Config[K]): KeySpec['apply'] {
  return (v, _e, g) => {
    g.out[field] = parse(v);
  };
}

export function last(e: ConfEntry): string {
  return e.path[e.path.length - 1] as string;
}
