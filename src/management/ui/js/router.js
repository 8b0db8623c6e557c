// Hash routes (#/queues/%2F/orders) → page modules, loaded on demand. The current page's refresh()
// runs every 5 s while the tab is visible, never two at once.

const ROUTES = [
  [/^\/?$/, 'overview'],
  [/^\/connections$/, 'connections'],
  [/^\/connections\/([^/]+)$/, 'connection'],
  [/^\/channels$/, 'channels'],
  [/^\/channels\/([^/]+)$/, 'channel'],
  [/^\/exchanges$/, 'exchanges'],
  [/^\/exchanges\/([^/]+)\/([^/]*)$/, 'exchange'],
  [/^\/queues$/, 'queues'],
  [/^\/queues\/([^/]+)\/([^/]+)$/, 'queue'],
  [/^\/admin\/users$/, 'users', true],
  [/^\/admin\/users\/([^/]+)$/, 'user', true],
  [/^\/admin\/vhosts$/, 'vhosts', true],
  [/^\/admin\/policies$/, 'policies', true],
];

export const REFRESH_MS = 5000;

/** Link to a page; each part is a name, encoded once. */
export function href(...parts) {
  return `#/${parts.map((p, i) => (i === 0 ? p : encodeURIComponent(p))).join('/')}`;
}

export class Router {
  constructor(main, ctx) {
    this.main = main;
    this.ctx = ctx;
    this.page = null;
    this.busy = false;
    this.seq = 0;
    window.addEventListener('hashchange', () => this.show());
    this.timer = setInterval(() => this.tick(), REFRESH_MS);
  }

  async tick() {
    if (document.hidden || this.busy || !this.page?.refresh) return;
    this.busy = true;
    try { await this.page.refresh(); } catch { /* shown by the page */ } finally { this.busy = false; }
  }

  async show() {
    const path = location.hash.replace(/^#/, '').split('?')[0];
    const seq = ++this.seq;
    this.page?.dispose?.();
    this.page = null;
    let match = null;
    for (const [re, name, admin] of ROUTES) {
      const m = re.exec(path);
      if (m) { match = { name, admin, params: m.slice(1).map(decodeURIComponent) }; break; }
    }
    for (const a of document.querySelectorAll('#nav a')) {
      const section = a.getAttribute('href').replace(/^#/, '');
      const current = section === '/' ? path === '' || path === '/' : path.startsWith(section.replace(/\/users$/, ''));
      if (current) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
    }
    this.main.replaceChildren();
    if (match === null) {
      this.main.append(Object.assign(document.createElement('p'), { textContent: 'No such page.' }));
      return;
    }
    if (match.admin && !this.ctx.isAdmin) {
      const p = document.createElement('p');
      p.id = 'not-authorised';
      p.textContent = 'Not authorised: administrators only.';
      this.main.append(p);
      return;
    }
    const mod = await import(`./pages/${match.name}.js`);
    if (seq !== this.seq) return;
    const page = (await mod.render(this.main, match.params, this.ctx)) ?? {};
    if (seq !== this.seq) { page.dispose?.(); return; }
    this.page = page;
    document.title = `${this.main.querySelector('h1')?.textContent ?? 'warren'} · ${this.ctx.product}`;
  }
}
