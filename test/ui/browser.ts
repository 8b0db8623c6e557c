/// <reference lib="dom" />
// Test helper: one headless Chromium (Debian's, driven by puppeteer-core; nothing is downloaded)
// for a test file, a page per session, and small waits on what the UI shows.

import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

export const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
export const SCREENSHOTS = resolve(__dirname, 'screenshots');

export async function launch(): Promise<Browser> {
  return puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--disable-extensions'],
  });
}

/** A fresh incognito-like context, so sessionStorage (the credentials) starts empty. */
export async function newPage(browser: Browser): Promise<Page> {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  await page.setViewport({ width: 1280, height: 900 });
  // Destructive actions ask with confirm(); the tests answer yes.
  page.on('dialog', (d) => void d.accept());
  // The page's own errors show in the test output: the first clue when a wait times out.
  page.on('pageerror', (e) => console.error(`[browser] ${String(e)}`));
  page.on('console', (m) => {
    if (m.type() === 'error') console.error(`[browser console] ${m.text()}`);
  });
  return page;
}

export async function login(page: Page, base: string, user: string, pass: string): Promise<void> {
  await page.goto(`${base}/`);
  await page.waitForSelector('#login-form');
  await page.type('#login-username', user);
  await page.type('#login-password', pass);
  await page.keyboard.press('Enter');
  await page.waitForSelector('header.top:not([hidden])');
}

export async function go(page: Page, hash: string, heading: string): Promise<void> {
  await page.evaluate((h) => {
    location.hash = h;
  }, hash);
  await waitText(page, 'main h1', heading);
}

/** Wait until the element's text contains `text` (the UI refreshes every 5 s). */
export async function waitText(page: Page, selector: string, text: string, timeout = 15_000): Promise<void> {
  await page.waitForFunction(
    (sel, t) => Array.from(document.querySelectorAll(sel)).some((e) => (e.textContent ?? '').includes(t)),
    { timeout, polling: 100 },
    selector,
    text,
  );
}

export async function shot(page: Page, name: string, fullPage = true): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage });
  return path;
}

/** Fill a form field by name inside the form with this id, replacing what it held. */
export async function fillField(page: Page, formId: string, name: string, value: string): Promise<void> {
  const sel = `#${formId} [name="${name}"]`;
  await page.waitForSelector(sel, { visible: true });
  await page.$eval(sel, (el) => {
    (el as HTMLInputElement).value = '';
  });
  await page.type(sel, value);
}

/** Open a collapsed form (details/summary) with the keyboard, as a user would. */
export async function openForm(page: Page, formId: string): Promise<void> {
  const open = await page.$eval(`#${formId}`, (f) => (f.closest('details') as HTMLDetailsElement | null)?.open ?? true);
  if (!open) {
    await page.$eval(`#${formId}`, (f) => (f.closest('details')?.querySelector('summary') as HTMLElement).focus());
    await page.keyboard.press('Enter');
  }
}

export async function submit(page: Page, formId: string): Promise<void> {
  await page.click(`#${formId} button[type="submit"]`);
}
