// `shadowlab bench`: every figure is produced (measured, not asserted: only its shape and the
// deterministic counts are checked here).

import { describe, expect, it } from 'vitest';
import { cli } from './helpers.js';

describe('shadowlab bench', () => {
  it('--json reports every figure and the counted reference table', async () => {
    const r = await cli('bench', '--runs', '1', '--instructions', '1000000', '--json');
    expect(r.code).toBe(0);
    const d = JSON.parse(r.stdout);
    expect(d.schemaVersion).toBe(3);
    for (const rate of [d.reference, d.segment, d.mips.mips, d.mips.classic, d.paging.rate, d.pagingStride.rate, d.vmm.vmmIps, d.vmm.bareIps]) expect(rate).toBeGreaterThan(0);
    expect(d.paging.refsPerMiss).toBe(4);
    expect(d.pagingStride.hitRate).toBeLessThan(0.95);
    expect(d.vmm.directShare).toBeGreaterThan(0.99);
    expect(d.vmm.syscall.exitsPer1000).toBeGreaterThan(200);
    expect(Object.keys(d.safety)).toEqual(['loop', 'syscall']);
    expect(d.shadow.misses).toBe(3); // the loop's code page, its data page, the kernel's page: then it runs directly
    for (const rate of [d.shadow.bare, d.shadow.shadow]) expect(rate).toBeGreaterThan(0);
    // shadow/churn: the counted exits (deterministic); lazy lets each batch of entry writes go out of sync instead of trapping
    expect([d.churn.eager.exitsPer1000.toFixed(1), d.churn.lazy.exitsPer1000.toFixed(1)]).toEqual(['27.8', '26.2']);
    for (const rate of [d.churn.eager.ratio, d.churn.lazy.ratio]) expect(rate).toBeGreaterThan(0);
    expect(Object.keys(d.diffMs)).toEqual(['coalesced', 'scattered']);
    for (const c of [d.safety.loop, d.safety.syscall]) expect(Object.keys(c)).toEqual(['off', 'bus', 'cost']);
    for (const rate of [d.nested.nested, d.nested.bare, d.nestedStride.nested, d.nestedStride.bare, d.translate.nestedWalkNs]) expect(rate).toBeGreaterThan(0);
    expect([d.nested.refsPerMiss, d.nestedStride.refsPerMiss, d.translate.refsPerNestedWalk]).toEqual([24, 24, 24]);
    // the counted reference table: (n+1)(m+1)-1 for n guest and m host levels, as published for 2D walks
    const rows: { guestLevels: number; native: number; nested: { hostLevels: number; refs: number }[] }[] = d.refs;
    expect(rows.map((row) => [row.guestLevels, row.native, ...row.nested.map((c) => [c.hostLevels, c.refs])])).toEqual([
      [2, 2, [2, 8], [3, 11], [4, 14]],
      [3, 3, [2, 11], [3, 15], [4, 19]],
      [4, 4, [2, 14], [3, 19], [4, 24]],
    ]);
    for (const row of rows) for (const c of row.nested) expect(c.refs).toBe((row.guestLevels + 1) * (c.hostLevels + 1) - 1);
  });

  it('refuses runs too short to measure anything, and non-decimal counts', async () => {
    for (const n of ['10', '1e6', '0x100000', '99999999999']) {
      const r = await cli('bench', '--instructions', n);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/--instructions: expected a whole number from 1000000 to 1000000000 in decimal digits/);
    }
  });

  it('prints one line per figure, the reference table under its heading', async () => {
    const r = await cli('bench', '--runs', '1', '--instructions', '1000000');
    expect(r.stdout.split('\n').filter((l) => l.startsWith('bench ')).map((l) => l.split(':')[0])).toEqual([
      'bench reference',
      'bench segment',
      'bench mips',
      'bench paging',
      'bench translate',
      'bench paging-stride',
      'bench nested',
      'bench nested-stride',
      'bench refs',
      'bench shadow',
      'bench shadow-churn',
      'bench shadow-diff',
      'bench vmm',
      'bench vmm-syscall',
      'bench safety',
    ]);
    const lines = r.stdout.split('\n');
    const at = lines.findIndex((l) => l.startsWith('bench refs'));
    expect(lines.slice(at + 1, at + 5).map((l) => l.trim().split(/\s+/).slice(0, 2).join(' '))).toEqual(['guest levels', '2 2', '3 3', '4 4']);
  });
});
