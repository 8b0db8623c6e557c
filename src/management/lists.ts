// List replies as RabbitMQ's management API shapes them (rabbit_mgmt_util.erl: pagination_params,
// sort_list, filter_columns, range_response; 3.10.8 texts checked live): optional paging wrapper,
// `name` filter (substring, or a regex with use_regex=true), `sort`/`sort_reverse`, `columns`.
// Work stays proportional to the page where it can: a sort on a key the caller can read from the
// raw objects (name, vhost) sorts those, and only the page is rendered to JSON.

import { ApiError, badRequest, HTTP } from './errors.js';

export type Query = Readonly<Record<string, string | string[] | undefined>>;
export type Json = Record<string, unknown>;

/** The first value of a query parameter. */
export function queryParam(q: Query, name: string): string | undefined {
  const v = q[name];
  return Array.isArray(v) ? v[0] : v;
}

export function queryFlag(q: Query, name: string): boolean {
  return queryParam(q, name) === 'true';
}

export interface ListSpec<T> {
  readonly items: Iterable<T>;
  render(item: T): Json;
  /** Sort keys readable from the raw object, so sorting needs no rendering. */
  readonly keys?: Readonly<Record<string, (item: T) => string | number>>;
  /** RabbitMQ's default sort for this list (e.g. vhost, name). */
  readonly defaultSort?: readonly string[];
  /** Whether `page` turns on the paging wrapper (RabbitMQ pages only some lists). */
  readonly pageable?: boolean;
}

/** RabbitMQ's page_size default and ceiling. */
export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 500;
/** The longest name filter accepted (RabbitMQ caps its regex filter at 1024 characters). */
const MAX_FILTER_LENGTH = 1024;

interface Paging {
  page: number;
  pageSize: number;
  filter: ((name: string) => boolean) | null;
}

function pagingOf(q: Query): Paging | null {
  const pageText = queryParam(q, 'page');
  if (pageText === undefined) return null;
  const sizeText = queryParam(q, 'page_size');
  const page = Number(pageText);
  const pageSize = sizeText === undefined ? DEFAULT_PAGE_SIZE : Number(sizeText);
  if (!Number.isInteger(page) || page < 1 || !Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) {
    throw new ApiError(HTTP.BAD_REQUEST, 'invalid_pagination_parameters', `Invalid pagination parameters: page number ${pageText}, page size ${sizeText ?? 'undefined'}`);
  }
  const name = queryParam(q, 'name');
  let filter: Paging['filter'] = null;
  if (name !== undefined && name !== '') {
    if (name.length > MAX_FILTER_LENGTH) throw badRequest('Pagination parameters are invalid');
    if (queryFlag(q, 'use_regex')) {
      let re: RegExp;
      try {
        re = new RegExp(name, 'i');
      } catch {
        throw badRequest('Pagination parameters are invalid');
      }
      filter = (n) => re.test(n);
    } else {
      const needle = name.toLowerCase();
      filter = (n) => n.toLowerCase().includes(needle);
    }
  }
  return { page, pageSize, filter };
}

/** A dotted path's value in a rendered object (`message_stats.publish_details.rate`). */
export function pathValue(o: unknown, path: string): unknown {
  let cur = o;
  for (const part of path.split('.')) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Json)[part];
  }
  return cur;
}

/** Erlang term order as far as JSON goes: numbers before strings; missing counts as 0 (rabbit_mgmt_util). */
function compareValues(a: unknown, b: unknown): number {
  const x = a === undefined || a === null ? 0 : a;
  const y = b === undefined || b === null ? 0 : b;
  if (typeof x === 'number' && typeof y === 'number') return x - y;
  if (typeof x === 'number') return -1;
  if (typeof y === 'number') return 1;
  const s = typeof x === 'string' ? x : JSON.stringify(x);
  const t = typeof y === 'string' ? y : JSON.stringify(y);
  return s < t ? -1 : s > t ? 1 : 0;
}

/** `columns=a,b.c`: keep those top-level keys and dotted sub-keys. */
/** Sets an own property, whatever its name (a plain assignment to `__proto__` sets the prototype). */
function setOwn(o: Json, k: string, v: unknown): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

export function pickColumns(o: Json, columns: readonly string[][]): Json {
  const out: Json = {};
  for (const path of columns) {
    let src: unknown = o;
    let dst: Json = out;
    for (let i = 0; i < path.length; i++) {
      const k = path[i] as string;
      // Own keys only: `__proto__` in a column path must never reach a prototype (client
      // properties and arguments are client-chosen tables).
      if (typeof src !== 'object' || src === null || !Object.hasOwn(src, k)) break;
      const v = (src as Json)[k];
      if (i === path.length - 1) {
        setOwn(dst, k, v);
        break;
      }
      if (typeof v !== 'object' || v === null || Array.isArray(v)) {
        setOwn(dst, k, v);
        break;
      }
      const next = (Object.hasOwn(dst, k) ? (dst[k] as Json) : undefined) ?? {};
      setOwn(dst, k, next);
      dst = next;
      src = v;
    }
  }
  return out;
}

export function columnsOf(q: Query): string[][] | null {
  const c = queryParam(q, 'columns');
  if (c === undefined || c === '') return null;
  return c.split(',').filter((s) => s !== '').map((s) => s.split('.'));
}

/**
 * The reply for a list: a bare array, or with `page` (where the list is pageable) RabbitMQ's
 * wrapper `{filtered_count, item_count, items, page, page_count, page_size, total_count}`.
 */
export function listReply<T>(q: Query, spec: ListSpec<T>): unknown {
  const paging = spec.pageable === false ? null : pagingOf(q);
  const sortParam = queryParam(q, 'sort');
  const sortKeys = sortParam !== undefined && sortParam !== '' ? [sortParam] : (spec.defaultSort ?? []);
  const reverse = queryFlag(q, 'sort_reverse');
  const columns = columnsOf(q);
  const keys = spec.keys ?? {};
  const raw = [...spec.items];
  const total = raw.length;
  const rawSortable = sortKeys.every((k) => keys[k] !== undefined);
  const nameKey = keys['name'];

  // Cheap path: filter and sort the raw objects, render only what is returned.
  let rendered: Json[];
  let filteredCount: number;
  if (rawSortable && (paging?.filter == null || nameKey !== undefined)) {
    let list = raw;
    if (paging?.filter != null && nameKey !== undefined) {
      const f = paging.filter;
      list = list.filter((i) => f(String(nameKey(i))));
    }
    if (sortKeys.length > 0) {
      const getters = sortKeys.map((k) => keys[k] as (item: T) => string | number);
      list.sort((a, b) => {
        for (const g of getters) {
          const c = compareValues(g(a), g(b));
          if (c !== 0) return c;
        }
        return 0;
      });
    }
    if (reverse) list.reverse();
    filteredCount = list.length;
    const slice = paging === null ? list : sliceOf(list, paging, total);
    rendered = slice.map((i) => spec.render(i));
  } else {
    let list = raw.map((i) => spec.render(i));
    if (paging?.filter != null) {
      const f = paging.filter;
      list = list.filter((o) => f(String(o['name'] ?? '')));
    }
    list.sort((a, b) => {
      for (const k of sortKeys) {
        const c = compareValues(pathValue(a, k), pathValue(b, k));
        if (c !== 0) return c;
      }
      return 0;
    });
    if (reverse) list.reverse();
    filteredCount = list.length;
    rendered = paging === null ? list : sliceOf(list, paging, total);
  }
  const items = columns === null ? rendered : rendered.map((o) => pickColumns(o, columns));
  if (paging === null) return items;
  return {
    filtered_count: filteredCount,
    item_count: items.length,
    items,
    page: paging.page,
    page_count: Math.ceil(filteredCount / paging.pageSize),
    page_size: paging.pageSize,
    total_count: total,
  };
}

function sliceOf<T>(list: T[], p: Paging, total: number): T[] {
  const start = (p.page - 1) * p.pageSize;
  // RabbitMQ 3.10 checks the page against the list before the name filter (a filtered page past
  // the end is an empty page), and allows page 1 of an empty list.
  if (start > 0 && start >= total) {
    throw new ApiError(HTTP.BAD_REQUEST, 'page_out_of_range', `Page out of range, page: ${p.page} page size: ${p.pageSize}, len: ${total}`);
  }
  return list.slice(start, start + p.pageSize);
}

/** One object with `columns` applied (RabbitMQ honours it on single objects too). */
export function objectReply(q: Query, o: Json): Json {
  const columns = columnsOf(q);
  return columns === null ? o : pickColumns(o, columns);
}
