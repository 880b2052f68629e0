// `shadowlab report`: the page is built from the same JSON the other commands print, is the
// same byte for byte for the same input, can be made again from saved JSON, and bad input is
// exit 2 with a located message and no file left behind. (What the page draws: browser.test.ts.)

import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReportData } from '../../src/report/data.js';
import type { TableJson } from '../../src/report/tables.js';
import { leavesTable, shadowAt, spaceKey } from '../../src/report/view/replay.js';
import { cli } from '../cli/helpers.js';

let dir = '';
let churn: ReportData;
const out = (name: string) => join(dir, name);
const embedded = (html: string) => JSON.parse(/<script id="report-data" type="application\/json">([\s\S]*?)<\/script>/.exec(html)![1]) as ReportData;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'shadowlab-report-'));
  const r = await cli('report', 'shadow/churn', '--json');
  expect(r.code).toBe(0);
  churn = JSON.parse(r.stdout) as ReportData;
}, 60_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Leaves of a table tree as "gva hpa flags" lines, in address order. */
function leaves(t: TableJson): string[] {
  return t.entries.flatMap((e) => (e.table ? leaves(e.table) : e.role === 'leaf' ? [`${e.va} ${e.next} ${e.decoded ?? ''}`] : []));
}

describe('shadowlab report', () => {
  it('holds the run, diff and walk records the other commands print', async () => {
    const run = JSON.parse((await cli('run', 'shadow/churn', '--under', 'bare,nested,shadow-eager', '--json')).stdout);
    const diff = JSON.parse((await cli('diff', 'shadow/churn', '--json')).stdout);
    expect(churn.run).toEqual(run);
    expect(churn.diff).toEqual(diff);
    const w = churn.walks![0].shadow!;
    const walk = JSON.parse((await cli('walk', 'shadow/churn', ...w.walks.map((x) => String(x.va)), '--view', 'shadow', '--after-run', '--ptbr', String(w.ptbr), '--mode', w.view === 'user' ? 'user' : 'supervisor', '--json')).stdout);
    expect(churn.walks![0]).toEqual(walk);
  });

  it('draws shadow tables the diff rows rebuild: replaying every row gives the tables read from host memory', () => {
    const shadows = churn.tables![0].trees.filter((t) => t.kind === 'shadow');
    expect(shadows.length).toBe(4);
    const spaces = shadowAt(churn.diff!.rows, churn.diff!.exits, 4096);
    for (const t of shadows) {
      const replayed = leavesTable(spaces.get(spaceKey(t.guestRoot!, t.view!))!.values(), t.levels);
      expect(leaves(replayed)).toEqual(leaves(t.root));
    }
  });

  it('writes a page that embeds its JSON and the view, needs no network, and is the same byte for byte', async () => {
    const a = await cli('report', 'shadow/churn', '-o', out('a.html'));
    await cli('report', 'shadow/churn', '-o', out('b.html'));
    expect(a.code).toBe(0);
    expect(a.stdout).toMatch(/^wrote .*a\.html: 3 runs, 9 page-table trees, 4 address spaces to walk, 216 exits on the timeline\n$/);
    const html = readFileSync(out('a.html'), 'utf8');
    expect(readFileSync(out('b.html'), 'utf8')).toBe(html);
    expect(embedded(html)).toEqual(churn);
    expect(html).not.toMatch(/<script[^>]*\ssrc=|<link[^>]*\shref=|<img|fetch\(|XMLHttpRequest|import\(/);
    expect(html.replace(/http:\/\/www\.w3\.org\/[\w/]+/g, '')).not.toMatch(/https?:\/\//);
    expect(html).toContain('d3-hierarchy');
  });

  it('makes the same page again from its saved JSON, and a page from saved run, diff and walk JSON', async () => {
    writeFileSync(out('churn.json'), (await cli('report', 'shadow/churn', '--json')).stdout);
    expect((await cli('report', '--from', out('churn.json'), '-o', out('from.html'))).code).toBe(0);
    expect(readFileSync(out('from.html'), 'utf8')).toBe(readFileSync(out('a.html'), 'utf8'));
    writeFileSync(out('run.json'), (await cli('run', 'shadow/remap-invlpg', '--under', 'shadow-eager', '--json')).stdout);
    writeFileSync(out('diff.json'), (await cli('diff', 'shadow/remap-invlpg', '--json')).stdout);
    const r = await cli('report', '--from', out('run.json'), out('diff.json'), '-o', out('parts.html'));
    expect(r.stdout).toMatch(/1 run, 9 exits on the timeline/);
    const d = embedded(readFileSync(out('parts.html'), 'utf8'));
    expect(d.diff!.exits).toBe(9);
    expect(d.run!.runs[0].under).toBe('shadow-eager');
  });

  it('reports a segment guest too: its runs and checks, no tables', async () => {
    const d = JSON.parse((await cli('report', 'x-plus-3', '--json')).stdout) as ReportData;
    expect(d.run!.runs.map((r) => r.label)).toEqual(['bare', 'vmm']);
    expect(d.tables).toBeUndefined();
    expect(d.notes).toEqual(['x-plus-3 does not page: no page tables to draw']);
  });
});

describe('shadowlab report: bad input is exit 2, located, and leaves nothing behind', () => {
  const bad = async (...args: string[]) => {
    const before = readdirSync(dir).sort();
    const r = await cli(...args);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(readdirSync(dir).sort()).toEqual(before);
    return r.stderr;
  };

  it('refuses an unknown scenario, a bad --under, and a scenario with --from', async () => {
    expect(await bad('report', 'no/such-scenario', '-o', out('x.html'))).toMatch(/no-such|such-scenario/);
    expect(await bad('report', 'shadow/churn', '--under', 'bare,warp', '-o', out('x.html'))).toContain("--under: expected bare, vmm, hvm, vmm2, nested, shadow-eager, shadow-lazy or all, got 'warp'");
    expect(await bad('report', 'x-plus-3', '--from', out('churn.json'))).toContain('not both');
    expect(await bad('report')).toContain('report needs a scenario');
  });

  it('refuses --from files that are not a run JSON of this schemaVersion', async () => {
    writeFileSync(out('bad.json'), '{\n  "schemaVersion": 3,\n  "runs": [1,\n');
    expect(await bad('report', '--from', out('bad.json'), '-o', out('x.html'))).toMatch(/bad\.json:\d+:\d+: not JSON/);
    writeFileSync(out('old.json'), JSON.stringify({ schemaVersion: 2, runs: [] }));
    expect(await bad('report', '--from', out('old.json'), '-o', out('x.html'))).toContain('old.json: schemaVersion: JSON of schemaVersion 2; this shadowlab reads schemaVersion 3');
    writeFileSync(out('shape.json'), JSON.stringify({ schemaVersion: 3, scenario: { file: 'f', name: 'n' }, runs: [{ label: 7 }], ok: true }));
    expect(await bad('report', '--from', out('shape.json'), '-o', out('x.html'))).toMatch(/shape\.json: runs\.0\.label: .*in a run JSON/);
    writeFileSync(out('other.json'), JSON.stringify({ schemaVersion: 3, hello: 1 }));
    expect(await bad('report', '--from', out('other.json'))).toContain('not a shadowlab run, diff, walk or report JSON');
    writeFileSync(out('deep.json'), `${'['.repeat(100_000)}${']'.repeat(100_000)}`);
    expect(await bad('report', '--from', out('deep.json'))).toContain('nested 100000 levels deep');
    expect(await bad('report', '--from', dir)).toContain('expected a regular file');
    for (const f of ['bad.json', 'old.json', 'shape.json', 'other.json', 'deep.json']) rmSync(out(f));
  });

  it('refuses an output path that cannot be written, writing nothing there', async () => {
    expect(await bad('report', 'paging/tiny-exercise', '-o', join(dir, 'missing', 'x.html'))).toMatch(/missing\/x\.html: cannot write the report here \(ENOENT\)/);
    expect(await bad('report', 'paging/tiny-exercise', '-o', dir)).toContain('it is a directory');
    expect(existsSync(join(dir, 'missing'))).toBe(false);
  });
});
