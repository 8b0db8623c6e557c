// Definitions imported at every start (RabbitMQ's load_definitions / definitions.local.path): a
// file, or every .json file of a directory in name order. The files are read and their shape
// checked before the broker opens its data dir; any error stops the start naming the file.

import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../../config/config.js';
import type { Logger } from '../../log.js';
import type { Broker } from '../broker.js';
import { DefinitionsError, readDefinitions } from './document.js';
import { importDefinitions } from './import.js';

export interface BootDefinitions {
  readonly files: readonly { readonly file: string; readonly doc: unknown }[];
  /** SHA-256 of the contents, for definitions.skip_if_unchanged. */
  readonly hash: string;
}

export function readBootDefinitions(path: string): BootDefinitions {
  let files: string[];
  try {
    files = statSync(path).isDirectory()
      ? readdirSync(path).filter((n) => n.endsWith('.json')).sort().map((n) => join(path, n))
      : [path];
  } catch (err) {
    throw new ConfigError(`cannot read definitions '${path}': ${(err as Error).message}`);
  }
  const hash = createHash('sha256');
  const out: { file: string; doc: unknown }[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError(`cannot read definitions file '${file}': ${(err as Error).message}`);
    }
    hash.update(file).update('\0').update(text).update('\0');
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (err) {
      throw new ConfigError(`definitions file '${file}' is not valid JSON: ${(err as Error).message}`);
    }
    try {
      readDefinitions(doc);
    } catch (err) {
      throw new ConfigError(`definitions file '${file}': ${(err as Error).message}`);
    }
    out.push({ file, doc });
  }
  return { files: out, hash: hash.digest('hex') };
}

/** Imports each file (each all or nothing); throws ConfigError naming the file that failed. */
export async function importBootDefinitions(broker: Broker, boot: BootDefinitions, skipIfUnchanged: boolean, log: Logger): Promise<void> {
  if (skipIfUnchanged && broker.access.bootDefinitionsHash === boot.hash) {
    log.info({ files: boot.files.map((f) => f.file) }, 'boot definitions unchanged, not imported');
    return;
  }
  for (const { file, doc } of boot.files) {
    try {
      const report = await importDefinitions(broker, doc);
      log.info({ file, ...report, skipped: report.skipped.length, ignored: report.ignored }, 'definitions imported at boot');
    } catch (err) {
      if (err instanceof DefinitionsError) throw new ConfigError(`definitions file '${file}': ${err.message}`);
      throw err;
    }
  }
  await broker.access.batch((c) => c.setBootDefinitionsHash(boot.hash));
}
