import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { readdirSync, readFileSync } from 'node:fs';
import {
  encodeEntry,
  FORMATS,
  GEOMETRIES,
  indexAt,
  pageBitsAt,
  readPfn,
  validateGeometry,
  type EntryFormat,
  type Geometry,
} from '../../src/paging/index.js';

const x86 = GEOMETRIES['x86-32'];

function variant(g: Geometry, change: Partial<Geometry>, entry?: Partial<EntryFormat>): Geometry {
  return { ...g, ...change, entry: { ...g.entry, ...entry } };
}

describe('geometry rows', () => {
  it('every preset validates clean', () => {
    for (const g of Object.values(GEOMETRIES)) expect([g.name, validateGeometry(g)]).toEqual([g.name, []]);
  });

  it('presets have the split and page size the SPEC names', () => {
    expect(Object.values(GEOMETRIES).map((g) => [g.name, g.vaBits, g.indexBits.join('/'), g.offsetBits, g.entry.bytes, g.rules])).toEqual([
      ['tiny', 15, '5/5', 5, 1, 'valid-only'],
      ['x86-32', 32, '10/10', 12, 4, 'x86'],
      ['sv32', 32, '10/10', 12, 4, 'riscv'],
      ['four-level', 32, '5/5/5/5', 12, 8, 'x86'],
    ]);
  });

  it('index and page-size helpers split a va root first', () => {
    const g = GEOMETRIES['four-level'];
    const va = ((7 << 27) | (9 << 22) | (11 << 17) | (13 << 12) | 0xabc) >>> 0;
    expect([0, 1, 2, 3].map((d) => indexAt(g, va, d))).toEqual([7, 9, 11, 13]);
    expect([0, 1, 2, 3].map((d) => pageBitsAt(g, d))).toEqual([27, 22, 17, 12]);
    expect(indexAt(GEOMETRIES['tiny'], (18 << 10) | (6 << 5) | 26, 0)).toBe(18);
  });
});

describe('validateGeometry names each problem', () => {
  const cases: [string, Geometry, RegExp][] = [
    ['split not adding up', variant(x86, { vaBits: 31 }), /^vaBits: index bits 10\+10 \+ offset bits 12 = 32, not 31$/],
    ['VA wider than 32 bits', variant(x86, { vaBits: 33, indexBits: [11, 10] }), /vaBits: 33 is not an integer in 1\.\.32/],
    ['no levels', variant(x86, { indexBits: [] }), /indexBits: needs at least one level/],
    ['entry size', variant(x86, {}, { bytes: 2 as 4 }), /entry\.bytes: 2 is not 1, 4 or 8/],
    ['flag outside entry', variant(x86, {}, { flags: { ...x86.entry.flags, dirty: 40 } }), /entry\.flags\.dirty: bit 40 is outside a 32-bit entry/],
    ['flag inside PFN', variant(x86, {}, { flags: { ...x86.entry.flags, global: 13 } }), /entry\.flags\.global: bit 13 is already the PFN field/],
    ['two flags on one bit', variant(x86, {}, { flags: { ...x86.entry.flags, dirty: 5 } }), /entry\.flags\.dirty: bit 5 is already flag accessed/],
    ['PFN not fitting', variant(x86, {}, { pfnBits: 21 }), /entry\.pfn: field of 21 bits at bit 12 does not fit a 32-bit entry/],
    ['no present bit', variant(x86, {}, { flags: { writable: 1, user: 2 } }), /entry\.flags\.present: every format needs/],
    ['reserved over a flag', variant(x86, {}, { reserved: [0x20, 0] }), /entry\.reserved: bit 5 is already flag accessed/],
    ['reserved hi in a 4-byte entry', variant(x86, {}, { reserved: [0, 1] }), /entry\.reserved: bit 32 is outside a 32-bit entry/],
    ['rules missing a flag', variant(GEOMETRIES['sv32'], {}, { flags: { present: 0, readable: 1, writable: 2, user: 4 } }), /entry\.flags\.executable: rules 'riscv' need this bit/],
    ['unknown rules', variant(x86, { rules: 'arm' as 'x86' }), /rules: 'arm' is not one of/],
    ['large page at the last level', variant(x86, { largePageDepths: [1] }), /largePageDepths: 1 is not an upper level \(0\.\.0\)/],
    ['large pages without PS', variant(x86, {}, { flags: { present: 0, writable: 1, user: 2 } }), /entry\.flags\.pageSize: large pages under rules 'x86'/],
    ['table larger than a page', variant(x86, { indexBits: [11, 9] }), /indexBits\[0\]: a table of 2\^11 4-byte entries \(8192 bytes\) does not fit a 4096-byte page/],
    ['PAT outside PFN', variant(x86, {}, { largePagePat: 11 }), /entry\.largePagePat: bit 11 is not inside the PFN field/],
  ];
  for (const [what, g, message] of cases) {
    it(what, () => {
      const errors = validateGeometry(g);
      expect(errors.some((e) => message.test(e)), errors.join('\n')).toBe(true);
    });
  }

  it('a custom row (three levels of 1-byte entries) is accepted and reported clean', () => {
    const g: Geometry = { name: 'three', vaBits: 16, indexBits: [4, 4, 4], offsetBits: 4, entry: FORMATS['tiny'], rules: 'valid-only', largePageDepths: [] };
    expect(validateGeometry(g)).toEqual([]);
  });
});

describe('entry fields', () => {
  it('readPfn inverts encodeEntry for every preset format (property)', () => {
    for (const f of Object.values(FORMATS)) {
      fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** f.pfnBits - 1 }), (pfn) => readPfn(f, encodeEntry(f, pfn, {}).lo, encodeEntry(f, pfn, {}).hi) === pfn));
    }
  });

  it('a PFN field straddling the halves of an 8-byte entry reads exactly', () => {
    const f: EntryFormat = { name: 'wide', bytes: 8, flags: { present: 0 }, pfnShift: 12, pfnBits: 40, reserved: [0, 0] };
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 40 - 1 }), (pfn) => {
      const e = encodeEntry(f, pfn, { present: true });
      return readPfn(f, e.lo, e.hi) === pfn && (e.lo & 1) === 1;
    }));
  });
});

describe('layering', () => {
  it('src/paging imports nothing outside src/paging', () => {
    const dir = new URL('../../src/paging/', import.meta.url);
    for (const file of readdirSync(dir)) {
      const text = readFileSync(new URL(file, dir), 'utf8');
      for (const m of text.matchAll(/from '([^']+)'/g)) expect([file, m[1]]).toEqual([file, expect.stringMatching(/^\.\/[\w-]+\.js$/)]);
    }
  });
});
