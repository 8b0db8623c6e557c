// The web UI's asset table: found from src/ (tests, tsx) and from dist/ (the built package, which
// ships src/management/ui as it is), uPlot resolved from node_modules, nothing outside the set.

import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadAssets, uiRoot } from '../../src/management/static.js';

const REPO = resolve(__dirname, '../..');

describe('web UI assets', () => {
  it('are found beside the module in src/ and from dist/management/', () => {
    const ui = join(REPO, 'src', 'management', 'ui');
    expect(uiRoot(join(REPO, 'src', 'management'))).toBe(ui);
    expect(uiRoot(join(REPO, 'dist', 'management'))).toBe(ui);
    expect(existsSync(join(ui, 'index.html'))).toBe(true);
  });

  it('hold the page, every module, and uPlot, each with its type and an ETag', () => {
    const assets = loadAssets();
    for (const path of ['/', '/index.html', '/css/app.css', '/js/main.js', '/js/pages/queue.js', '/vendor/uplot.esm.js', '/vendor/uplot.min.css']) {
      expect(assets.has(path), path).toBe(true);
    }
    expect(assets.get('/js/main.js')?.type).toBe('text/javascript; charset=utf-8');
    expect(assets.get('/vendor/uplot.min.css')?.type).toBe('text/css; charset=utf-8');
    expect(assets.get('/')?.etag).toMatch(/^"[\w-]{20}"$/);
    // Only files under the UI folder and the two vendor files: no path leads elsewhere.
    for (const path of assets.keys()) expect(path).toMatch(/^\/(|index\.html|css\/.+|js\/.+|vendor\/uplot\.(esm\.js|min\.css))$/);
  });
});
