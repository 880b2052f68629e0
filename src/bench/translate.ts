// Micro-benchmark of PagingUnit.translate (for `bench` and by hand; not a timed test):
// nanoseconds per call on the last-page cache, on TLB hits across pages, on walks, and on
// nested walks (both stages, the same geometry over itself).

import { Access } from '../mmu/fault.js';
import { PhysicalMemory } from '../mmu/memory.js';
import { createPager, type PagingUnit } from '../mmu/paging-unit.js';
import { GEOMETRIES, map, type Geometry } from '../paging/index.js';
import { median } from './median.js';

export interface TranslateTiming {
  readonly geometry: string;
  /** same page, same access: the last-page cache */
  readonly hotNs: number;
  /** a fetch and a data access alternating over `pages` pages, all in the TLB */
  readonly tlbHitNs: number;
  /** no TLB: every call walks with A/D updates */
  readonly walkNs: number;
  readonly refsPerWalk: number;
  /** no TLB, nested paging (the geometry over itself, 4 KiB host pages): every call walks both stages */
  readonly nestedWalkNs: number;
  readonly refsPerNestedWalk: number;
}

const PAGES = 16;
const BASE = 0x00400000;

/** Times translate on `geometry` (a preset name) with `calls` calls per pattern. */
export function benchTranslate(geometry = 'x86-32', calls = 20_000_000): TranslateTiming {
  const g = GEOMETRIES[geometry];
  const hot = setupPager(g, 64);
  const hotNs = time(calls, hot, (p, i) => p.translate(BASE + ((i & 0x3ff) << 2), Access.Read, true));
  const tlb = setupPager(g, 64);
  const tlbHitNs = time(calls, tlb, (p, i) => p.translate(BASE + ((i % PAGES) << 12) + (i & 1) * 8, i & 1 ? Access.Fetch : Access.Read, true));
  const walkCalls = Math.max(1, calls >> 5);
  const none = setupPager(g, 0);
  const walkNs = time(walkCalls, none, walkOnce);
  const nested = setupPager(g, 0, true);
  const nestedWalkNs = time(walkCalls >> 2, nested, walkOnce);
  return { geometry, hotNs, tlbHitNs, walkNs, refsPerWalk: refsPerWalk(none), nestedWalkNs, refsPerNestedWalk: refsPerWalk(nested) };
}

function walkOnce(p: PagingUnit, i: number): number {
  return p.translate(BASE + ((i % PAGES) << 12), Access.Read, true);
}

function refsPerWalk(p: PagingUnit): number {
  const c = p.counters();
  return c.walkRefs / c.walks;
}

/**
 * A pager over PAGES user pages at BASE, warmed; with `nested`, the tables and pages live in
 * guest-physical memory that a table of the same geometry maps, 4 KiB page by page, to 32 MiB.
 */
function setupPager(g: Geometry, entries: number, nested = false): PagingUnit {
  const mem = new PhysicalMemory(64 << 20);
  const guest = nested ? mem.window(32 << 20, 16 << 20) : mem;
  let next = 12 << 20;
  const alloc = () => (next += 4096) - 4096;
  const root = alloc();
  map(g, guest, root, BASE, 0x00800000, PAGES * 4096, { write: true, user: true }, alloc);
  let stage2;
  if (nested) {
    let nextHost = 16 << 20;
    const hostAlloc = () => (nextHost += 4096) - 4096;
    stage2 = { geometry: g, root: hostAlloc(), guestSize: 16 << 20 };
    map(g, mem, stage2.root, 0, 32 << 20, 16 << 20, { write: true, user: true }, hostAlloc);
  }
  const pager = createPager(mem, { geometry: g, tlb: { entries, ways: Math.min(4, Math.max(1, entries)) }, stage2 });
  pager.setRoot(root);
  for (let i = 0; i < PAGES; i++) pager.translate(BASE + i * 4096, Access.Read, true);
  return pager;
}

/** Calls made before timing at least: enough for V8's optimizing compiler to have finished with the path. */
const MIN_WARMUP = 100_000;
const BATCHES = 5;

/**
 * Nanoseconds per call of `f` on `p`: the median of BATCHES batches of n / BATCHES calls, after
 * a warm-up of n / 10 calls and at least MIN_WARMUP (a few thousand walks time the compiler's
 * tier-up, not the walk; the median drops a batch another process slowed).
 */
function time(n: number, p: PagingUnit, f: (p: PagingUnit, i: number) => number): number {
  let sink = calls(Math.max(n / 10, MIN_WARMUP), p, f);
  const batch = Math.max(1, Math.round(n / BATCHES));
  const ns: number[] = [];
  for (let b = 0; b < BATCHES; b++) {
    const t0 = performance.now();
    sink += calls(batch, p, f);
    ns.push(((performance.now() - t0) * 1e6) / batch);
  }
  if (sink === -1) console.log(sink);
  return median(ns);
}

/** Calls f(p, i) for i = 0 .. n - 1; returns the sum of the answers (kept, so no call is dropped). */
function calls(n: number, p: PagingUnit, f: (p: PagingUnit, i: number) => number): number {
  let sink = 0;
  for (let i = 0; i < n; i++) sink += f(p, i);
  return sink;
}
