// The web UI's static assets at `/`: the hand-written ES modules in src/management/ui (shipped in the
// package as they are, no build step) and uPlot's ESM build and CSS from node_modules. Assets need
// no credentials (the API calls carry them). Files are read once at start and kept in memory; the
// set is small and fixed, so there is no path from a URL to an arbitrary file.

import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HTTP, notFound } from './errors.js';

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

/** Own assets change with the package: always revalidated (cheap 304 by ETag). */
const OWN_CACHE = 'no-cache';
/** uPlot is pinned by the lockfile: a day without asking, then revalidate. */
const VENDOR_CACHE = 'public, max-age=86400';
const NOT_MODIFIED = 304;
/** The page loads only its own scripts and styles and talks only to its own origin; no framing. */
const CSP = "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

interface Asset {
  readonly body: Buffer;
  readonly type: string;
  readonly etag: string;
  readonly cache: string;
}

/** The UI folder: beside this module in src/, or ../../src/management/ui from dist/management/. */
export function uiRoot(here: string = dirname(fileURLToPath(import.meta.url))): string {
  const inSrc = join(here, 'ui');
  try {
    if (statSync(inSrc).isDirectory()) return inSrc;
  } catch {
    // running from dist/: fall through
  }
  return join(here, '..', '..', 'src', 'management', 'ui');
}

function asset(file: string, cache: string): Asset | null {
  const type = TYPES[extname(file)];
  if (type === undefined) return null;
  const body = readFileSync(file);
  const etag = `"${createHash('sha1').update(body).digest('base64url').slice(0, 20)}"`;
  return { body, type, etag, cache };
}

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else out.push(p);
  }
  return out;
}

/** URL path → asset, for every file of the UI and the two uPlot files. */
export function loadAssets(root: string = uiRoot()): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const file of walk(root)) {
    const a = asset(file, OWN_CACHE);
    if (a !== null) assets.set(`/${relative(root, file).split(sep).join('/')}`, a);
  }
  // Module resolution finds uPlot wherever npm put it (nested or hoisted).
  const require = createRequire(import.meta.url);
  const uplotDist = dirname(require.resolve('uplot'));
  for (const [url, file] of [
    ['/vendor/uplot.esm.js', 'uPlot.esm.js'],
    ['/vendor/uplot.min.css', 'uPlot.min.css'],
  ] as const) {
    const a = asset(join(uplotDist, file), VENDOR_CACHE);
    if (a !== null) assets.set(url, a);
  }
  const index = assets.get('/index.html');
  if (index !== undefined) assets.set('/', index);
  return assets;
}

/** The UI marks its API calls with this header (the name jQuery-era UIs use). */
export const UI_REQUEST_HEADER = 'x-requested-with';

export function registerStatic(app: FastifyInstance, assets: Map<string, Asset> = loadAssets()): void {
  // A 401 carrying the Basic challenge makes the browser open its own login dialog over a fetch()
  // (and hold the request until it is answered); the UI has its own login form, so its calls get
  // the same 401 and body without the challenge. Other clients are unaffected.
  app.addHook('onSend', async (req, reply, payload) => {
    if (reply.statusCode === HTTP.UNAUTHORIZED && req.headers[UI_REQUEST_HEADER] !== undefined) reply.removeHeader('www-authenticate');
    return payload;
  });
  const serve = async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const path = (req.raw.url ?? '/').split('?')[0] as string;
    const a = assets.get(path);
    if (a === undefined) {
      const e = notFound();
      return reply.code(e.status).type('application/json').send(JSON.stringify(e.body()));
    }
    reply.header('cache-control', a.cache).header('etag', a.etag).header('x-content-type-options', 'nosniff');
    if (a.type.startsWith('text/html')) reply.header('content-security-policy', CSP).header('referrer-policy', 'no-referrer');
    if (req.headers['if-none-match'] === a.etag) return reply.code(NOT_MODIFIED).send();
    return reply.code(HTTP.OK).type(a.type).send(a.body);
  };
  app.get('/', serve);
  app.get('/index.html', serve);
  for (const prefix of ['/js/*', '/css/*', '/img/*', '/vendor/*']) app.get(prefix, serve);
}
