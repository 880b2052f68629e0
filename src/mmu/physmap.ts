// A physmap: which host-physical page backs each guest-physical page of a VM.
//
// Pages have the size of the guest's geometry (32 bytes for `tiny`, 4 KiB for the others and
// for segment guests); guest page gpn covers guest-physical [gpn * pageBytes, (gpn + 1) * pageBytes).
// Host pages need not be contiguous. A physmap is made one of three ways:
//
//   contiguousPhysmap   guest page i at host addr0 + i * pageBytes (the segment VMM's layout)
//   explicitPhysmap     ranges { gpa, hpa, size } given by a scenario, validated
//   onDemandPhysmap     pages mapped on first touch from a pool of free host ranges
//
// (explicit ranges and a pool may be combined). Static ranges are kept as sorted runs; pool
// pages are recorded one by one as they are handed out, in pool order — so a 4 GiB guest that
// touches three pages costs three host pages and three entries here. No page is ever unmapped.
//
//   guest page        host page
//       0   ── run ──▶   k        static: the contiguous run, or explicit ranges (sorted runs)
//       1   ── run ──▶   k + 1
//       2        -                not mapped (a PhysmapMemory reads it as zeros)
//       3   ── pool ─▶   p0       mapped on first touch: the pool's next free page

/** A guest-physical range mapped onto a host-physical one: [gpa, gpa + size) → [hpa, hpa + size). */
export interface PhysRange {
  readonly gpa: number;
  readonly hpa: number;
  readonly size: number;
}

/** A free host-physical range a pool hands pages out of, in order. */
export interface PoolRange {
  readonly hpa: number;
  readonly size: number;
}

export interface PhysmapSpec {
  /** bytes of guest-physical memory (the last page may be partial) */
  readonly guestBytes: number;
  /** the page size: a power of two, at least 4 */
  readonly pageBytes: number;
  /** bytes of host memory: every host page lies below */
  readonly hostBytes: number;
  readonly ranges?: readonly PhysRange[];
  readonly pool?: readonly PoolRange[];
}

/** What is wrong with one entry of a spec's `ranges` or `pool` (`field` says which number, when one does). */
export interface PhysmapProblem {
  readonly list: 'ranges' | 'pool';
  readonly index: number;
  readonly field?: 'gpa' | 'hpa' | 'size';
  readonly message: string;
}

export type PhysmapResult = { readonly ok: true; readonly physmap: Physmap } | { readonly ok: false; readonly problems: readonly PhysmapProblem[] };

/** A run of pages: guest pages [gpn, gpn + pages) at host pages [hpn, hpn + pages) (pool runs: gpn -1). */
export interface PageRun {
  readonly gpn: number;
  readonly hpn: number;
  readonly pages: number;
}

const LEAF_BITS = 10;
const LEAF_SIZE = 1 << LEAF_BITS;

const hex = (n: number) => `0x${n.toString(16)}`;

/** Whether `n` is a power of two in [4, 2^31]. */
function validPageBytes(n: number): boolean {
  return Number.isInteger(n) && n >= 4 && n <= 2 ** 31 && (n & (n - 1)) === 0;
}

/** Index of the run of `runs` (sorted by `key`, disjoint) holding page `p`, or -1. */
function findRun(runs: readonly PageRun[], key: 'gpn' | 'hpn', p: number): number {
  let lo = 0;
  let hi = runs.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const r = runs[mid];
    if (p < r[key]) hi = mid - 1;
    else if (p >= r[key] + r.pages) lo = mid + 1;
    else return mid;
  }
  return -1;
}

export class Physmap {
  /** bytes per page (a power of two, at least 4) */
  readonly pageBytes: number;
  readonly guestBytes: number;
  /** pages of guest memory: ceil(guestBytes / pageBytes) */
  readonly guestPages: number;
  /** host memory size the physmap was checked against (every host page lies below it) */
  readonly hostBytes: number;
  /** bumped whenever a page is mapped (so derived state — a stage-2 table — can notice) */
  generation = 0;
  /** called after a page is mapped from the pool, with its guest page and host address */
  onMap: ((gpn: number, hpa: number) => void) | undefined = undefined;

  private readonly byGuest: readonly PageRun[];
  private readonly byHost: readonly PageRun[];
  private lastRun = 0;
  private readonly pool: readonly PageRun[];
  /** pool runs sorted by host page, with their index in `pool` */
  private readonly poolByHost: readonly (readonly [number, number])[];
  /** pool pages before pool[i] */
  private readonly poolStart: readonly number[];
  private readonly poolPages: number;
  /** pool page k (in pool order) → the guest page it backs; its length is the pages handed out */
  private readonly poolOwner: number[] = [];
  private poolRun = 0;
  /** guest page → pool-mapped host page + 1 (0: not mapped from the pool), leaves of 1024 made on first use */
  private readonly dynamic = new Map<number, Int32Array>();
  private readonly staticPages: number;
  private rangesCache: readonly PhysRange[] | undefined;

  /**
   * Use contiguousPhysmap, explicitPhysmap or onDemandPhysmap, which check `runs` (static
   * mappings) and `pool` (free host pages, handed out in this order) first.
   */
  constructor(pageBytes: number, guestBytes: number, hostBytes: number, runs: readonly PageRun[], pool: readonly PageRun[]) {
    this.pageBytes = pageBytes;
    this.guestBytes = guestBytes;
    this.guestPages = Math.ceil(guestBytes / pageBytes);
    this.hostBytes = hostBytes;
    this.byGuest = [...runs].sort((a, b) => a.gpn - b.gpn);
    this.byHost = [...runs].sort((a, b) => a.hpn - b.hpn);
    this.staticPages = runs.reduce((n, r) => n + r.pages, 0);
    this.pool = pool;
    this.poolByHost = pool.map((r, i) => [r.hpn, i] as const).sort((a, b) => a[0] - b[0]);
    const starts: number[] = [];
    let n = 0;
    for (const r of pool) {
      starts.push(n);
      n += r.pages;
    }
    this.poolStart = starts;
    this.poolPages = n;
  }

  /** Pages mapped now (static ranges plus pool pages handed out). */
  get mappedPages(): number {
    return this.staticPages + this.poolOwner.length;
  }

  /** Pool pages not handed out yet (0 without a pool). */
  get poolPagesLeft(): number {
    return this.poolPages - this.poolOwner.length;
  }

  /** The host-physical address of guest page `gpn`, or -1 if it is not mapped (or outside guest memory). */
  hostPage(gpn: number): number {
    const runs = this.byGuest;
    let i = this.lastRun;
    let r = runs[i];
    if (r === undefined || gpn < r.gpn || gpn >= r.gpn + r.pages) {
      i = findRun(runs, 'gpn', gpn);
      if (i >= 0) {
        this.lastRun = i;
        r = runs[i];
      }
    }
    if (i >= 0) return (r.hpn + gpn - r.gpn) * this.pageBytes;
    const leaf = this.dynamic.get(gpn >>> LEAF_BITS);
    const v = leaf === undefined ? 0 : leaf[gpn & (LEAF_SIZE - 1)];
    return v === 0 ? -1 : (v - 1) * this.pageBytes;
  }

  /**
   * The host-physical address of guest page `gpn`, mapping it first from the pool if it is not
   * mapped: the next free pool page, in pool order (then `generation` is bumped and `onMap`
   * called). Returns -1 when it is not mapped and the pool is empty or exhausted. Throws
   * RangeError for a page outside guest memory (a broken invariant: callers check addresses).
   * The host page's contents are left as they are (PhysmapMemory.touch clears them).
   */
  touch(gpn: number): number {
    const mapped = this.hostPage(gpn);
    if (mapped >= 0) return mapped;
    if (!Number.isInteger(gpn) || gpn < 0 || gpn >= this.guestPages) throw new RangeError(`Physmap.touch: guest page ${gpn} is outside guest memory (${this.guestPages} pages)`);
    const k = this.poolOwner.length;
    if (k >= this.poolPages) return -1;
    while (k >= this.poolStart[this.poolRun] + this.pool[this.poolRun].pages) this.poolRun++;
    const hpn = this.pool[this.poolRun].hpn + (k - this.poolStart[this.poolRun]);
    let leaf = this.dynamic.get(gpn >>> LEAF_BITS);
    if (leaf === undefined) this.dynamic.set(gpn >>> LEAF_BITS, (leaf = new Int32Array(LEAF_SIZE)));
    leaf[gpn & (LEAF_SIZE - 1)] = hpn + 1;
    this.poolOwner.push(gpn);
    this.generation++;
    this.rangesCache = undefined;
    const hpa = hpn * this.pageBytes;
    this.onMap?.(gpn, hpa);
    return hpa;
  }

  /** The guest page backed by the host page holding `hpa` (any address in it), or -1 if none is. */
  guestPageOf(hpa: number): number {
    if (!(hpa >= 0)) return -1;
    const hpn = Math.floor(hpa / this.pageBytes);
    const i = findRun(this.byHost, 'hpn', hpn);
    if (i >= 0) return this.byHost[i].gpn + hpn - this.byHost[i].hpn;
    let lo = 0;
    let hi = this.poolByHost.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const [start, index] = this.poolByHost[mid];
      if (hpn < start) hi = mid - 1;
      else if (hpn >= start + this.pool[index].pages) lo = mid + 1;
      else {
        const k = this.poolStart[index] + hpn - start;
        return k < this.poolOwner.length ? this.poolOwner[k] : -1;
      }
    }
    return -1;
  }

  /**
   * Every mapping as ranges { gpa, hpa, size }, ascending by gpa, coalesced where both sides
   * continue (a contiguous physmap is one range). Cost: the runs and pool pages; cached until
   * the next page is mapped.
   */
  ranges(): readonly PhysRange[] {
    if (this.rangesCache) return this.rangesCache;
    const runs: PageRun[] = [...this.byGuest];
    for (let k = 0; k < this.poolOwner.length; k++) runs.push({ gpn: this.poolOwner[k], hpn: this.hostPage(this.poolOwner[k]) / this.pageBytes, pages: 1 });
    runs.sort((a, b) => a.gpn - b.gpn);
    const merged: PageRun[] = [];
    for (const r of runs) {
      const last = merged[merged.length - 1];
      if (last && last.gpn + last.pages === r.gpn && last.hpn + last.pages === r.hpn) merged[merged.length - 1] = { ...last, pages: last.pages + r.pages };
      else merged.push(r);
    }
    const p = this.pageBytes;
    this.rangesCache = Object.freeze(merged.map((r) => Object.freeze({ gpa: r.gpn * p, hpa: r.hpn * p, size: r.pages * p })));
    return this.rangesCache;
  }

  /**
   * Every host byte range [lo, hi) this physmap may ever map — its static ranges and its whole
   * pool — ascending and coalesced: what no other VM, and nothing of the VMM's, may overlap.
   */
  claimedRanges(): [number, number][] {
    const p = this.pageBytes;
    const all = [...this.byHost, ...this.pool].map((r) => [r.hpn * p, (r.hpn + r.pages) * p] as [number, number]).sort((a, b) => a[0] - b[0]);
    const out: [number, number][] = [];
    for (const [lo, hi] of all) {
      const last = out[out.length - 1];
      if (last && lo <= last[1]) last[1] = Math.max(last[1], hi);
      else out.push([lo, hi]);
    }
    return out;
  }

  /** The pool as given (empty without one). */
  poolRanges(): readonly PoolRange[] {
    return this.pool.map((r) => ({ hpa: r.hpn * this.pageBytes, size: r.pages * this.pageBytes }));
  }
}

/**
 * Guest page i at host address addr0 + i * pageBytes, for every page of a guest of `guestBytes`
 * — the segment VMM's layout. Throws RangeError when pageBytes is not a power of two in
 * [4, 2^31], addr0 is not a multiple of it, or the guest's pages would pass 4 GiB.
 */
export function contiguousPhysmap(addr0: number, guestBytes: number, pageBytes: number): Physmap {
  if (!validPageBytes(pageBytes)) throw new RangeError(`contiguousPhysmap: page size ${pageBytes} is not a power of two in [4, 2^31]`);
  if (!Number.isInteger(addr0) || addr0 < 0 || addr0 % pageBytes !== 0) throw new RangeError(`contiguousPhysmap: addr0 ${addr0} is not a multiple of the page size ${pageBytes}`);
  if (!Number.isInteger(guestBytes) || guestBytes < 0 || guestBytes > 2 ** 32) throw new RangeError(`contiguousPhysmap: guest size ${guestBytes} is not an integer in [0, 4 GiB]`);
  const pages = Math.ceil(guestBytes / pageBytes);
  if (addr0 + pages * pageBytes > 2 ** 32) throw new RangeError(`contiguousPhysmap: [${hex(addr0)}, ${hex(addr0 + pages * pageBytes)}) passes 4 GiB`);
  const runs = pages === 0 ? [] : [{ gpn: 0, hpn: addr0 / pageBytes, pages }];
  return new Physmap(pageBytes, guestBytes, addr0 + guestBytes, runs, []);
}

/**
 * A physmap of the explicit `spec.ranges` (and, if given, a pool for the pages they leave out),
 * or every problem found: a number that is not a non-negative integer, a size of 0, a gpa, hpa
 * or size that is not a multiple of the page size, a range past guest memory or past host
 * memory, a guest page mapped twice, two ranges (pool ones included) overlapping in host memory.
 * Throws RangeError for a page size that is not a power of two in [4, 2^31] (the geometry's
 * own) or a guest or host size outside [0, 4 GiB] (the machines' own).
 */
export function explicitPhysmap(spec: PhysmapSpec): PhysmapResult {
  const p = spec.pageBytes;
  if (!validPageBytes(p)) throw new RangeError(`explicitPhysmap: page size ${p} is not a power of two in [4, 2^31]`);
  for (const [name, v] of [['guest', spec.guestBytes], ['host', spec.hostBytes]] as const) {
    if (!Number.isInteger(v) || v < 0 || v > 2 ** 32) throw new RangeError(`explicitPhysmap: ${name} size ${v} is not an integer in [0, 4 GiB]`);
  }
  const problems = physmapProblems(spec);
  if (problems.length > 0) return { ok: false, problems };
  const runs = (spec.ranges ?? []).map((r) => ({ gpn: r.gpa / p, hpn: r.hpa / p, pages: r.size / p }));
  const pool = (spec.pool ?? []).map((r) => ({ gpn: -1, hpn: r.hpa / p, pages: r.size / p }));
  return { ok: true, physmap: new Physmap(p, spec.guestBytes, spec.hostBytes, runs, pool) };
}

/** A physmap whose pages are mapped on first touch from `spec.pool` (explicitPhysmap with a pool). */
export function onDemandPhysmap(spec: PhysmapSpec & { readonly pool: readonly PoolRange[] }): PhysmapResult {
  return explicitPhysmap(spec);
}

/** Every problem of `spec`'s ranges and pool (see explicitPhysmap), in list order. */
export function physmapProblems(spec: PhysmapSpec): PhysmapProblem[] {
  const problems: PhysmapProblem[] = [];
  const guestEnd = Math.ceil(spec.guestBytes / spec.pageBytes) * spec.pageBytes;
  const ranges = spec.ranges ?? [];
  const pool = spec.pool ?? [];
  const sound = (list: 'ranges' | 'pool', index: number, r: { gpa?: number; hpa: number; size: number }): boolean => {
    const before = problems.length;
    const fields = list === 'ranges' ? (['gpa', 'hpa', 'size'] as const) : (['hpa', 'size'] as const);
    for (const field of fields) {
      const v = (r as Record<string, number | undefined>)[field];
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) problems.push({ list, index, field, message: `${field} ${String(v)} is not a non-negative integer` });
      else if (field === 'size' && v === 0) problems.push({ list, index, field, message: 'size is 0' });
      else if (v % spec.pageBytes !== 0) problems.push({ list, index, field, message: `${field} ${hex(v)} is not a multiple of the page size (${spec.pageBytes} bytes)` });
    }
    if (problems.length > before) return false;
    if (r.gpa !== undefined && r.gpa + r.size > guestEnd) {
      problems.push({ list, index, field: 'size', message: `guest range [${hex(r.gpa)}, ${hex(r.gpa + r.size)}) runs past guest memory (${hex(spec.guestBytes)} bytes)` });
    }
    if (r.hpa + r.size > spec.hostBytes) {
      problems.push({ list, index, field: 'size', message: `host range [${hex(r.hpa)}, ${hex(r.hpa + r.size)}) runs past host memory (${hex(spec.hostBytes)} bytes)` });
    }
    return problems.length === before;
  };
  type Entry = { list: 'ranges' | 'pool'; index: number; lo: number; hi: number };
  const guest: Entry[] = [];
  const host: Entry[] = [];
  ranges.forEach((r, index) => {
    if (!sound('ranges', index, r)) return;
    guest.push({ list: 'ranges', index, lo: r.gpa, hi: r.gpa + r.size });
    host.push({ list: 'ranges', index, lo: r.hpa, hi: r.hpa + r.size });
  });
  pool.forEach((r, index) => {
    if (sound('pool', index, r)) host.push({ list: 'pool', index, lo: r.hpa, hi: r.hpa + r.size });
  });
  const name = (e: Entry) => `${e.list === 'ranges' ? 'range' : 'pool range'} ${e.index}`;
  for (const e of overlaps(guest)) problems.push({ list: e.later.list, index: e.later.index, field: 'gpa', message: `guest page ${hex(e.at)} is mapped twice (also by ${name(e.earlier)})` });
  for (const e of overlaps(host)) {
    problems.push({ list: e.later.list, index: e.later.index, field: 'hpa', message: `host range [${hex(e.later.lo)}, ${hex(e.later.hi)}) overlaps ${name(e.earlier)} [${hex(e.earlier.lo)}, ${hex(e.earlier.hi)}) in host memory` });
  }
  return problems.sort((a, b) => (a.list === b.list ? a.index - b.index : a.list === 'ranges' ? -1 : 1));
}

/**
 * Each interval of `entries` that overlaps one listed before it (ranges before pool, then by
 * index): the later one, the earlier one it meets, and the first shared address.
 */
function overlaps<E extends { list: string; index: number; lo: number; hi: number }>(entries: readonly E[]): { later: E; earlier: E; at: number }[] {
  const order = (e: E) => (e.list === 'ranges' ? 0 : 1e9) + e.index;
  const sorted = [...entries].sort((a, b) => a.lo - b.lo || order(a) - order(b));
  const out: { later: E; earlier: E; at: number }[] = [];
  const reported = new Set<E>();
  let reach: E | undefined;
  for (const e of sorted) {
    if (reach && e.lo < reach.hi) {
      const [earlier, later] = order(reach) < order(e) ? [reach, e] : [e, reach];
      if (!reported.has(later)) out.push({ later, earlier, at: e.lo });
      reported.add(later);
    }
    if (!reach || e.hi > reach.hi) reach = e;
  }
  return out;
}
