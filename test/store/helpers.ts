// Temp directories for store tests, removed afterwards.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `warren-${prefix}-`));
}

export function removeDir(dir: string): Promise<void> {
  return fs.promises.rm(dir, { recursive: true, force: true });
}
