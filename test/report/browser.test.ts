// The report in a real browser (headless Chromium, browser.ts): the page loads with no console
// error and no network request, draws as many entries, exits and diff rows as its JSON holds,
// shows an exit's diff when it is chosen, highlights a walk's path, opens the churn report in
// under 2 s at under 5 MB, and looks like the committed screenshot of a small scenario.

import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReportData } from '../../src/report/data.js';
import { cli } from '../cli/helpers.js';
import { BROWSER_FOUND, BROWSER_REQUIRED, launch, open } from './browser.js';

const SCREENSHOT = new URL('../../docs/report.png', import.meta.url).pathname;
/**
 * In the page (its source, run there): the share of pixels of two images that differ by more
 * than 48 in a colour channel; where their sizes differ, the pixels outside the overlap count as
 * differing.
 */
const COMPARE = `async (x, y) => {
  const load = async (src) => {
    const img = new Image();
    img.src = src;
    await img.decode();
    const c = document.createElement('canvas');
    c.width = img.width;
    c.height = img.height;
    const g = c.getContext('2d');
    g.drawImage(img, 0, 0);
    return g.getImageData(0, 0, img.width, img.height);
  };
  const i = await load(x);
  const j = await load(y);
  let same = 0;
  for (let r = 0; r < Math.min(i.height, j.height); r++)
    for (let c = 0; c < Math.min(i.width, j.width); c++) {
      const k = (r * i.width + c) * 4;
      const l = (r * j.width + c) * 4;
      if ([0, 1, 2].every((ch) => Math.abs(i.data[k + ch] - j.data[l + ch]) <= 48)) same++;
    }
  return 1 - same / Math.max(i.width * i.height, j.width * j.height);
}`;

/** Share of pixels that may differ from the committed screenshot (antialiasing, font hinting). */
const PIXEL_TOLERANCE = 0.02;

describe.runIf(BROWSER_REQUIRED && !BROWSER_FOUND)('the browser tests (required: SHADOWLAB_REQUIRE_BROWSER=1)', () => {
  it('find Chromium', () => expect(BROWSER_FOUND, 'no Chromium: the browser tests did not run').toBe(true));
});

describe.skipIf(!BROWSER_FOUND)('the report in headless Chromium', () => {
  let dir = '';
  let browser: Browser;
  const reports: Record<string, { file: string; data: ReportData }> = {};

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'shadowlab-browser-'));
    browser = await launch();
    for (const name of ['shadow/churn', 'shadow/remap-invlpg', 'lde']) {
      const file = join(dir, `${name.replace('/', '-')}.html`);
      expect((await cli('report', name, '-o', file)).code).toBe(0);
      reports[name] = { file, data: JSON.parse((await cli('report', name, '--json')).stdout) as ReportData };
    }
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function page(name: string, errors: string[]): Promise<Page> {
    return open(browser, reports[name].file, errors);
  }

  it('opens the churn report in under 2 s, at under 5 MB, with no console error or network request', async () => {
    const errors: string[] = [];
    const bytes = statSync(reports['shadow/churn'].file).size;
    const p = await page('shadow/churn', errors);
    const ms = Number(await p.evaluate("Math.max(Number(document.body.dataset.ready), performance.getEntriesByType('navigation')[0].loadEventEnd)"));
    process.stdout.write(`report of shadow/churn: ${bytes} bytes, drawn in ${ms.toFixed(0)} ms after navigation\n`);
    expect(bytes).toBeLessThan(5 * 2 ** 20);
    expect(ms).toBeLessThan(2000);
    expect(errors).toEqual([]);
    await p.close();
  });

  it('draws as many entries, exits and timeline buckets as the JSON holds', async () => {
    const errors: string[] = [];
    const p = await page('shadow/churn', errors);
    const d = reports['shadow/churn'].data;
    const trees = d.tables!.flatMap((t) => t.trees);
    const drawn = await p.$$eval('figure[data-tree]', (figs) => figs.map((f) => [...f.querySelectorAll('[data-entry]')].reduce((n, e) => n + Number(e.getAttribute('data-count')), 0)));
    expect(drawn).toEqual(trees.map((t) => t.entries));
    expect(trees.map((t) => t.kind)).toContain('stage2');
    const exits = await p.$$eval('.bucket', (bs) => bs.reduce((n, b) => n + Number(b.getAttribute('data-exits')), 0));
    expect(exits).toBe(d.diff!.exits);
    expect(await p.$$eval('#runs tbody tr', (rs) => rs.length)).toBe(d.run!.runs.length);
    expect(errors).toEqual([]);
    await p.close();
  });

  it("shows a chosen exit's diff rows and marks the entries it changed in the shadow trees", async () => {
    const errors: string[] = [];
    const p = await page('shadow/churn', errors);
    const rows = reports['shadow/churn'].data.diff!.rows;
    const exits = [...new Set(rows.map((r) => r.event))];
    const busiest = exits.reduce((a, b) => (rows.filter((r) => r.event === b).length > rows.filter((r) => r.event === a).length ? b : a));
    for (const exit of [exits[0], busiest, exits[exits.length - 1]]) {
      await p.fill('#exit-picker', String(exit));
      await p.dispatchEvent('#exit-picker', 'change');
      const mine = rows.filter((r) => r.event === exit);
      expect(await p.$$eval('#exit-diff tr[data-row]', (rs) => rs.length)).toBe(mine.length);
      expect(await p.textContent('#exit-diff h3')).toBe(`exit ${exit} (${mine[0].cause}): ${mine.length} row${mine.length === 1 ? '' : 's'}`);
      const pages = (set: boolean) => mine.filter((r) => (r.after !== undefined) === set).reduce((n, r) => n + r.pages, 0);
      expect(await p.$$eval('.tree-shadow .node.changed', (n) => n.length)).toBe(pages(true));
      expect(await p.$$eval('.tree-shadow .node.dropped', (n) => n.length)).toBe(pages(false));
    }
    await p.click('.bucket >> nth=0');
    expect(await p.inputValue('#exit-picker')).toBe('1');
    expect(errors).toEqual([]);
    await p.close();
  });

  it("highlights a walk's path: the guest entries it read and its shadow leaf; an entry decodes on hover", async () => {
    const errors: string[] = [];
    const p = await page('shadow/churn', errors);
    const d = reports['shadow/churn'].data;
    const space = d.walks!.findIndex((w) => w.shadow!.view === 'user');
    const walk = d.walks![space].shadow!;
    const at = walk.walks.findIndex((x) => x.shadow !== undefined);
    const w = walk.walks[at];
    await p.selectOption('#walk-space', String(space));
    await p.selectOption('#walk-va', String(at));
    const guest = d.tables![0].trees.findIndex((t) => t.kind === 'guest' && t.root.base === walk.ptbr);
    const onPath = await p.$$eval(`figure[data-tree="shadow-eager:${guest}"] .node.on-path`, (ns) => ns.map((n) => Number(n.getAttribute('data-address'))));
    expect(onPath).toEqual(w.guest.steps.map((st) => st.entryAddress));
    const shadowTree = d.tables![0].trees.findIndex((t) => t.kind === 'shadow' && t.guestRoot === walk.ptbr && t.view === walk.view);
    expect(await p.$$eval(`figure[data-tree="shadow-eager:${shadowTree}"] .node.on-path`, (ns) => ns.map((n) => Number(n.getAttribute('data-va'))))).toEqual([w.va]);
    expect(await p.$$eval('.node.on-path', (ns) => ns.length)).toBe(w.guest.steps.length + 1);
    expect(await p.$$eval('#walk-steps .flag.deciding', (fs) => fs.map((f) => f.textContent))).toEqual(['present', 'present', 'user']);
    expect(await p.textContent('#walk-verdict')).toBe(`→ ${w.verdict}`);
    await p.hover(`figure[data-tree="shadow-eager:${guest}"] .node.on-path >> nth=1`);
    expect(await p.textContent('#tooltip')).toContain(`entry ${w.guest.steps[1].index} at 0x${w.guest.steps[1].entryAddress.toString(16)} = ${w.guest.steps[1].entryHex}`);
    expect(errors).toEqual([]);
    await p.close();
  });

  it('draws a segment guest (no tables) without errors', async () => {
    const errors: string[] = [];
    const p = await page('lde', errors);
    expect(await p.$$eval('#checks tbody tr', (rs) => rs.length)).toBe(1);
    expect(await p.$$eval('figure[data-tree]', (f) => f.length)).toBe(0);
    expect(errors).toEqual([]);
    await p.close();
  });

  it('looks like the committed screenshot of shadow/remap-invlpg (docs/report.png), loosely', async () => {
    const errors: string[] = [];
    const p = await page('shadow/remap-invlpg', errors);
    const d = reports['shadow/remap-invlpg'].data;
    expect(await p.$$eval('[data-entry]', (es) => es.reduce((n, e) => n + Number(e.getAttribute('data-count')), 0))).toBe(d.tables!.flatMap((t) => t.trees).reduce((n, t) => n + t.entries, 0));
    await p.fill('#exit-picker', '5');
    await p.dispatchEvent('#exit-picker', 'change');
    const shot = await p.screenshot({ fullPage: true });
    await p.close();
    if (!existsSync(SCREENSHOT) || process.env.UPDATE_SCREENSHOTS === '1') writeFileSync(SCREENSHOT, shot);
    const differing = await pixelsDiffering(readFileSync(SCREENSHOT), shot);
    expect(differing, `share of pixels unlike docs/report.png (UPDATE_SCREENSHOTS=1 writes it anew)`).toBeLessThan(PIXEL_TOLERANCE);
    expect(errors).toEqual([]);
  });

  /** The share of pixels of two PNGs that differ (COMPARE, run in a blank page). */
  async function pixelsDiffering(a: Buffer, b: Buffer): Promise<number> {
    const p = await browser.newPage();
    const share = Number(await p.evaluate(`(${COMPARE})(${JSON.stringify(`data:image/png;base64,${a.toString('base64')}`)}, ${JSON.stringify(`data:image/png;base64,${b.toString('base64')}`)})`));
    await p.close();
    return share;
  }
});
