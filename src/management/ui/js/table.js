// Tables and server-side paging. A paged list never fetches everything: the API is asked for one
// page (page, page_size, name + use_regex, sort, sort_reverse, columns), as RabbitMQ's UI does, so
// 10k queues cost one page of JSON per refresh.

import { get, qs } from './api.js';
import { fill, h, input } from './dom.js';
import { num } from './format.js';

/**
 * columns: [{ title, value(row) → node|string, sort?: API sort key, num?: bool }]
 * opts: { sort, reverse, onSort(key), empty, rowAttrs(row) }
 */
export function table(columns, rows, opts = {}) {
  const head = h('tr', {}, columns.map((c) => {
    const sorted = c.sort && opts.sort === c.sort;
    const aria = sorted ? (opts.reverse ? 'descending' : 'ascending') : undefined;
    const label = c.sort && opts.onSort
      ? h('button', { type: 'button', class: 'sort', 'data-focus': `sort:${c.sort}`, onclick: () => opts.onSort(c.sort) }, c.title, sorted ? (opts.reverse ? ' ▼' : ' ▲') : '')
      : c.title;
    return h('th', { scope: 'col', class: c.num ? 'num' : '', 'aria-sort': aria }, label);
  }));
  const body = rows.length === 0
    ? [h('tr', {}, h('td', { colspan: columns.length, class: 'muted' }, opts.empty ?? 'Nothing here.'))]
    : rows.map((r) => h('tr', opts.rowAttrs ? opts.rowAttrs(r) : {}, columns.map((c) => h('td', { class: c.num ? 'num' : '' }, c.value(r)))));
  return h('table', {}, h('thead', {}, head), h('tbody', {}, body));
}

/**
 * A server-side paged list with filter and sort controls.
 * path(): the list URL without query; columns as for table(); apiColumns: the `columns` query.
 */
export function pagedList({ path, columns, apiColumns, sort = 'name', reverse = false, pageSize = 100, label = 'items', rowAttrs }) {
  const state = { page: 1, pageSize, name: '', regex: false, sort, reverse };
  const root = h('div', { class: 'paged' });
  const summary = h('span', { class: 'muted', 'aria-live': 'polite' });
  const region = h('div');
  const filter = input('filter', { type: 'search', placeholder: 'Filter by name', 'aria-label': `Filter ${label} by name`, value: '' });
  const regex = input('regex', { type: 'checkbox' });
  const size = h('select', { 'aria-label': 'Page size' }, [20, 50, 100, 500].map((n) => h('option', { value: n, selected: n === pageSize }, String(n))));
  const prev = h('button', { type: 'button', class: 'secondary' }, 'Previous page');
  const next = h('button', { type: 'button', class: 'secondary' }, 'Next page');
  let typing;
  filter.addEventListener('input', () => {
    clearTimeout(typing);
    typing = setTimeout(() => { state.name = filter.value; state.page = 1; refresh(); }, 300);
  });
  regex.addEventListener('change', () => { state.regex = regex.checked; state.page = 1; refresh(); });
  size.addEventListener('change', () => { state.pageSize = Number(size.value); state.page = 1; refresh(); });
  prev.addEventListener('click', () => { if (state.page > 1) { state.page--; refresh(); } });
  next.addEventListener('click', () => { state.page++; refresh(); });
  root.append(
    h('div', { class: 'pager' },
      h('label', {}, 'Filter', filter),
      h('label', { class: 'check' }, regex, 'Regex'),
      h('label', {}, 'Page size', size),
      prev, next, summary),
    region,
  );

  const onSort = (key) => {
    if (state.sort === key) state.reverse = !state.reverse;
    else { state.sort = key; state.reverse = false; }
    refresh();
  };

  async function refresh() {
    const q = {
      page: state.page,
      page_size: state.pageSize,
      name: state.name,
      use_regex: state.name !== '' && state.regex ? 'true' : '',
      sort: state.sort,
      sort_reverse: state.reverse ? 'true' : '',
      columns: apiColumns,
    };
    let r;
    try {
      r = await get(path() + qs(q));
    } catch (err) {
      // A page past the end after deletions: go back to the first one.
      if (err.error === 'page_out_of_range' && state.page > 1) { state.page = 1; return refresh(); }
      fill(region, h('p', { class: 'muted' }, err.message));
      return;
    }
    const items = Array.isArray(r) ? r : r.items ?? [];
    const pageCount = Array.isArray(r) ? 1 : r.page_count ?? 1;
    prev.disabled = state.page <= 1;
    next.disabled = state.page >= pageCount;
    summary.textContent = Array.isArray(r)
      ? `${num(items.length)} ${label}`
      : `Page ${num(r.page)} of ${num(Math.max(1, pageCount))}, ${num(r.filtered_count)} of ${num(r.total_count)} ${label}`;
    fill(region, table(columns, items, { sort: state.sort, reverse: state.reverse, onSort, empty: `No ${label}.`, rowAttrs }));
  }

  return { el: root, refresh, state };
}
