// Promise wrappers of the fs calls the writer loop makes, and the directory fsync every store uses.

import * as fs from 'node:fs';

export function writevAll(fd: number, iov: Buffer[], position: number, bytes: number): Promise<void> {
  return new Promise((resolve, reject) => {
    fs.writev(fd, iov, position, (err, n) => {
      if (err) reject(err);
      else if (n !== bytes) reject(new Error(`short write: ${n} of ${bytes} bytes`));
      else resolve();
    });
  });
}

/** writevAll, synchronously (for writes small enough to go to the page cache at once). */
export function writevAllSync(fd: number, iov: Buffer[], position: number, bytes: number): void {
  const n = fs.writevSync(fd, iov, position);
  if (n !== bytes) throw new Error(`short write: ${n} of ${bytes} bytes`);
}

export function fsyncFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fs.fsync(fd, (err) => (err ? reject(err) : resolve())));
}

export function writeAt(fd: number, buf: Buffer, position: number): Promise<void> {
  return new Promise((resolve, reject) => {
    fs.write(fd, buf, 0, buf.length, position, (err, n) => {
      if (err) reject(err);
      else if (n !== buf.length) reject(new Error(`short write: ${n} of ${buf.length} bytes`));
      else resolve();
    });
  });
}

export function closeFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fs.close(fd, (err) => (err ? reject(err) : resolve())));
}

/** fsync on a directory makes creations, renames and unlinks in it durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const fd = await new Promise<number>((resolve, reject) =>
    fs.open(dir, 'r', (err, d) => (err ? reject(err) : resolve(d))),
  );
  try {
    await fsyncFd(fd);
  } finally {
    await closeFd(fd);
  }
}
