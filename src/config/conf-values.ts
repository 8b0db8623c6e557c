// Value types of rabbitmq.conf settings (cuttlefish datatypes and RabbitMQ's information units),
// each parsed strictly: a value that is not exactly of the type throws ConfValueError.

import { isIP } from 'node:net';

/** A value that does not fit its key; the message says what was expected. */
export class ConfValueError extends Error {
  override readonly name = 'ConfValueError';
}

/** A decimal integer, optionally signed (cuttlefish accepts `+5` and `05`). */
export function integer(v: string, min: number, max: number): number {
  if (!/^[+-]?\d+$/.test(v)) throw new ConfValueError(`'${v}' is not an integer`);
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new ConfValueError(`${v} is out of range (${min} to ${max})`);
  return n;
}

/** A decimal fraction such as 0.4 (an integer is taken too). */
export function float(v: string, min: number, maxExclusive: number): number {
  if (!/^[+-]?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?$/.test(v)) throw new ConfValueError(`'${v}' is not a number`);
  const n = Number(v);
  if (n < min || n >= maxExclusive) throw new ConfValueError(`${v} is out of range (${min} up to, not including, ${maxExclusive})`);
  return n;
}

export function bool(v: string): boolean {
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new ConfValueError(`'${v}' is not true or false`);
}

export function oneOf<T extends string>(v: string, allowed: readonly T[]): T {
  const found = allowed.find((a) => a === v);
  if (found === undefined) throw new ConfValueError(`'${v}' is not one of ${allowed.join(', ')}`);
  return found;
}

const KIB = 1024;
/**
 * RabbitMQ's information units (vm_memory_high_watermark.absolute, disk_free_limit.absolute): `k`/`KiB`
 * and friends are powers of 1024, `kB`/`MB`/`GB`/`TB` powers of 1000. Case is not significant.
 */
const INFORMATION_UNITS: Record<string, number> = {
  k: KIB, kib: KIB, kb: 1e3,
  m: KIB ** 2, mib: KIB ** 2, mb: 1e6,
  g: KIB ** 3, gib: KIB ** 3, gb: 1e9,
  t: KIB ** 4, tib: KIB ** 4, tb: 1e12,
};

/** Bytes as an integer with an optional information unit: `1073741824`, `1GB`, `512MiB`. */
export function informationUnit(v: string): number {
  const m = /^(\d+)([A-Za-z]{1,3})?$/.exec(v);
  const mult = m === null ? undefined : m[2] === undefined ? 1 : INFORMATION_UNITS[m[2].toLowerCase()];
  if (m === null || mult === undefined) {
    throw new ConfValueError(`'${v}' is not a byte count (e.g. 50000000, 500MB, 500MiB, 2GB, 2GiB)`);
  }
  const n = Number(m[1]) * mult;
  if (!Number.isSafeInteger(n)) throw new ConfValueError(`${v} is too large`);
  return n;
}

/** cuttlefish's bytesize (frame_max): an integer with an optional KB, MB, GB or TB, all powers of 1024. */
export function bytesize(v: string, min: number, max: number): number {
  const m = /^(\d+)(KB|MB|GB|TB|kb|mb|gb|tb)?$/.exec(v);
  if (m === null) throw new ConfValueError(`'${v}' is not a size (an integer, or one with KB, MB or GB)`);
  const exp = m[2] === undefined ? 0 : ['kb', 'mb', 'gb', 'tb'].indexOf(m[2].toLowerCase()) + 1;
  const n = Number(m[1]) * KIB ** exp;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new ConfValueError(`${v} is out of range (${min} to ${max} bytes)`);
  return n;
}

/** Where a listener binds: a port alone means every interface, as in RabbitMQ. */
export interface ListenAddress {
  /** null: all interfaces. */
  readonly ip: string | null;
  readonly port: number;
}

/** A listener: `5672`, `127.0.0.1:5672`, `::1:5672` (split at the last colon) or `[::1]:5672`. */
export function listenAddress(v: string): ListenAddress {
  if (/^\d+$/.test(v)) return { ip: null, port: port(v, v) };
  const colon = v.lastIndexOf(':');
  if (colon > 0) {
    let ip = v.slice(0, colon);
    if (ip.startsWith('[') && ip.endsWith(']')) ip = ip.slice(1, -1);
    if (isIP(ip) !== 0) return { ip, port: port(v.slice(colon + 1), v) };
  }
  throw new ConfValueError(`'${v}' is not a port or an IP:port (host names are not accepted, as in RabbitMQ)`);
}

function port(p: string, whole: string): number {
  if (!/^\d+$/.test(p) || Number(p) > 65535) throw new ConfValueError(`'${whole}' has no valid port (0 to 65535)`);
  return Number(p);
}
