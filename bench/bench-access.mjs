// --user/--vhost: a user with full permissions on a vhost of its own, made through each target's
// management API (as guest) before the run and removed afterwards, and the AMQP URL the bench
// clients then connect with. Only what this run created is removed.

const REQUEST_TIMEOUT_MS = 15000;

/** One management API call as guest; returns the HTTP status (throws on a 4xx/5xx other than 404). */
async function api(base, method, path, body) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const text = await res.text();
  if (res.status >= 400 && res.status !== 404) throw new Error(`${method} ${base}${path}: ${res.status} ${text.slice(0, 200)}`);
  return res.status;
}

/** `url` with the credentials and vhost replaced. */
export function accessUrl(url, { user, password, vhost }) {
  const u = new URL(url);
  u.username = encodeURIComponent(user);
  u.password = encodeURIComponent(password);
  u.pathname = `/${encodeURIComponent(vhost)}`;
  return u.toString();
}

/**
 * Creates (if absent) the vhost and the user, grants configure/write/read `.*`, and points
 * `target.url` at them. Returns the undo: deletes the vhost and the user if this call made them.
 */
export async function setupAccess(target, access) {
  const base = target.managementUrl;
  if (!base) throw new Error(`${target.name}: no management API to create ${access.user} on`);
  const { user, password, vhost } = access;
  const v = encodeURIComponent(vhost);
  const u = encodeURIComponent(user);
  let madeVhost = false;
  let madeUser = false;
  try {
    if ((await api(base, 'GET', `/api/vhosts/${v}`)) === 404) {
      await api(base, 'PUT', `/api/vhosts/${v}`, {});
      madeVhost = true;
    }
    if ((await api(base, 'GET', `/api/users/${u}`)) === 404) {
      await api(base, 'PUT', `/api/users/${u}`, { password, tags: '' });
      madeUser = true;
    }
    await api(base, 'PUT', `/api/permissions/${v}/${u}`, { configure: '.*', write: '.*', read: '.*' });
  } catch (e) {
    throw new Error(`${target.name} (${base}): ${e.message}`);
  }
  target.url = accessUrl(target.adminUrl, access);
  return async () => {
    if (madeVhost) await api(base, 'DELETE', `/api/vhosts/${v}`);
    else if (!madeUser) await api(base, 'DELETE', `/api/permissions/${v}/${u}`);
    if (madeUser) await api(base, 'DELETE', `/api/users/${u}`);
    target.url = target.adminUrl;
  };
}
