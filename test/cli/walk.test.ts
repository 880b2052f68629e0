// `shadowlab walk`: the step tables of the textbook exercise, JSON fields as documented.

import { describe, expect, it } from 'vitest';
import { cli } from './helpers.js';

async function walkJson(...args: string[]) {
  const r = await cli('walk', ...args, '--json');
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout);
}

describe('walk on the tiny exercise', () => {
  it('translates valid addresses through directory and table', async () => {
    const d = await walkJson('scenarios/paging/tiny-exercise.yaml', '0x0003', '0x0025', '3141');
    expect(d.schemaVersion).toBe(3);
    expect(d.geometry).toBe('tiny');
    expect(d.ptbr).toBe(0x220);
    const [a, b, c] = d.walks;
    expect(a).toMatchObject({ va: 3, access: 'read', mode: 'user' });
    expect(a.steps.map((s: { depth: number; index: number; entryAddress: number; entry: number }) => [s.depth, s.index, s.entryAddress, s.entry])).toEqual([
      [0, 0, 0x220, 0x94],
      [1, 0, 0x280, 0xa8],
    ]);
    expect(a.result).toEqual({ ok: true, pa: 0x503, value: 0x3f });
    expect(b.result).toEqual({ ok: true, pa: 0x525, value: 0x60 });
    expect(c.steps[0]).toMatchObject({ depth: 0, index: 3, entryAddress: 0x223, entry: 0x95 });
    expect(c.result).toEqual({ ok: true, pa: 0x645, value: 0x9f });
  });

  it('reports faults at the directory and at the table with their depth', async () => {
    const d = await walkJson('scenarios/paging/tiny-exercise.yaml', '0x04a0', '0x00a7');
    expect(d.walks[0].result).toEqual({ ok: false, fault: { kind: 'page', depth: 0 } });
    expect(d.walks[0].steps).toHaveLength(1);
    expect(d.walks[1].result).toEqual({ ok: false, fault: { kind: 'page', depth: 1 } });
    expect(d.walks[1].steps).toHaveLength(2);
  });
});

describe('walk on other machines', () => {
  it('four-level: 4 steps for a small page, 3 for a 128 KiB page, and an NX fetch fault', async () => {
    const d = await walkJson('scenarios/paging/four-level.yaml', '0x400000', '0x8000010', '--mode', 'user');
    expect(d.walks[0].steps).toHaveLength(4);
    expect(d.walks[0].result).toMatchObject({ ok: true, pa: 0x10000 });
    expect(d.walks[1].steps).toHaveLength(3);
    expect(d.walks[1].result).toMatchObject({ ok: true, pa: 0x20010 });
    expect(d.walks[1].steps[2].entryHex).toBe('0x8000000000020085');
    const f = await walkJson('scenarios/paging/four-level.yaml', '0x600000', '--access', 'fetch', '--mode', 'user');
    expect(f.walks[0].result).toEqual({ ok: false, fault: { kind: 'protection', depth: 3 } });
  });

  it('writes 64-bit entries as exact integer literals', async () => {
    const r = await cli('walk', 'scenarios/paging/four-level.yaml', '0x8000010', '--json');
    expect(r.stdout).toContain('"entry": 9223372036854907013');
  });

  it('x86-32: the two processes see the same virtual page in different frames', async () => {
    const a = await walkJson('scenarios/paging/x86-two-processes.yaml', '0x401000', '--ptbr', 'pta', '--mode', 'user', '--access', 'write');
    const b = await walkJson('scenarios/paging/x86-two-processes.yaml', '0x401000', '--ptbr', 'ptb', '--mode', 'user', '--access', 'write');
    expect(a.walks[0].result.pa).toBe(0x11000);
    expect(b.walks[0].result.pa).toBe(0x12000);
  });

  it('a segment machine shows the base-and-bounds check', async () => {
    const d = await walkJson('scenarios/x-plus-3.yaml', '128', '0x3c00', '0x4000');
    expect(d.walks[0].segment).toEqual({ base: 0x8000, limit: 0x4000, convention: 'size', linear: 0x8080 });
    expect(d.walks[1].result).toMatchObject({ ok: true, pa: 0xbc00 });
    expect(d.walks[2].result).toEqual({ ok: false, fault: { kind: 'bounds', depth: -1 } });
  });

  it('--after-run walks the final state (demand paging has mapped the heap)', async () => {
    const before = await walkJson('scenarios/paging/demand-paging.yaml', '0x10002000', '--ptbr', 'upt', '--mode', 'user');
    expect(before.walks[0].result.ok).toBe(false);
    const after = await walkJson('scenarios/paging/demand-paging.yaml', '0x10002000', '--ptbr', 'upt', '--mode', 'user', '--after-run');
    expect(after.walks[0].result).toMatchObject({ ok: true, pa: 0x23000 });
  });
});

describe('walk --view shadow', () => {
  it('after the run: the process has no shadow entry for the kernel page (a true fault), agrees on its own code, and the kernel view maps the secret', async () => {
    const user = await walkJson('shadow/user-reads-kernel', '0x402000', '0x400000', '--after-run', '--mode', 'user', '--view', 'shadow');
    expect(user.shadow).toMatchObject({ geometry: 'x86-32', ptbr: 0x30000, view: 'user' });
    const [secret, code] = user.shadow.walks;
    expect(secret).toMatchObject({ verdict: 'true fault', guest: { result: { ok: false, fault: { kind: 'protection', depth: 1 } } } });
    expect(secret.shadow).toBeUndefined();
    expect(code).toMatchObject({ verdict: 'agree', guest: { result: { ok: true, gpa: 0x10000 } } });
    expect(code.shadow.hpa).toBe(code.physmap.hpa);
    const kernel = await walkJson('shadow/user-reads-kernel', '0x402000', '--after-run', '--mode', 'supervisor', '--view', 'shadow');
    expect(kernel.shadow.view).toBe('kernel');
    expect(kernel.shadow.walks[0]).toMatchObject({ verdict: 'agree', physmap: { gpa: 0x12000 } });
    expect(kernel.shadow.spaceRoot).not.toBe(user.shadow.spaceRoot);
  });

  it('before the run nothing is filled; a segment scenario has no shadow (exit 2)', async () => {
    const before = await walkJson('shadow/user-reads-kernel', '0x400000', '--view', 'shadow');
    expect(before.shadow.spaceRoot).toBeUndefined();
    expect(before.shadow.walks[0].verdict).toBe('not filled');
    const r = await cli('walk', 'lde', '0x80', '--view', 'shadow');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--view shadow shows a paging guest under a VMM; lde does not page/);
  });
});
