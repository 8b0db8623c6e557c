// Start-up: log in (or reuse the session's credentials), show product and version, build the
// vhost selector, hide admin pages from non-administrators, then hand over to the router.

import { clearCredentials, get, hasCredentials, seg, whenUnauthorized } from './api.js';
import { h } from './dom.js';
import { Router } from './router.js';
import { renderLogin } from './pages/login.js';

const main = document.getElementById('main');
const header = document.querySelector('header.top');
const vhostSelect = document.getElementById('vhost-select');

const ctx = {
  me: null,
  isAdmin: false,
  product: 'warren',
  /** The selected vhost ('' = all). */
  vhost: () => vhostSelect.value,
  /** List URL for the selected vhost: /api/queues or /api/queues/%2F. */
  scoped: (kind) => (vhostSelect.value === '' ? `/api/${kind}` : `/api/${kind}/${seg(vhostSelect.value)}`),
  vhosts: [],
};

function logout() {
  clearCredentials();
  location.hash = '#/';
  location.reload();
}
document.getElementById('logout').addEventListener('click', logout);
// RabbitMQ answers 401 both for bad credentials and for a tag the user lacks: only the first ends
// the session (whoami still works for the second).
whenUnauthorized(async () => {
  try {
    await get('/api/whoami');
  } catch (err) {
    if (err.status === 401) { clearCredentials(); location.reload(); }
  }
});

async function start() {
  if (!hasCredentials()) {
    header.hidden = true;
    renderLogin(main, () => start());
    return;
  }
  let me;
  try {
    me = await get('/api/whoami');
  } catch {
    clearCredentials();
    renderLogin(main, () => start());
    return;
  }
  ctx.me = me;
  ctx.isAdmin = me.tags.includes('administrator');
  ctx.isMonitor = ctx.isAdmin || me.tags.includes('monitoring');
  // Not merely hidden: a non-administrator's page holds no admin links at all.
  for (const el of document.querySelectorAll('[data-admin]')) {
    if (ctx.isAdmin) el.hidden = false;
    else el.remove();
  }
  document.getElementById('whoami').textContent = `User: ${me.name}`;
  const [overview, vhosts] = await Promise.all([get('/api/overview'), get('/api/vhosts').catch(() => [])]);
  ctx.product = overview.product_name ?? 'warren';
  document.getElementById('product').textContent = ctx.product;
  document.getElementById('version').textContent = overview.product_version ?? '';
  document.getElementById('cluster').textContent = overview.cluster_name ? `· ${overview.cluster_name}` : '';
  ctx.vhosts = vhosts.map((v) => v.name);
  vhostSelect.replaceChildren(h('option', { value: '' }, 'All'), ...ctx.vhosts.map((v) => h('option', { value: v }, v)));
  vhostSelect.value = sessionStorage.getItem('warren.vhost') ?? '';
  header.hidden = false;
  const router = new Router(main, ctx);
  vhostSelect.addEventListener('change', () => { sessionStorage.setItem('warren.vhost', vhostSelect.value); router.show(); });
  await router.show();
}

start();
