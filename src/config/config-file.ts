// Reading an operator's rabbitmq.conf: file -> Partial<Config> and warnings, or a ConfigError that
// names the file and line (the CLI prints it as one line and exits non-zero).

import { accessSync, constants, readFileSync } from 'node:fs';
import { ConfigError, type Config } from './config.js';
import { ConfSyntaxError, parseConf, type ConfEntry } from './conf-file.js';
import type { ConfWarning } from './conf-spec.js';
import { ConfKeyError, mapConf } from './conf-map.js';
import { availableMemory } from '../util/memory.js';

export interface LoadedConfigFile {
  readonly file: string;
  readonly config: Partial<Config>;
  readonly warnings: readonly ConfWarning[];
}

/** Keys naming files that must be readable when the broker starts (RabbitMQ's file_accessible). */
const FILE_KEYS = ['ssl_options.certfile', 'ssl_options.keyfile', 'ssl_options.cacertfile'];

export function loadConfigFile(file: string, totalMemory: number = availableMemory()): LoadedConfigFile {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err instanceof Error ? err.message : String(err));
    throw new ConfigError(`cannot read config file ${file}: ${code}`);
  }
  return parseConfigText(file, decode(file, bytes), totalMemory);
}

/** The same for text already in memory; `file` only names it in errors. */
export function parseConfigText(file: string, text: string, totalMemory: number): LoadedConfigFile {
  try {
    const entries = parseConf(text);
    const mapped = mapConf(entries, { totalMemory });
    checkFiles(entries);
    return { file, config: mapped.config, warnings: mapped.warnings };
  } catch (err) {
    if (err instanceof ConfSyntaxError || err instanceof ConfKeyError) throw new ConfigError(`${file}:${err.line}: ${err.detail}`);
    throw err;
  }
}

function checkFiles(entries: readonly ConfEntry[]): void {
  const lastOf = new Map<string, ConfEntry>();
  for (const e of entries) if (FILE_KEYS.includes(e.key)) lastOf.set(e.key, e);
  for (const e of lastOf.values()) {
    try {
      accessSync(e.value, constants.R_OK);
    } catch (err) {
      throw new ConfKeyError(e.line, `${e.key}: cannot read ${e.value} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
}

/** The file must be UTF-8 (as cuttlefish requires); a bad byte is reported with its line. */
function decode(file: string, bytes: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    let line = 1;
    for (const chunk of bytes.toString('latin1').split('\n')) {
      try {
        new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(chunk, 'latin1'));
      } catch {
        break;
      }
      line++;
    }
    throw new ConfigError(`${file}:${line}: not valid UTF-8`);
  }
}
