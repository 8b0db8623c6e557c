// The list helper: RabbitMQ's paging wrapper and texts, name/regex filters, sort, columns; and
// that a page of 100k objects renders only the page when the sort key is readable raw.

import { describe, expect, it } from 'vitest';
import { ApiError } from '../../src/management/errors.js';
import { listReply, pickColumns, type Query } from '../../src/management/lists.js';
import { tableJson } from '../../src/broker/ops/message-json.js';
import type { FieldTable } from '../../src/protocol/field-table.js';

interface Q {
  name: string;
  vhost: string;
  messages: number;
}

const queues: Q[] = [
  { name: 'b', vhost: '/', messages: 3 },
  { name: 'a', vhost: 'v', messages: 1 },
  { name: 'A-two', vhost: '/', messages: 2 },
];
const spec = (items: Q[], counter?: { n: number }) => ({
  items,
  render: (q: Q) => {
    if (counter !== undefined) counter.n++;
    return { name: q.name, vhost: q.vhost, messages: q.messages, message_stats: { publish: q.messages, publish_details: { rate: 0 } } };
  },
  keys: { name: (q: Q) => q.name, vhost: (q: Q) => q.vhost },
  defaultSort: ['vhost', 'name'],
});

function error(fn: () => unknown): { status: number; body: unknown } {
  try {
    fn();
  } catch (err) {
    if (err instanceof ApiError) return { status: err.status, body: err.body() };
    throw err;
  }
  throw new Error('no error');
}

describe('listReply', () => {
  it('a bare array in the default sort (vhost, name) without page', () => {
    expect((listReply({}, spec(queues)) as { name: string }[]).map((q) => q.name)).toEqual(['A-two', 'b', 'a']);
  });

  it('the paging wrapper with all seven keys', () => {
    expect(listReply({ page: '2', page_size: '2', columns: 'name' }, spec(queues))).toEqual({
      filtered_count: 3,
      item_count: 1,
      items: [{ name: 'a' }],
      page: 2,
      page_count: 2,
      page_size: 2,
      total_count: 3,
    });
  });

  it('name filter: case-insensitive substring, or a regex with use_regex', () => {
    const names = (q: Query): string[] => ((listReply(q, spec(queues)) as { items: { name: string }[] }).items ?? []).map((i) => i.name);
    expect(names({ page: '1', name: 'a' })).toEqual(['A-two', 'a']);
    expect(names({ page: '1', name: '^a$', use_regex: 'true' })).toEqual(['a']);
    // Without page, no filter (as in RabbitMQ).
    expect((listReply({ name: 'zzz' }, spec(queues)) as unknown[]).length).toBe(3);
  });

  it("RabbitMQ 3.10.8's refusals", () => {
    expect(error(() => listReply({ page: '9' }, spec(queues)))).toEqual({ status: 400, body: { error: 'page_out_of_range', reason: 'Page out of range, page: 9 page size: 100, len: 3' } });
    expect(error(() => listReply({ page: '0' }, spec(queues)))).toEqual({
      status: 400,
      body: { error: 'invalid_pagination_parameters', reason: 'Invalid pagination parameters: page number 0, page size undefined' },
    });
    expect(error(() => listReply({ page: '1', page_size: '501' }, spec(queues))).body).toEqual({
      error: 'invalid_pagination_parameters',
      reason: 'Invalid pagination parameters: page number 1, page size 501',
    });
    expect(error(() => listReply({ page: '1', name: '(', use_regex: 'true' }, spec(queues))).body).toEqual({ error: 'bad_request', reason: 'Pagination parameters are invalid' });
  });

  it('sort on a rendered dotted key, reversed', () => {
    const r = listReply({ sort: 'message_stats.publish', sort_reverse: 'true', columns: 'name,message_stats.publish' }, spec(queues));
    expect(r).toEqual([
      { name: 'b', message_stats: { publish: 3 } },
      { name: 'A-two', message_stats: { publish: 2 } },
      { name: 'a', message_stats: { publish: 1 } },
    ]);
  });

  it('columns keeps dotted sub-keys and skips missing ones', () => {
    expect(pickColumns({ a: 1, b: { c: 2, d: 3 }, e: 4 }, [['a'], ['b', 'c'], ['x', 'y']])).toEqual({ a: 1, b: { c: 2 } });
    // A client-chosen table key `__proto__` (client properties, arguments) never reaches a prototype.
    const props = tableJson({ ['__proto__']: { polluted: 'yes' } as FieldTable, product: 'x' } as FieldTable);
    expect(Object.getPrototypeOf(props)).toBe(Object.prototype);
    const picked = pickColumns({ client_properties: props }, [['client_properties', '__proto__', 'polluted'], ['client_properties', 'product']]);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(picked).toEqual({ client_properties: { ['__proto__']: { polluted: 'yes' }, product: 'x' } });
    expect(pickColumns({ a: 1 }, [['__proto__', 'x'], ['constructor']])).toEqual({});
  });

  it('100k objects: a page sorted by name renders only the page', () => {
    const many: Q[] = [];
    for (let i = 0; i < 100_000; i++) many.push({ name: `q-${String(100_000 - i).padStart(6, '0')}`, vhost: '/', messages: i });
    const counter = { n: 0 };
    const r = listReply({ page: '3', page_size: '500', sort: 'name' }, spec(many, counter)) as { items: { name: string }[]; total_count: number; page_count: number };
    expect(counter.n).toBe(500);
    expect(r.total_count).toBe(100_000);
    expect(r.page_count).toBe(200);
    expect(r.items[0]?.name).toBe('q-001001');
    const filtered = listReply({ page: '1', page_size: '10', name: 'q-0999', sort: 'name' }, spec(many, counter)) as { filtered_count: number };
    expect(filtered.filtered_count).toBe(100);
  });
});
