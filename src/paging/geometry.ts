// Paging geometries as data rows: how a virtual address splits into table indexes and a page
// offset, the entry format, which architecture's permission rules apply, and where large pages
// may appear. One walker (walk.ts) serves every row; scenario files may pass their own rows.
//
//   va:  | index[0] (root) | index[1] | ... | index[levels-1] | page offset |
//
// A table at depth d holds 2^indexBits[d] entries of entry.bytes each; entry i lies at
// tableBase + i * bytes. The root table is at PTBR; every other table and every frame is at
// PFN << offsetBits. A leaf at depth d maps a page of 2^pageBitsAt(d) bytes.

import { FLAGS, FORMATS, modPow2, pow2, type EntryFormat, type Flag } from './formats.js';

/** Which architecture's permission rules apply (rules.ts). */
export type RuleSet = 'x86' | 'riscv' | 'valid-only';
export const RULE_SETS: readonly RuleSet[] = ['x86', 'riscv', 'valid-only'];

export interface Geometry {
  readonly name: string;
  /** virtual-address width in bits (<= 32) = sum(indexBits) + offsetBits */
  readonly vaBits: number;
  /** index bits per level, root first */
  readonly indexBits: readonly number[];
  /** page-offset bits (base page size = 2^offsetBits) */
  readonly offsetBits: number;
  readonly entry: EntryFormat;
  readonly rules: RuleSet;
  /** depths above the last level where a leaf (large page) is allowed */
  readonly largePageDepths: readonly number[];
}

/** The preset geometries by name. */
export const GEOMETRIES: Readonly<Record<string, Geometry>> = {
  tiny: row('tiny', [5, 5], 5, 'valid-only', []),
  'x86-32': row('x86-32', [10, 10], 12, 'x86', [0]),
  sv32: row('sv32', [10, 10], 12, 'riscv', [0]),
  'four-level': row('four-level', [5, 5, 5, 5], 12, 'x86', [1, 2]),
};

function row(name: string, indexBits: number[], offsetBits: number, rules: RuleSet, largePageDepths: number[]): Geometry {
  const vaBits = indexBits.reduce((a, b) => a + b, offsetBits);
  return Object.freeze({ name, vaBits, indexBits, offsetBits, entry: FORMATS[name], rules, largePageDepths });
}

/** Flags each rule set needs the format to have. */
const REQUIRED_FLAGS: Readonly<Record<RuleSet, readonly Flag[]>> = {
  x86: ['present', 'writable', 'user'],
  riscv: ['present', 'readable', 'writable', 'executable', 'user'],
  'valid-only': ['present'],
};

// ---------------------------------------------------------------- address helpers

/** Number of table levels. */
export function levelsOf(g: Geometry): number {
  return g.indexBits.length;
}

/** The VA bit where the index of `depth` starts (= log2 of the page a leaf there maps). */
export function pageBitsAt(g: Geometry, depth: number): number {
  let shift = g.offsetBits;
  for (let d = g.indexBits.length - 1; d > depth; d--) shift += g.indexBits[d];
  return shift;
}

/** The table index of `va` at `depth`. */
export function indexAt(g: Geometry, va: number, depth: number): number {
  return modPow2(va >>> pageBitsAt(g, depth), g.indexBits[depth]);
}

/** Bytes of a table at `depth`. */
export function tableBytes(g: Geometry, depth: number): number {
  return pow2(g.indexBits[depth]) * g.entry.bytes;
}

/** What a level may hold: tables only above the last level, or also large pages; the last level holds leaves. */
export const LEVEL_TABLE = 0;
export const LEVEL_LARGE = 1;
export const LEVEL_LAST = 2;
export type LevelKind = typeof LEVEL_TABLE | typeof LEVEL_LARGE | typeof LEVEL_LAST;

/**
 * The levels of a geometry as columns indexed by depth (root first): the walker's per-level
 * numbers, in typed arrays because V8 reads them faster than an array of row objects.
 */
export interface LevelColumns {
  /** the VA bit where the level's index starts = log2 of the page a leaf there maps */
  readonly shift: Int32Array;
  /** 2^indexBits - 1 */
  readonly indexMask: Int32Array;
  /** bytes of a table at the level */
  readonly tableBytes: Float64Array;
  /** LEVEL_TABLE, LEVEL_LARGE or LEVEL_LAST */
  readonly kind: Uint8Array;
  /** 2^shift - 1: the offset of an address within a page a leaf there maps */
  readonly pageMask: Int32Array;
  /** base pages in a page a leaf there maps */
  readonly spanPages: Float64Array;
  /** frame-number bits a leaf there must leave clear to be aligned to its page (PAT excepted), as (lo, hi) masks */
  readonly alignLo: Int32Array;
  readonly alignHi: Int32Array;
}

const COLUMNS = new WeakMap<Geometry, LevelColumns>();

/** The level columns of `g` (computed once per geometry object; never written after). */
export function levelColumns(g: Geometry): LevelColumns {
  let c = COLUMNS.get(g);
  if (!c) COLUMNS.set(g, (c = computeColumns(g)));
  return c;
}

function computeColumns(g: Geometry): LevelColumns {
  const n = levelsOf(g);
  const c = {
    shift: new Int32Array(n),
    indexMask: new Int32Array(n),
    tableBytes: new Float64Array(n),
    kind: new Uint8Array(n),
    pageMask: new Int32Array(n),
    spanPages: new Float64Array(n),
    alignLo: new Int32Array(n),
    alignHi: new Int32Array(n),
  };
  for (let d = 0; d < n; d++) {
    const shift = pageBitsAt(g, d);
    c.shift[d] = shift;
    c.indexMask[d] = pow2(g.indexBits[d]) - 1;
    c.tableBytes[d] = tableBytes(g, d);
    c.kind[d] = d === n - 1 ? LEVEL_LAST : g.largePageDepths.includes(d) ? LEVEL_LARGE : LEVEL_TABLE;
    c.pageMask[d] = pow2(shift) - 1;
    c.spanPages[d] = pow2(shift - g.offsetBits);
    [c.alignLo[d], c.alignHi[d]] = alignmentMasks(g.entry, shift - g.offsetBits);
  }
  return c;
}

/** The frame-number bits below a page of 2^span base pages, PAT excepted, as (lo, hi) masks. */
function alignmentMasks(f: EntryFormat, span: number): [number, number] {
  let lo = 0;
  let hi = 0;
  for (let b = f.pfnShift; b < f.pfnShift + Math.min(span, f.pfnBits); b++) {
    if (b === f.largePagePat) continue;
    if (b < 32) lo |= 1 << b;
    else hi |= 1 << (b - 32);
  }
  return [lo, hi];
}

/** Whether `va` lies inside the geometry's virtual address space. */
export function inVaSpace(g: Geometry, va: number): boolean {
  return va >= 0 && va < pow2(g.vaBits);
}

// ---------------------------------------------------------------- validation

/** Human-readable problems with `g`; empty when the geometry is usable. */
export function validateGeometry(g: Geometry): string[] {
  const errors: string[] = [];
  if (typeof g.name !== 'string' || g.name === '') errors.push('name: must be a non-empty string');
  errors.push(...checkSplit(g), ...checkFormat(g.entry), ...checkRules(g));
  if (errors.length === 0) errors.push(...checkTables(g));
  return errors;
}

/** Index and offset bits: integers that add up to vaBits <= 32. */
function checkSplit(g: Geometry): string[] {
  const errors: string[] = [];
  if (!Array.isArray(g.indexBits) || g.indexBits.length === 0) return ['indexBits: needs at least one level'];
  g.indexBits.forEach((b, d) => {
    if (!isIntIn(b, 1, 31)) errors.push(`indexBits[${d}]: ${b} is not an integer in 1..31`);
  });
  if (!isIntIn(g.offsetBits, 0, 31)) errors.push(`offsetBits: ${g.offsetBits} is not an integer in 0..31`);
  if (!isIntIn(g.vaBits, 1, 32)) errors.push(`vaBits: ${g.vaBits} is not an integer in 1..32`);
  const sum = g.indexBits.reduce((a, b) => a + b, g.offsetBits);
  if (sum !== g.vaBits) {
    errors.push(`vaBits: index bits ${g.indexBits.join('+')} + offset bits ${g.offsetBits} = ${sum}, not ${g.vaBits}`);
  }
  return errors;
}

/** Entry size, bit positions inside the entry, no two fields sharing a bit. */
function checkFormat(f: EntryFormat): string[] {
  const errors: string[] = [];
  if (f.bytes !== 1 && f.bytes !== 4 && f.bytes !== 8) return [`entry.bytes: ${f.bytes} is not 1, 4 or 8`];
  const width = f.bytes * 8;
  if (!isIntIn(f.pfnBits, 1, 53) || !isIntIn(f.pfnShift, 0, width - 1) || f.pfnShift + f.pfnBits > width) {
    errors.push(`entry.pfn: field of ${f.pfnBits} bits at bit ${f.pfnShift} does not fit a ${width}-bit entry`);
  }
  const owner = new Map<number, string>();
  for (let b = f.pfnShift; b < f.pfnShift + f.pfnBits && b < width; b++) owner.set(b, 'the PFN field');
  for (const flag of FLAGS) {
    const pos = f.flags[flag];
    if (pos === undefined) continue;
    if (!isIntIn(pos, 0, width - 1)) errors.push(`entry.flags.${flag}: bit ${pos} is outside a ${width}-bit entry`);
    else if (owner.has(pos)) errors.push(`entry.flags.${flag}: bit ${pos} is already ${owner.get(pos)}`);
    else owner.set(pos, `flag ${flag}`);
  }
  if (f.flags.present === undefined) errors.push('entry.flags.present: every format needs a present/valid bit');
  errors.push(...checkReserved(f, owner));
  if (f.largePagePat !== undefined && owner.get(f.largePagePat) !== 'the PFN field') {
    errors.push(`entry.largePagePat: bit ${f.largePagePat} is not inside the PFN field`);
  }
  return errors;
}

/** Reserved masks lie inside the entry and overlap no field. */
function checkReserved(f: EntryFormat, owner: Map<number, string>): string[] {
  const errors: string[] = [];
  const [lo, hi] = f.reserved ?? [0, 0];
  if (!isIntIn(lo, 0, 2 ** 32 - 1) || !isIntIn(hi, 0, 2 ** 32 - 1)) return ['entry.reserved: masks must be unsigned 32-bit integers'];
  for (let b = 0; b < 64; b++) {
    const set = b < 32 ? (lo >>> b) & 1 : (hi >>> (b - 32)) & 1;
    if (!set) continue;
    if (b >= f.bytes * 8) errors.push(`entry.reserved: bit ${b} is outside a ${f.bytes * 8}-bit entry`);
    else if (owner.has(b)) errors.push(`entry.reserved: bit ${b} is already ${owner.get(b)}`);
  }
  return errors;
}

/** A known rule set whose flags the format has; large-page depths above the last level. */
function checkRules(g: Geometry): string[] {
  if (!RULE_SETS.includes(g.rules)) return [`rules: '${g.rules}' is not one of ${RULE_SETS.join(', ')}`];
  const errors = REQUIRED_FLAGS[g.rules]
    .filter((flag) => g.entry.flags?.[flag] === undefined)
    .map((flag) => `entry.flags.${flag}: rules '${g.rules}' need this bit`);
  const levels = Array.isArray(g.indexBits) ? g.indexBits.length : 0;
  const depths = g.largePageDepths ?? [];
  depths.forEach((d) => {
    if (!isIntIn(d, 0, levels - 2)) errors.push(`largePageDepths: ${d} is not an upper level (0..${levels - 2})`);
  });
  if (new Set(depths).size !== depths.length) errors.push('largePageDepths: a depth is listed twice');
  if (depths.length > 0 && g.rules !== 'riscv' && g.entry.flags?.pageSize === undefined) {
    errors.push(`entry.flags.pageSize: large pages under rules '${g.rules}' need a page-size bit`);
  }
  return errors;
}

/** Every table fits in one page (so a PFN names a whole table). */
function checkTables(g: Geometry): string[] {
  return g.indexBits.flatMap((b, d) =>
    tableBytes(g, d) > 2 ** g.offsetBits
      ? [`indexBits[${d}]: a table of 2^${b} ${g.entry.bytes}-byte entries (${tableBytes(g, d)} bytes) does not fit a ${2 ** g.offsetBits}-byte page`]
      : [],
  );
}

function isIntIn(x: unknown, lo: number, hi: number): boolean {
  return typeof x === 'number' && Number.isInteger(x) && x >= lo && x <= hi;
}
