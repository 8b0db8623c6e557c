// The management API from the browser: Basic credentials kept in sessionStorage (gone when the tab
// closes, never in a URL or localStorage), JSON in and out, RabbitMQ's {error, reason} as ApiError.

const KEY = 'warren.credentials';
let onUnauthorized = () => {};

export class ApiError extends Error {
  constructor(status, error, reason) {
    super(reason || error || `HTTP ${status}`);
    this.status = status;
    this.error = error;
  }
}

/** Path segment: names may hold '/', so the default vhost is %2F. */
export const seg = (s) => encodeURIComponent(s);

function encode(user, pass) {
  const bytes = new TextEncoder().encode(`${user}:${pass}`);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

export function setCredentials(user, pass) { sessionStorage.setItem(KEY, encode(user, pass)); }
export function clearCredentials() { sessionStorage.removeItem(KEY); }
export function hasCredentials() { return sessionStorage.getItem(KEY) !== null; }
export function whenUnauthorized(fn) { onUnauthorized = fn; }

/** One request; `auth` overrides the stored credentials (the login form's try). */
export async function call(method, path, { body, headers = {}, auth, raw = false } = {}) {
  // Marks the call as the UI's: a failed login then gets no Basic challenge (no browser dialog).
  const h = { 'x-requested-with': 'XMLHttpRequest', ...headers };
  const token = auth ?? sessionStorage.getItem(KEY);
  if (token) h.authorization = `Basic ${token}`;
  let payload;
  if (body !== undefined) {
    payload = JSON.stringify(body);
    h['content-type'] = 'application/json';
  }
  const res = await fetch(path, { method, headers: h, body: payload, cache: 'no-store' });
  if (raw && res.ok) return res;
  const text = await res.text();
  let json = null;
  try { json = text === '' ? null : JSON.parse(text); } catch { json = null; }
  if (!res.ok) {
    if (res.status === 401 && auth === undefined && path !== '/api/whoami') onUnauthorized();
    throw new ApiError(res.status, json?.error ?? '', typeof json?.reason === 'string' ? json.reason : JSON.stringify(json?.reason ?? text));
  }
  return json;
}

export const get = (path) => call('GET', path);
export const put = (path, body = {}) => call('PUT', path, { body });
export const post = (path, body = {}) => call('POST', path, { body });
export const del = (path, headers = {}) => call('DELETE', path, { headers });

/** Try credentials without storing them; returns whoami or throws. */
export async function tryLogin(user, pass) {
  const token = encode(user, pass);
  const me = await call('GET', '/api/whoami', { auth: token });
  sessionStorage.setItem(KEY, token);
  return me;
}

/** Query string from an object, skipping empty values. */
export function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') u.set(k, String(v));
  const s = u.toString();
  return s === '' ? '' : `?${s}`;
}
