// Micro-benchmark of PagingUnit.translate (for `bench` and by hand; not a timed test):
// nanoseconds per call on the last-page cache, on TLB hits across pages, and on walks.

import { Access } from '../mmu/fault.js';
import { PhysicalMemory } from '../mmu/memory.js';
import { createPager, type PagingUnit } from '../mmu/paging-unit.js';
import { GEOMETRIES, map } from '../paging/index.js';

export interface TranslateTiming {
  readonly geometry: string;
  /** same page, same access: the last-page cache */
  readonly hotNs: number;
  /** a fetch and a data access alternating over `pages` pages, all in the TLB */
  readonly tlbHitNs: number;
  /** no TLB: every call walks with A/D updates */
  readonly walkNs: number;
  readonly refsPerWalk: number;
}

const PAGES = 16;

/** Times translate on `geometry` (a preset name) with `calls` calls per pattern. */
export function benchTranslate(geometry = 'x86-32', calls = 20_000_000): TranslateTiming {
  const hot = setupPager(geometry, 64);
  const hotNs = time(calls, (i) => hot.translate(0x00400000 + ((i & 0x3ff) << 2), Access.Read, true));
  const tlb = setupPager(geometry, 64);
  const tlbHitNs = time(calls, (i) => tlb.translate(0x00400000 + ((i % PAGES) << 12) + (i & 1) * 8, i & 1 ? Access.Fetch : Access.Read, true));
  const none = setupPager(geometry, 0);
  const walkCalls = Math.max(1, calls >> 6);
  const walkNs = time(walkCalls, (i) => none.translate(0x00400000 + ((i % PAGES) << 12), Access.Read, true));
  const c = none.counters();
  return { geometry, hotNs, tlbHitNs, walkNs, refsPerWalk: c.walkRefs / c.walks };
}

/** A pager over PAGES user pages at 0x00400000, warmed. */
function setupPager(geometry: string, entries: number): PagingUnit {
  const g = GEOMETRIES[geometry];
  const mem = new PhysicalMemory(64 << 20);
  let next = 32 << 20;
  const alloc = () => (next += 4096) - 4096;
  const root = alloc();
  map(g, mem, root, 0x00400000, 0x00800000, PAGES * 4096, { write: true, user: true }, alloc);
  const pager = createPager(mem, { geometry: g, tlb: { entries, ways: Math.min(4, Math.max(1, entries)) } });
  pager.setRoot(root);
  for (let i = 0; i < PAGES; i++) pager.translate(0x00400000 + i * 4096, Access.Read, true);
  return pager;
}

/** Nanoseconds per call of `f` over `n` calls (after a warm-up of n / 10). */
function time(n: number, f: (i: number) => number): number {
  let sink = 0;
  for (let i = 0; i < n / 10; i++) sink += f(i);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) sink += f(i);
  const ns = ((performance.now() - t0) * 1e6) / n;
  if (sink === -1) console.log(sink);
  return ns;
}
