// Headless Chromium for the report's browser tests: the system's browser (Debian's chromium
// package; playwright's own browser download is never used), one launch per test file. Where
// there is none, the tests are skipped with one line saying so — unless SHADOWLAB_REQUIRE_BROWSER
// is set (CI), where that is a failure.

import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

/** Where the browser is: SHADOWLAB_CHROMIUM, or Debian's. */
export const CHROMIUM = process.env.SHADOWLAB_CHROMIUM ?? '/usr/bin/chromium';
export const BROWSER_FOUND = existsSync(CHROMIUM);
export const BROWSER_REQUIRED = process.env.SHADOWLAB_REQUIRE_BROWSER === '1';

/** The flags that run Chromium here: headless, no sandbox (root), nothing fetched behind our back. */
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

if (!BROWSER_FOUND) process.stdout.write(`browser tests did not run: no Chromium at ${CHROMIUM} (apt-get install chromium, or set SHADOWLAB_CHROMIUM)\n`);

/** A fresh browser (playwright gives it a fresh temporary profile). */
export function launch(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
}

/** Opens `file` in a new page; collects console errors and page errors into `errors`. */
export async function open(browser: Browser, file: string, errors: string[]): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') errors.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  page.on('request', (r) => {
    if (!r.url().startsWith('file:') && !r.url().startsWith('data:')) errors.push(`network request: ${r.url()}`);
  });
  await page.goto(`file://${file}`);
  await page.waitForSelector('body[data-ready]');
  return page;
}
