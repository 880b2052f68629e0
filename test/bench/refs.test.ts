// The counted reference table of `bench refs`: counted by the walker on tables built in memory,
// then compared with the published 2D-walk figures, (n+1)(m+1)-1 for n guest and m host levels.

import { describe, expect, it } from 'vitest';
import { countRefs, THREE_LEVEL } from '../../src/bench/refs.js';
import { validateGeometry } from '../../src/paging/index.js';

describe('bench refs', () => {
  it('native misses read one entry per level; nested ones (n+1)(m+1)-1: 8, 11, 14 / 11, 15, 19 / 14, 19, 24', () => {
    const rows = countRefs();
    expect(rows.map((r) => [r.guest, r.native, ...r.nested.map((c) => c.refs)])).toEqual([
      ['x86-32', 2, 8, 11, 14],
      ['three-level', 3, 11, 15, 19],
      ['four-level', 4, 14, 19, 24],
    ]);
    for (const r of rows) for (const c of r.nested) expect(c.refs).toBe((r.guestLevels + 1) * (c.hostLevels + 1) - 1);
  });

  it('the three-level row is a valid geometry (PAE split, 8-byte entries)', () => {
    expect(validateGeometry(THREE_LEVEL)).toEqual([]);
    expect(THREE_LEVEL.indexBits).toEqual([2, 9, 9]);
  });
});
