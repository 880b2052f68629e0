// `shadowlab diff`: the shadow-table changes of a paging guest, exit by exit, from what the
// shadow-paging VMM really did; coalescing of alike pages; the range options; bad input.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GEOMETRIES, encodeEntry } from '../../src/paging/index.js';
import { diffRows, type ShadowChange } from '../../src/shadow/index.js';
import { cli } from './helpers.js';

interface Row {
  event: number;
  reason: string;
  view: string;
  gva: number;
  pages: number;
  before?: { hpa: number; flags: string };
  after?: { hpa: number; flags: string };
}

async function diffJson(...args: string[]) {
  const r = await cli('diff', ...args, '--json');
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as { exits: number; changes: number; from: number; to: number; rows: Row[]; under: string; geometry: string; schemaVersion: number };
}

describe('diff on shadow/remap-invlpg', () => {
  it('shows the fill of the old frame, the trace write that drops it, and the refill with the new frame one page on', async () => {
    const d = await diffJson('shadow/remap-invlpg');
    expect(d).toMatchObject({ schemaVersion: 3, under: 'shadow-eager', geometry: 'x86-32', from: 0, to: d.exits });
    const at = (gva: number) => d.rows.filter((r) => r.gva === gva);
    const [filled, dropped, refilled] = at(0x500000);
    expect(filled).toMatchObject({ reason: 'hidden fault', view: 'kernel', pages: 1 });
    expect(filled.before).toBeUndefined();
    expect(dropped).toMatchObject({ reason: 'trace write', before: filled.after });
    expect(dropped.after).toBeUndefined();
    expect(refilled.reason).toBe('hidden fault');
    expect(refilled.after!.hpa).toBe(filled.after!.hpa + 0x1000); // frame B is frame A + 4 KiB, in guest and host alike (contiguous physmap)
    expect(filled.event).toBeLessThan(dropped.event);
    expect(dropped.event).toBeLessThan(refilled.event);
    expect(d.changes).toBe(d.rows.reduce((n, r) => n + r.pages, 0));
  });

  it('--from and --to keep the rows of those exits only', async () => {
    const all = await diffJson('shadow/remap-invlpg');
    const trace = all.rows.find((r) => r.reason === 'trace write')!.event;
    const one = await diffJson('shadow/remap-invlpg', '--from', String(trace), '--to', String(trace));
    expect(one.rows.length).toBeGreaterThan(0);
    expect(one.rows.every((r) => r.event === trace && r.reason === 'trace write')).toBe(true);
    expect(one.rows).toEqual(all.rows.filter((r) => r.event === trace));
  });

  it('prints a table of the rows', async () => {
    const r = await cli('diff', 'shadow/remap-invlpg');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^scenario remap-invlpg, VM 0 \(remap-invlpg\) under shadow-eager: x86-32 shadow tables, \d+ exits, \d+ entry changes\n/);
    expect(r.stdout).toMatch(/│ exit \(cause\) +│ reason +│ space \(root, view\) │ gVA +│ before \(hPA, rwxuad\) │ after +│/);
    expect(r.stdout).toMatch(/│ 5 page-fault +│ trace write +│/); // the store to the traced table: a fault on its read-only shadow entry
    expect(r.stdout).toMatch(/│ trace write +│ 0x30000 kernel +│ 0x500000 │/);
  });
});

describe('diff: the same run as run --under shadow-eager', () => {
  it('honours the scenario\'s quantum, and numbers every exit — the VMM\'s own timer included — as run counts them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shadowlab-diff-'));
    const file = join(dir, 'quantum.yaml');
    writeFileSync(
      file,
      `machine:\n  memory: 256 KiB\n  translation: paging\n  paging: { geometry: x86-32 }\npageTables:\n  - name: kpt\n    map:\n      - { va: 0, pa: 0, size: 64 KiB, perms: rwx }\nprograms:\n  - { at: 0, source: ".org 0x80\\nloop: addi r1, r1, 1\\njmp loop" }\npsw: { pc: 0x80, mode: s, pg: true, ptbr: kpt }\nvmm: { quantum: 1000 }\nsteps: 5000\nexpect: { end: budget }\n`,
    );
    const run = JSON.parse((await cli('run', file, '--under', 'shadow-eager', '--json')).stdout);
    const diff = JSON.parse((await cli('diff', file, '--json')).stdout);
    expect(run.runs[0].checks.efficiency.exits).toMatchObject({ timer: 5, total: 6 });
    expect(diff.exits).toBe(6);
  });
});

describe('diff: bad input', () => {
  it('a segment guest has no shadow tables (exit 2, saying why)', async () => {
    const r = await cli('diff', 'lde');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no shadow tables to show: shadow-eager cannot run 'lde': translation 'segment'/);
  });

  it('a range that ends before it starts, a VM that is not there, a count that is not one (exit 2)', async () => {
    for (const args of [['--from', '4', '--to', '3'], ['--vm', '1'], ['--from', '-1'], ['--to', '1e3']]) {
      const r = await cli('diff', 'shadow/remap-invlpg', ...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).not.toMatch(/at .*\.js/); // a message, never a stack trace
    }
  });
});

describe('diffRows: consecutive pages changed alike are one row', () => {
  const g = GEOMETRIES['x86-32'];
  const e = (frame: number, writable: boolean) => encodeEntry(g.entry, frame, { present: true, writable, user: true, accessed: true, dirty: true });
  const none = { lo: 0, hi: 0 };
  let seq = 0;
  const change = (event: number, gva: number, before: { lo: number; hi: number }, after: { lo: number; hi: number }, reason: ShadowChange['reason'] = 'hidden fault'): ShadowChange => ({ seq: seq++, event, cause: 'page-fault', reason, guestRoot: 0x1000, view: 'user', gva, hostAddress: 0, before, after });

  it('coalesces runs of consecutive guest pages on consecutive host frames with the same flags, and splits at any difference', () => {
    const rows = diffRows(g, [
      change(1, 0x400000, none, e(0x80, true)),
      change(1, 0x401000, none, e(0x81, true)),
      change(1, 0x402000, none, e(0x82, true)),
      change(1, 0x403000, none, e(0x90, true)), // another frame run
      change(1, 0x404000, none, e(0x91, false)), // other flags
      change(2, 0x405000, none, e(0x92, false)), // another exit
      change(2, 0x406000, e(0x93, false), none, 'trace write'), // another reason
      change(2, 0x407000, e(0x94, false), none, 'trace write'),
    ]);
    expect(rows.map((r) => [r.event, r.reason, r.gva, r.pages, r.before?.hpa, r.after?.hpa, r.after?.flags ?? r.before?.flags])).toEqual([
      [1, 'hidden fault', 0x400000, 3, undefined, 0x80000, 'rwxuad'],
      [1, 'hidden fault', 0x403000, 1, undefined, 0x90000, 'rwxuad'],
      [1, 'hidden fault', 0x404000, 1, undefined, 0x91000, 'r-xuad'],
      [2, 'hidden fault', 0x405000, 1, undefined, 0x92000, 'r-xuad'],
      [2, 'trace write', 0x406000, 2, 0x93000, undefined, 'r-xuad'],
    ]);
  });
});

describe('the tiny exercise under shadow paging', () => {
  it('nested/tiny-two-stage: the shadow entries composed from the tiny tables and the explicit physmap, and walk --view shadow agreeing with them', async () => {
    const d = await diffJson('nested/tiny-two-stage');
    expect(d.geometry).toBe('tiny');
    const row = d.rows.find((r) => r.gva === 0xc40)!;
    expect(row).toMatchObject({ reason: 'hidden fault', view: 'user', pages: 1, after: { hpa: 0x640, flags: 'rwxu--' } }); // tiny's present entries allow everything; it has no A/D bits
    const w = await cli('walk', 'nested/tiny-two-stage', '0x0c45', '--view', 'shadow', '--after-run', '--mode', 'user', '--ptbr', '0x220', '--json');
    expect(w.code).toBe(0);
    expect(JSON.parse(w.stdout).shadow.walks[0]).toMatchObject({ verdict: 'agree', physmap: { gpa: 0x640, hpa: 0x640 }, shadow: { hpa: 0x640 } });
  });
});
