/// <reference lib="dom" />
// The web UI in a real headless Chromium against a broker with its management API, with amqplib
// clients on the AMQP side: login, live queue depth and rate, publish from the UI, peek and move a
// DLQ back, a user and a policy created in the UI taking effect, admin pages hidden from a
// non-administrator. Screenshots of every page land in test/ui/screenshots/ (gitignored).

import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as amqplib from 'amqplib';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { channel } from '../helpers/amqp.js';
import { useApi } from '../management/api.js';
import { CHROMIUM, fillField, go, launch, login, newPage, openForm, shot, submit, waitText } from './browser.js';

const api = useApi();
let browser: Browser;
let page: Page;

beforeAll(async () => {
  expect(existsSync(CHROMIUM), `${CHROMIUM} (Debian's chromium) is needed`).toBe(true);
  browser = await launch();
  page = await newPage(browser);
}, 60_000);

afterAll(async () => {
  await browser?.close();
});

const cell = (queue: string, col: string): Promise<string> =>
  page.$eval(`tr[data-queue="${queue}"] [data-col="${col}"]`, (e) => e.textContent ?? '');

describe('web UI', { timeout: 60_000 }, () => {
  it('serves its assets with content types and caching headers, no credentials needed', async () => {
    const index = await fetch(`${api.base}/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(index.headers.get('cache-control')).toBe('no-cache');
    expect(index.headers.get('content-security-policy')).toContain("default-src 'self'");
    const etag = index.headers.get('etag') as string;
    expect((await fetch(`${api.base}/`, { headers: { 'if-none-match': etag } })).status).toBe(304);
    const js = await fetch(`${api.base}/js/main.js`);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    const uplot = await fetch(`${api.base}/vendor/uplot.esm.js`);
    expect(uplot.status).toBe(200);
    expect(uplot.headers.get('cache-control')).toContain('max-age=');
    expect(await uplot.text()).toContain('export');
    expect((await fetch(`${api.base}/js/../../static.ts`)).status).toBe(404);
  });

  it("answers the UI's failed logins without the Basic challenge (no browser dialog), others with it", async () => {
    const ui = await api.call('GET', '/api/whoami', { auth: ['guest', 'nope'], headers: { 'x-requested-with': 'XMLHttpRequest' } });
    expect(ui.status).toBe(401);
    expect(ui.headers.get('www-authenticate')).toBeNull();
    expect(ui.json).toEqual({ error: 'not_authorized', reason: 'Login failed' });
    const other = await api.get('/api/whoami', ['guest', 'nope']);
    expect(other.headers.get('www-authenticate')).toBe('Basic realm="RabbitMQ Management"');
  });

  it('logs in: a wrong password is refused, then the overview shows product, version and totals', async () => {
    await page.goto(`${api.base}/`);
    await page.waitForSelector('#login-form');
    await page.type('#login-username', 'guest');
    await page.type('#login-password', 'wrong');
    await page.keyboard.press('Enter');
    await waitText(page, '#login-form [role="alert"]', 'Login failed');
    await page.$eval('#login-password', (e) => {
      (e as HTMLInputElement).value = '';
    });
    await page.type('#login-password', 'guest');
    await page.keyboard.press('Enter');
    await waitText(page, 'main h1', 'Overview');
    const overview = (await api.get('/api/overview')).json as { product_name: string; product_version: string };
    expect(await page.$eval('#product', (e) => e.textContent)).toBe(overview.product_name);
    expect(await page.$eval('#version', (e) => e.textContent)).toBe(overview.product_version);
    // Credentials live in sessionStorage only.
    expect(await page.evaluate(() => [sessionStorage.length, localStorage.length])).toEqual([1, 0]);
    await waitText(page, 'main section', 'Listeners');
    await waitText(page, 'main', 'amqp');
    await shot(page, 'overview');
  });

  it('shows a queue a client declared, with its depth and incoming rate changing', async () => {
    const conn = await api.connect();
    const ch = await channel(conn);
    await ch.assertQueue('ui.orders', { durable: true });
    for (let i = 0; i < 3; i++) ch.sendToQueue('ui.orders', Buffer.from(`order ${i}`));
    await go(page, '#/queues', 'Queues');
    await waitText(page, 'tr[data-queue="ui.orders"] [data-col="total"]', '3');
    // Keep publishing until the UI (refreshing by itself every 5 s) shows the depth grow and a rate.
    let sent = 3;
    let publishing = true;
    const publisher = (async () => {
      while (publishing) {
        ch.sendToQueue('ui.orders', Buffer.from(`order ${sent++}`));
        await new Promise<void>((r) => setImmediate(r));
        if (sent % 50 === 0) await ch.checkQueue('ui.orders');
      }
    })();
    try {
      await page.waitForFunction(
        () => {
          const total = document.querySelector('tr[data-queue="ui.orders"] [data-col="total"]')?.textContent ?? '';
          const incoming = document.querySelector('tr[data-queue="ui.orders"] [data-col="incoming"]')?.textContent ?? '';
          return Number(total.replace(/,/g, '')) > 3 && /^[1-9][\d.]*\/s$|^0\.[1-9]/.test(incoming);
        },
        { timeout: 25_000, polling: 200 },
      );
    } finally {
      publishing = false;
      await publisher;
    }
    expect(Number((await cell('ui.orders', 'total')).replace(/,/g, ''))).toBeGreaterThan(3);
    expect(await cell('ui.orders', 'incoming')).toMatch(/\/s$/);
    await shot(page, 'queues');
    await ch.purgeQueue('ui.orders');
  }, 45_000);

  it('publishes a message from the queue page that an amqplib consumer receives', async () => {
    const conn = await api.connect();
    const ch = await channel(conn);
    await ch.assertQueue('ui.inbox', { durable: true });
    await go(page, '#/queues/%2F/ui.inbox', 'Queue ui.inbox');
    await openForm(page, 'publish');
    await fillField(page, 'publish', 'payload', 'hello from the browser');
    await fillField(page, 'publish', 'headers', '{"source": "ui"}');
    await submit(page, 'publish');
    await waitText(page, '#status', 'Message published.');
    const got = await new Promise<amqplib.ConsumeMessage>((resolve) => {
      void ch.consume('ui.inbox', (m) => {
        if (m !== null) resolve(m);
      });
    });
    expect(got.content.toString()).toBe('hello from the browser');
    expect(got.properties.headers?.['source']).toBe('ui');
    expect(got.properties.deliveryMode).toBe(2);
    ch.ack(got);
  });

  it('peeks at dead-lettered messages without taking them, then moves them back to their source', async () => {
    const conn = await api.connect();
    const ch = await channel(conn);
    await ch.assertQueue('ui.work.dlq', { durable: true });
    await ch.assertQueue('ui.work', { durable: true, arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'ui.work.dlq' } });
    for (let i = 0; i < 3; i++) ch.sendToQueue('ui.work', Buffer.from(`job ${i}`));
    // A consumer that rejects every job: they die into the DLQ.
    let rejected = 0;
    const { consumerTag } = await ch.consume('ui.work', (m) => {
      if (m === null) return;
      ch.nack(m, false, false);
      rejected++;
    });
    await expect.poll(async () => (await ch.checkQueue('ui.work.dlq')).messageCount, { timeout: 10_000 }).toBe(3);
    await ch.cancel(consumerTag);
    expect(rejected).toBe(3);

    await go(page, '#/queues/%2F/ui.work.dlq', 'Queue ui.work.dlq');
    await openForm(page, 'peek-messages');
    await submit(page, 'peek-messages');
    await waitText(page, '#message-results', 'Peeked 3');
    const peeked = await page.$$eval('#message-results pre.payload', (els) => els.map((e) => e.textContent));
    expect(peeked).toEqual(['job 0', 'job 1', 'job 2']);
    expect(await page.$eval('#message-results', (e) => e.textContent)).toContain('x-death');
    // Peek took nothing.
    expect((await ch.checkQueue('ui.work.dlq')).messageCount).toBe(3);
    await shot(page, 'queue-dlq');
    await page.$eval('#message-results', (e) => e.closest('section')?.scrollIntoView());
    await shot(page, 'readme-queue-peek', false);

    // The overview's banner names the DLQ that holds messages.
    await go(page, '#/', 'Overview');
    await waitText(page, '#conditions', 'Dead-letter queue ui.work.dlq holds 3 messages.');
    await go(page, '#/queues/%2F/ui.work.dlq', 'Queue ui.work.dlq');
    await openForm(page, 'move-messages');
    await submit(page, 'move-messages');
    await waitText(page, '#status', 'Moved 3 messages');
    expect((await ch.checkQueue('ui.work.dlq')).messageCount).toBe(0);
    expect((await ch.checkQueue('ui.work')).messageCount).toBe(3);
    const back = await ch.get('ui.work', { noAck: true });
    expect(back !== false && back.content.toString()).toBe('job 0');
    await waitText(page, '#queue-total', '0');
  });

  it('adds a queue, binds it from an exchange, publishes through the exchange and gets the message back', async () => {
    await go(page, '#/queues', 'Queues');
    await openForm(page, 'add-queue');
    await fillField(page, 'add-queue', 'name', 'ui.bound');
    await fillField(page, 'add-queue', 'arguments', '{"x-max-length": 100}');
    await submit(page, 'add-queue');
    await waitText(page, '#status', 'Queue added');
    const conn = await api.connect();
    const ch = await channel(conn);
    expect((await ch.checkQueue('ui.bound')).messageCount).toBe(0);

    await go(page, '#/exchanges/%2F/amq.direct', 'Exchange amq.direct');
    await openForm(page, 'add-binding');
    await fillField(page, 'add-binding', 'destination', 'ui.bound');
    await fillField(page, 'add-binding', 'routing_key', 'ui-key');
    await submit(page, 'add-binding');
    await waitText(page, 'main section', 'ui-key');
    await openForm(page, 'publish');
    await fillField(page, 'publish', 'routing_key', 'ui-key');
    await fillField(page, 'publish', 'payload', 'via amq.direct');
    await submit(page, 'publish');
    await waitText(page, '#status', 'Message published.');
    await expect.poll(async () => (await ch.checkQueue('ui.bound')).messageCount, { timeout: 10_000 }).toBe(1);

    // Get with requeue: the message is shown, stays in the queue, and comes back redelivered.
    await go(page, '#/queues/%2F/ui.bound', 'Queue ui.bound');
    await waitText(page, 'main section', 'ui-key');
    await openForm(page, 'get-messages');
    await submit(page, 'get-messages');
    await waitText(page, '#message-results', 'Got 1');
    expect(await page.$eval('#message-results pre.payload', (e) => e.textContent)).toBe('via amq.direct');
    const again = await ch.get('ui.bound', { noAck: true });
    expect(again !== false && again.fields.redelivered).toBe(true);
  });

  it('pauses and resumes delivery of a queue', async () => {
    await go(page, '#/queues/%2F/ui.work', 'Queue ui.work');
    await waitText(page, '#pause', 'Pause delivery');
    await page.click('#pause');
    await waitText(page, '#queue-state', 'paused');
    expect(((await api.get('/api/queues/%2F/ui.work')).json as { state: string }).state).toBe('paused');
    await page.click('#pause');
    await waitText(page, '#queue-state', 'running');
  });

  it('creates a user and a policy in the UI, and both take effect', async () => {
    await go(page, '#/admin/users', 'Users');
    await fillField(page, 'add-user', 'name', 'ui-alice');
    await fillField(page, 'add-user', 'password', 'alice-pw');
    await fillField(page, 'add-user', 'tags', 'management');
    await submit(page, 'add-user');
    await waitText(page, 'tr[data-user="ui-alice"]', 'management');
    await shot(page, 'admin-users');
    // Permissions on the default vhost, from the user's page.
    await page.click('tr[data-user="ui-alice"] a');
    await waitText(page, 'main h1', 'User ui-alice');
    await submit(page, 'set-permission');
    await waitText(page, 'main section', '.*');
    const alice = await amqplib.connect(`amqp://ui-alice:alice-pw@127.0.0.1:${String(api.port)}`);
    try {
      const ch = await alice.createChannel();
      expect((await ch.checkQueue('ui.orders')).queue).toBe('ui.orders');
    } finally {
      await alice.close();
    }

    await go(page, '#/admin/policies', 'Policies');
    await openForm(page, 'add-policy');
    await fillField(page, 'add-policy', 'name', 'ui-cap');
    await fillField(page, 'add-policy', 'pattern', '^ui\\.capped$');
    await page.select('#add-policy [name="apply-to"]', 'queues');
    await fillField(page, 'add-policy', 'definition', '{"max-length": 2}');
    await submit(page, 'add-policy');
    await waitText(page, 'tr[data-policy="ui-cap"]', 'max-length');
    await shot(page, 'admin-policies');
    const conn = await api.connect();
    const ch = await channel(conn);
    await ch.assertQueue('ui.capped');
    for (let i = 0; i < 5; i++) ch.sendToQueue('ui.capped', Buffer.from(String(i)));
    await expect.poll(async () => (await ch.checkQueue('ui.capped')).messageCount, { timeout: 10_000 }).toBe(2);
    await go(page, '#/queues/%2F/ui.capped', 'Queue ui.capped');
    await waitText(page, '#queue-policy', 'ui-cap');
    await waitText(page, '#queue-effective-policy', 'max-length');
  });

  it('renders the other pages (screenshots of each)', async () => {
    const conn = await api.connect();
    await conn.createConfirmChannel();
    await go(page, '#/connections', 'Connections');
    await waitText(page, 'main table', '127.0.0.1');
    await shot(page, 'connections');
    const connName = await page.$eval('main table tbody a', (a) => a.textContent ?? '');
    await page.click('main table tbody a');
    await waitText(page, 'main h1', `Connection ${connName}`);
    await waitText(page, 'main', 'Client properties');
    await shot(page, 'connection');
    await go(page, '#/channels', 'Channels');
    await waitText(page, 'main table', '(1)');
    await shot(page, 'channels');
    await go(page, '#/exchanges', 'Exchanges');
    await waitText(page, 'main table', 'amq.topic');
    await shot(page, 'exchanges');
    await go(page, '#/exchanges/%2F/amq.direct', 'Exchange amq.direct');
    await shot(page, 'exchange');
    await go(page, '#/admin/vhosts', 'Virtual hosts');
    await shot(page, 'admin-vhosts');
    // The overview again, now with some history in its charts (for the README).
    await go(page, '#/', 'Overview');
    await waitText(page, 'main', 'Needs attention');
    await shot(page, 'readme-overview', false);
  });

  it('closes a connection with a reason the client sees', async () => {
    const conn = await amqplib.connect(api.url, { clientProperties: { connection_name: 'ui-victim' } });
    conn.on('error', () => undefined);
    // amqplib reports a server-initiated close (320 CONNECTION_FORCED) on 'close', with the reason.
    const closed = new Promise<Error>((resolve) => conn.on('close', (err: Error) => resolve(err)));
    try {
      type Conn = { name: string; user_provided_name?: string };
      const find = async (): Promise<string | undefined> => ((await api.get('/api/connections')).json as Conn[]).find((c) => c.user_provided_name === 'ui-victim')?.name;
      await expect.poll(find, { timeout: 10_000 }).toBeDefined();
      const name = (await find()) as string;
      await go(page, `#/connections/${encodeURIComponent(name)}`, `Connection ${name}`);
      await openForm(page, 'close-connection');
      await fillField(page, 'close-connection', 'reason', 'maintenance from the UI');
      await submit(page, 'close-connection');
      expect((await closed).message).toBe('Connection closed: 320 (CONNECTION-FORCED) with message "CONNECTION_FORCED - maintenance from the UI"');
      await waitText(page, 'main h1', 'Connections');
    } finally {
      await conn.close().catch(() => undefined);
    }
  });

  it('stays usable with 10k queues: one page per request, regex filter and sort on the server', async () => {
    const conn = await api.connect();
    const ch = await channel(conn);
    const declares: Promise<unknown>[] = [];
    for (let i = 0; i < 10_000; i++) declares.push(ch.assertQueue(`bulk-${String(i).padStart(5, '0')}`, { durable: false }));
    await Promise.all(declares);
    const lists: string[] = [];
    const sizes: number[] = [];
    const onResponse = (r: import('puppeteer-core').HTTPResponse): void => {
      if (new URL(r.url()).pathname === '/api/queues' && r.request().method() === 'GET') {
        lists.push(r.url());
        void r.text().then((t) => sizes.push(t.length)).catch(() => undefined);
      }
    };
    page.on('response', onResponse);
    try {
      await go(page, '#/queues', 'Queues');
      await waitText(page, '.pager', 'of 10,0');
      expect(await page.$$eval('main tbody tr', (rows) => rows.length)).toBe(100);
      // Filter by regex: the server answers the ten matching names.
      await page.click('.pager input[name="regex"]');
      await page.type('.pager input[name="filter"]', '^bulk-0999\\d$');
      await waitText(page, '.pager', '10 of 10,0');
      expect(await page.$$eval('main tbody tr', (rows) => rows.length)).toBe(10);
      // Sort by name, descending: a click on the header, the server sorts.
      await page.click('th button[data-focus="sort:name"]');
      await page.waitForFunction(() => document.querySelector('main tbody tr a')?.textContent === 'bulk-09999', { timeout: 15_000 });
      expect(lists.length).toBeGreaterThan(0);
      for (const url of lists) expect(new URL(url).searchParams.get('page_size')).toMatch(/^(20|100)$/);
      expect(lists.some((u) => new URL(u).searchParams.get('sort_reverse') === 'true')).toBe(true);
      // No reply carried the whole list (10k queues are ~ megabytes of JSON).
      expect(Math.max(...sizes)).toBeLessThan(200_000);
    } finally {
      page.off('response', onResponse);
    }
  }, 60_000);

  it('exports definitions as a download and imports an uploaded file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warren-ui-defs-'));
    try {
      const cdp = await page.createCDPSession();
      // The page lives in its own browser context: downloads are allowed for this page.
      await cdp.send('Page.setDownloadBehavior', { behavior: 'allow', downloadPath: dir });
      await go(page, '#/', 'Overview');
      await page.click('#definitions-export');
      await waitText(page, '#status', 'Definitions downloaded');
      await expect.poll(() => readdirSync(dir).filter((f) => f.endsWith('.json')), { timeout: 15_000 }).toHaveLength(1);
      const file = readdirSync(dir).find((f) => f.endsWith('.json')) as string;
      const exported = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { users: { name: string }[]; policies: { name: string }[] };
      expect(exported.users.map((u) => u.name)).toContain('ui-alice');
      expect(exported.policies.map((p) => p.name)).toContain('ui-cap');

      const upload = join(dir, 'import.json');
      writeFileSync(upload, JSON.stringify({ queues: [{ name: 'ui.imported', vhost: '/', durable: true, auto_delete: false, arguments: {} }] }));
      const input = await page.$('#definitions-file');
      await (input as import('puppeteer-core').ElementHandle<HTMLInputElement>).uploadFile(upload);
      await submit(page, 'definitions-import');
      await waitText(page, '#status', 'Definitions imported');
      expect((await api.get('/api/queues/%2F/ui.imported')).status).toBe(200);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('works from the keyboard: tab to a sort header and press Enter', async () => {
    await go(page, '#/exchanges', 'Exchanges');
    await waitText(page, 'main table', 'amq.topic');
    await page.focus('.pager input[name="filter"]');
    // Filter, regex, page size, previous, next, then the first sortable header.
    let focused = '';
    for (let i = 0; i < 12 && focused !== 'sort:vhost'; i++) {
      await page.keyboard.press('Tab');
      focused = await page.evaluate(() => document.activeElement?.getAttribute('data-focus') ?? '');
    }
    expect(focused).toBe('sort:vhost');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-focus'))).toBe('sort:name');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.querySelector('th[aria-sort="descending"]') !== null, { timeout: 10_000 });
    // The redraw kept the focus on the same header button.
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-focus'))).toBe('sort:name');
    const names = await page.$$eval('main tbody tr td:nth-child(2)', (tds) => tds.map((t) => t.textContent ?? ''));
    expect(names).toEqual([...names].sort().reverse());
  });

  it('hides admin pages from a user who is not an administrator', async () => {
    const other = await newPage(browser);
    try {
      await login(other, api.base, 'ui-alice', 'alice-pw');
      await waitText(other, 'main h1', 'Overview');
      expect(await other.$('#nav [data-admin]')).toBeNull();
      expect(await other.$$eval('#nav a', (as) => as.map((a) => a.textContent))).not.toContain('Admin');
      await other.evaluate(() => {
        location.hash = '#/admin/users';
      });
      await waitText(other, '#not-authorised', 'administrators only');
      expect(await other.$('tr[data-user]')).toBeNull();
      // And the API behind it refuses too.
      expect((await api.get('/api/users', ['ui-alice', 'alice-pw'])).status).toBe(401);
      await shot(other, 'non-admin');
    } finally {
      await other.browserContext().close();
    }
  });
});
