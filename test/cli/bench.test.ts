// `shadowlab bench`: every figure is produced (measured, not asserted: only its shape and the
// deterministic counts are checked here).

import { describe, expect, it } from 'vitest';
import { cli } from './helpers.js';

describe('shadowlab bench', () => {
  it('--json reports every figure', async () => {
    const r = await cli('bench', '--runs', '1', '--instructions', '1000000', '--json');
    expect(r.code).toBe(0);
    const d = JSON.parse(r.stdout);
    expect(d.schemaVersion).toBe(2);
    for (const rate of [d.reference, d.segment, d.paging.rate, d.pagingStride.rate, d.vmm.vmmIps, d.vmm.bareIps]) expect(rate).toBeGreaterThan(0);
    expect(d.paging.refsPerMiss).toBe(4);
    expect(d.pagingStride.hitRate).toBeLessThan(0.95);
    expect(d.vmm.directShare).toBeGreaterThan(0.99);
    expect(d.vmm.syscall.exitsPer1000).toBeGreaterThan(200);
  });

  it('refuses runs too short to measure anything, and non-decimal counts', async () => {
    for (const n of ['10', '1e6', '0x100000', '99999999999']) {
      const r = await cli('bench', '--instructions', n);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/--instructions: expected a whole number from 1000000 to 1000000000 in decimal digits/);
    }
  });

  it('prints one line per figure', async () => {
    const r = await cli('bench', '--runs', '1', '--instructions', '1000000');
    expect(r.stdout.split('\n').filter((l) => l.startsWith('bench ')).map((l) => l.split(':')[0])).toEqual([
      'bench reference',
      'bench segment',
      'bench paging',
      'bench translate',
      'bench paging-stride',
      'bench vmm',
      'bench vmm-syscall',
    ]);
  });
});
