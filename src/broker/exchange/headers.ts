// Headers exchange routing: a message goes to the bindings whose arguments match its headers (x-match).
//
// Semantics follow RabbitMQ 3.13+/4.x:
// - `x-match` is read only as a longstr: 'any', 'any-with-x', 'all-with-x'; anything
//   else (missing, 'all', or another type on a legacy binding) means 'all'.
// - `x-match` itself never takes part in matching; other binding keys starting
//   with 'x-' are skipped by all/any and compared by the -with-x modes.
// - A void binding value means "the header is present", whatever its value.
// - all: every considered binding key must match (none considered: matches);
//   any: at least one must (none considered: no match).
// - Values compare as RabbitMQ's exact term equality of the decoded header: all
//   integer types are one kind (int8 5 equals int64 5), floats another (1.0 is
//   not 1, float32 and float64 of the same value are equal), longstr and byte
//   array compare by bytes, arrays and tables compare element types too.
// - A timestamp header is seen in milliseconds while a timestamp binding value
//   stays in seconds (RabbitMQ converts only the message side), so the two
//   never match each other except at 0; an integer binding of seconds*1000 does.

import { Decimal, RawFieldValue, TypedValue, isPlainTable, type FieldTable, type FieldValue } from '../../protocol/field-table.js';
import { BindingSet } from './binding-set.js';
import type { BindingEntry, RoutingTable, DestinationSink } from './routing-table.js';

export type XMatch = 'all' | 'any' | 'all-with-x' | 'any-with-x';

const X_MATCH = 'x-match';

/** The match mode of a binding, read exactly as RabbitMQ's router reads it. */
export function xMatchOf(args: FieldTable): XMatch {
  const v = Object.hasOwn(args, X_MATCH) ? args[X_MATCH] : undefined;
  // Only a longstr counts; a byte array spelling 'any' is a legacy binding that means 'all'.
  if (v === 'any' || v === 'any-with-x' || v === 'all-with-x') return v;
  return 'all';
}

/**
 * Why RabbitMQ would refuse these binding arguments on a headers exchange, or
 * undefined if they are acceptable. The caller raises 406 PRECONDITION_FAILED
 * with this detail (RabbitMQ's binding_invalid); the value is printed the way
 * Erlang's ~tp prints it, approximately.
 */
export function headersBindingError(args: FieldTable): string | undefined {
  if (!Object.hasOwn(args, X_MATCH)) return undefined;
  const v = args[X_MATCH] as FieldValue;
  if (typeof v === 'string') {
    if (v === 'all' || v === 'any' || v === 'all-with-x' || v === 'any-with-x') return undefined;
    return `Invalid x-match field value ${erlangBinary(v)}; expected all, any, all-with-x, or any-with-x`;
  }
  return `Invalid x-match field type ${erlangTypeName(v)} (value ${erlangTerm(v)}); expected longstr`;
}

/** A binding compiled for matching: the keys it considers and the value each must have. */
interface HeadersMatcher<D> {
  readonly destination: D;
  readonly any: boolean;
  readonly keys: string[];
  /** Parallel to keys; null (void) means the header only has to be present. */
  readonly values: FieldValue[];
}

function compile<D>(destination: D, args: FieldTable): HeadersMatcher<D> {
  const mode = xMatchOf(args);
  const withX = mode === 'all-with-x' || mode === 'any-with-x';
  const keys: string[] = [];
  const values: FieldValue[] = [];
  for (const key of Object.keys(args)) {
    if (key === X_MATCH) continue;
    if (!withX && key.startsWith('x-')) continue;
    keys.push(key);
    values.push(args[key] as FieldValue);
  }
  return { destination, any: mode === 'any' || mode === 'any-with-x', keys, values };
}

function matches(m: HeadersMatcher<unknown>, headers: FieldTable): boolean {
  const keys = m.keys;
  const values = m.values;
  const n = keys.length;
  if (m.any) {
    for (let i = 0; i < n; i++) {
      const key = keys[i] as string;
      if (!Object.hasOwn(headers, key)) continue;
      const want = values[i] as FieldValue;
      if (want === null || routingValuesEqual(want, headers[key] as FieldValue)) return true;
    }
    return false;
  }
  for (let i = 0; i < n; i++) {
    const key = keys[i] as string;
    if (!Object.hasOwn(headers, key)) return false;
    const want = values[i] as FieldValue;
    if (want !== null && !routingValuesEqual(want, headers[key] as FieldValue)) return false;
  }
  return true;
}

/** Does a binding with these arguments match these message headers? (Compiles per call: not for hot paths.) */
export function headersMatch(args: FieldTable, headers: FieldTable | undefined): boolean {
  return matches(compile(undefined, args), headers ?? NO_HEADERS);
}

const NO_HEADERS: FieldTable = Object.freeze({});

export class HeadersRoutingTable<D> implements RoutingTable<D> {
  private readonly all: BindingSet<D>;
  private readonly matchers: Map<BindingEntry<D>, HeadersMatcher<D>>;

  constructor() {
    this.all = new BindingSet();
    this.matchers = new Map();
  }

  get size(): number {
    return this.all.size;
  }

  bind(destination: D, routingKey: string, args: FieldTable): boolean {
    const entry = this.all.add(destination, routingKey, args);
    if (entry === undefined) return false;
    this.matchers.set(entry, compile(destination, entry.args));
    return true;
  }

  unbind(destination: D, routingKey: string, args: FieldTable): boolean {
    const entry = this.all.remove(destination, routingKey, args);
    if (entry === undefined) return false;
    this.matchers.delete(entry);
    return true;
  }

  route(_routingKey: string, headers: FieldTable | undefined, into: DestinationSink<D>): void {
    const h = headers ?? NO_HEADERS;
    for (const m of this.matchers.values()) {
      // Already a target (another binding, or another exchange on the path): skip the comparison.
      if (into.has(m.destination)) continue;
      if (matches(m, h)) into.add(m.destination);
    }
  }

  removeDestination(destination: D): number {
    let n = 0;
    for (const entry of this.all.removeDestination(destination)) {
      this.matchers.delete(entry);
      n++;
    }
    return n;
  }

  bindings(): Iterable<BindingEntry<D>> {
    return this.all.entries();
  }
}

// ---------------------------------------------------------------- value equality

/** Integer view of a value (every int tag, timestamps in s or, for headers, ms); undefined if not an integer kind. */
function integerOf(v: FieldValue, isHeader: boolean): number | bigint | undefined {
  if (typeof v === 'number') return Number.isSafeInteger(v) ? v : undefined; // others encode as double
  if (typeof v === 'bigint') return v;
  if (v instanceof Date) {
    const s = Math.floor(v.getTime() / 1000);
    return isHeader ? s * 1000 : s;
  }
  if (v instanceof TypedValue) {
    switch (v.tag) {
      case 'b':
      case 'B':
      case 's':
      case 'u':
      case 'I':
      case 'i':
      case 'l':
        return v.value;
      case 'T':
        if (!isHeader) return v.value;
        return typeof v.value === 'bigint' ? v.value * 1000n : v.value * 1000;
      default:
        return undefined;
    }
  }
  return undefined;
}

/** Float view of a value (float32, float64, non-integral plain numbers); undefined otherwise. */
function floatOf(v: FieldValue): number | undefined {
  if (typeof v === 'number') return Number.isSafeInteger(v) ? undefined : v;
  if (v instanceof TypedValue && (v.tag === 'f' || v.tag === 'd')) return Number(v.value);
  return undefined;
}

function bytesEqualString(b: Buffer, s: string): boolean {
  return b.length === Buffer.byteLength(s) && b.toString('utf8') === s;
}

/**
 * RabbitMQ's comparison of a (non-void) binding value with a message header
 * value: exact equality of the decoded terms, where integer tags collapse into
 * one integer type and floats into one float type.
 */
export function routingValuesEqual(binding: FieldValue, header: FieldValue): boolean {
  const bi = integerOf(binding, false);
  if (bi !== undefined) {
    const hi = integerOf(header, true);
    // Loose equality compares number and bigint by mathematical value, which is what we want.
    return hi !== undefined && bi == hi;
  }
  const bf = floatOf(binding);
  if (bf !== undefined) return bf === floatOf(header);
  if (typeof binding === 'boolean') return binding === header;
  if (typeof binding === 'string') {
    if (typeof header === 'string') return binding === header;
    return Buffer.isBuffer(header) && bytesEqualString(header, binding);
  }
  if (Buffer.isBuffer(binding)) {
    if (Buffer.isBuffer(header)) return binding.equals(header);
    return typeof header === 'string' && bytesEqualString(binding, header);
  }
  if (binding === null) return header === null;
  if (binding instanceof Decimal) {
    return header instanceof Decimal && binding.scale === header.scale && binding.value === header.value;
  }
  // Containers nested too deep to decode compare by their bytes.
  if (binding instanceof RawFieldValue) return header instanceof RawFieldValue && binding.bytes.equals(header.bytes);
  // Arrays and tables keep their element types in RabbitMQ's decoded form.
  if (Array.isArray(binding)) return Array.isArray(header) && typedArraysEqual(binding, header);
  // Anything left that is not a table (a TypedValue with an unknown tag) equals nothing.
  return isPlainTable(binding) && isPlainTable(header) && typedTablesEqual(binding, header);
}


/** The wire tag a value is (or would be) encoded with; see field-table.ts. */
function tagOf(v: FieldValue): string {
  if (typeof v === 'boolean') return 't';
  if (typeof v === 'number') {
    if (Number.isInteger(v) && v >= -0x80000000 && v <= 0x7fffffff) return 'I';
    return Number.isSafeInteger(v) ? 'l' : 'd';
  }
  if (typeof v === 'bigint') return 'l';
  if (typeof v === 'string') return 'S';
  if (v === null) return 'V';
  if (Buffer.isBuffer(v)) return 'x';
  if (v instanceof Date) return 'T';
  if (v instanceof TypedValue) return v.tag;
  if (v instanceof Decimal) return 'D';
  if (v instanceof RawFieldValue) return String.fromCharCode(v.bytes[0] as number);
  if (Array.isArray(v)) return 'A';
  return 'F';
}

function timestampSeconds(v: FieldValue): number | bigint {
  if (v instanceof Date) return Math.floor(v.getTime() / 1000);
  return v instanceof TypedValue ? v.value : 0;
}

/** Equality of (type, value) pairs, as RabbitMQ compares elements nested in arrays and tables. */
function typedEqual(a: FieldValue, b: FieldValue): boolean {
  const tag = tagOf(a);
  if (tag !== tagOf(b)) return false;
  switch (tag) {
    case 'T':
      return timestampSeconds(a) == timestampSeconds(b);
    case 'x':
      return (a as Buffer).equals(b as Buffer);
    case 'D':
      return (a as Decimal).scale === (b as Decimal).scale && (a as Decimal).value === (b as Decimal).value;
    case 'V':
      return true;
    case 'A':
      return typedArraysEqual(a as FieldValue[], b as FieldValue[]);
    case 'F':
      return typedTablesEqual(a as FieldTable, b as FieldTable);
    case 't':
    case 'S':
      return a === b;
    default: {
      // Numeric tags: compare by value, whether held as number, bigint or TypedValue.
      const x = a instanceof TypedValue ? a.value : (a as number | bigint);
      const y = b instanceof TypedValue ? b.value : (b as number | bigint);
      return x == y;
    }
  }
}

function typedArraysEqual(a: FieldValue[], b: FieldValue[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!typedEqual(a[i] as FieldValue, b[i] as FieldValue)) return false;
  return true;
}

/** Nested tables are lists in RabbitMQ, compared in order. */
function typedTablesEqual(a: FieldTable, b: FieldTable): boolean {
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (let i = 0; i < ka.length; i++) {
    const k = ka[i] as string;
    if (k !== kb[i] || !typedEqual(a[k] as FieldValue, b[k] as FieldValue)) return false;
  }
  return true;
}

// ---------------------------------------------------------------- Erlang-style printing for error texts

const ERLANG_TYPE_NAMES: Record<string, string> = {
  t: 'bool',
  b: 'byte',
  B: 'unsignedbyte',
  s: 'short',
  u: 'unsignedshort',
  I: 'signedint',
  i: 'unsignedint',
  l: 'long',
  f: 'float',
  d: 'double',
  D: 'decimal',
  S: 'longstr',
  x: 'binary',
  A: 'array',
  T: 'timestamp',
  F: 'table',
  V: 'void',
};

function erlangTypeName(v: FieldValue): string {
  return ERLANG_TYPE_NAMES[tagOf(v)] ?? 'unknown';
}

function erlangBinary(s: string): string {
  const escaped = s.replace(/[\\"]/g, (c) => `\\${c}`);
  // ~tp marks binaries holding characters beyond latin1 as utf8.
  return /[^\x00-\xff]/.test(s) ? `<<"${escaped}"/utf8>>` : `<<"${escaped}">>`;
}

function erlangTerm(v: FieldValue): string {
  if (v === null) return 'undefined';
  if (typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (Buffer.isBuffer(v)) return erlangBinary(v.toString('utf8'));
  const f = floatOf(v);
  if (f !== undefined) return Number.isInteger(f) ? `${f}.0` : String(f);
  const i = integerOf(v, false);
  if (i !== undefined) return String(i);
  if (v instanceof Decimal) return `{${v.scale},${v.value}}`;
  return '...';
}
