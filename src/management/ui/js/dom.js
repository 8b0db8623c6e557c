// Small DOM helpers: element builder, status messages, confirmation, and a region refresh that
// keeps keyboard focus on the same control when a table is redrawn every 5 s.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replace a region's content; focus comes back to the element with the same data-focus key. */
export function fill(region, ...children) {
  const active = document.activeElement;
  const key = active && region.contains(active) ? active.getAttribute('data-focus') : null;
  region.replaceChildren();
  append(region, children);
  if (key) region.querySelector(`[data-focus="${CSS.escape(key)}"]`)?.focus();
}

export function notify(message, kind = 'ok') {
  const box = document.getElementById('status');
  const m = h('div', { class: `msg ${kind === 'error' ? 'error' : ''}` }, message);
  box.append(m);
  // A burst of actions shows the latest few, not a column of stale ones.
  while (box.children.length > 3) box.firstElementChild.remove();
  setTimeout(() => m.remove(), kind === 'error' ? 8000 : 4000);
}

/** Destructive actions ask first (the native dialog is keyboard-usable everywhere). */
export function confirmAction(question) {
  return window.confirm(question);
}

/** Run an action from a button/form: errors are shown, never thrown into the void. */
export async function act(fn, done) {
  try {
    const r = await fn();
    if (done) notify(typeof done === 'function' ? done(r) : done);
    return r;
  } catch (err) {
    notify(err.message ?? String(err), 'error');
    return undefined;
  }
}

export function section(title, ...children) {
  return h('section', {}, title ? h('h2', {}, title) : null, ...children);
}

export function kv(pairs) {
  return h('dl', { class: 'kv' }, pairs.filter((p) => p !== null).flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v ?? '')]));
}

/** A labelled field; `name` is the form field name. */
export function field(label, input) {
  return h('label', { class: input.type === 'checkbox' ? 'check' : '' }, input.type === 'checkbox' ? [input, label] : [label, input]);
}

export function input(name, attrs = {}) { return h('input', { name, ...attrs }); }

export function select(name, options, value) {
  const s = h('select', { name });
  for (const o of options) {
    const [v, label] = Array.isArray(o) ? o : [o, o];
    const opt = h('option', { value: v }, label);
    if (v === value) opt.selected = true;
    s.append(opt);
  }
  return s;
}

export function button(label, onclick, attrs = {}) {
  return h('button', { type: 'button', onclick, ...attrs }, label);
}

/** A collapsible form (RabbitMQ's "Add a new queue" style); onsubmit gets the FormData. */
export function form(summary, fields, submitLabel, onsubmit, { open = false, id } = {}) {
  const f = h('form', { class: 'inline', id }, fields, h('button', { type: 'submit' }, submitLabel));
  f.addEventListener('submit', async (e) => {
    e.preventDefault();
    await onsubmit(new FormData(f), f);
  });
  return summary === null ? f : h('details', { open }, h('summary', {}, summary), f);
}

/** Parse a JSON object field; empty = {}. */
export function jsonField(text, what) {
  const t = (text ?? '').trim();
  if (t === '') return {};
  let v;
  try { v = JSON.parse(t); } catch { throw new Error(`${what} must be a JSON object`); }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${what} must be a JSON object`);
  return v;
}
