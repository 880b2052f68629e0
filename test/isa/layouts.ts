// Guest-physical memory layouts for differential tests: the same guest memory as a plain memory,
// a window at an offset into a larger host, and over physmaps — contiguous, scattered explicit
// pages, and pages mapped on first touch from a fragmented host pool. Host bytes the guest does
// not own are filled with junk, so a layout that leaks shows.

import fc from 'fast-check';
import { PhysicalMemory } from '../../src/mmu/memory.js';
import { contiguousPhysmap, explicitPhysmap, type Physmap, type PoolRange } from '../../src/mmu/physmap.js';
import { PhysmapMemory } from '../../src/mmu/physmap-memory.js';

export type LayoutKind = 'plain' | 'window' | 'contiguous' | 'scattered' | 'pool';
export const LAYOUT_KINDS: readonly LayoutKind[] = ['plain', 'window', 'contiguous', 'scattered', 'pool'];

/** The random choices behind every layout of one guest: where scattered pages go, how the pool is cut. */
export interface LayoutPlan {
  /** host page of each guest page (scattered), distinct, among 3 * guestPages host pages */
  readonly scatter: readonly number[];
  /** the pool: runs of host pages [start, start + pages), in the order they are handed out */
  readonly pool: readonly (readonly [number, number])[];
}

/** Random plans for a guest of `guestPages` pages. */
export function layoutPlan(guestPages: number): fc.Arbitrary<LayoutPlan> {
  const hostPages = 3 * guestPages;
  const all = Array.from({ length: hostPages }, (_, i) => i);
  const scatter = fc.shuffledSubarray(all, { minLength: guestPages, maxLength: guestPages });
  const cuts = fc.array(fc.integer({ min: 1, max: 8 }), { minLength: hostPages, maxLength: hostPages });
  const pool = fc.tuple(cuts, fc.integer()).map(([sizes, seed]) => {
    const runs: [number, number][] = [];
    for (let at = 0, i = 0; at < hostPages; i++) {
      const n = Math.min(sizes[i], hostPages - at);
      runs.push([at, n]);
      at += n;
    }
    // a deterministic shuffle from the drawn seed: the pool hands pages out of order
    return runs.map((r, i) => [r, Math.imul(i + 1, seed | 1) >>> 0] as const).sort((a, b) => a[1] - b[1]).map(([r]) => r);
  });
  return fc.record({ scatter, pool });
}

/** Fills host bytes [lo, hi) (word-aligned) with a non-zero pattern. */
function junk(host: PhysicalMemory, lo: number, hi: number): void {
  for (let a = lo; a < hi; a += 4) host.write32(a, 0x5a5a0000 | (a & 0xffff) | 1);
}

/** The guest memory of `guestBytes` bytes (pages of `pageBytes`) in layout `kind` of `plan`. */
export function layoutMemory(kind: LayoutKind, plan: LayoutPlan, guestBytes: number, pageBytes: number): PhysicalMemory {
  const pages = Math.ceil(guestBytes / pageBytes);
  const hostBytes = 3 * pages * pageBytes;
  switch (kind) {
    case 'plain':
      return new PhysicalMemory(guestBytes);
    case 'window': {
      const host = new PhysicalMemory(guestBytes + 0x3000);
      junk(host, 0, 0x1800);
      return host.window(0x1800, guestBytes);
    }
    case 'contiguous': {
      const addr0 = pages * pageBytes;
      const host = new PhysicalMemory(hostBytes);
      junk(host, 0, addr0);
      junk(host, 2 * addr0, hostBytes);
      return new PhysmapMemory(host, contiguousPhysmap(addr0, guestBytes, pageBytes));
    }
    case 'scattered': {
      const host = new PhysicalMemory(hostBytes);
      const used = new Set(plan.scatter);
      for (let h = 0; h < 3 * pages; h++) if (!used.has(h)) junk(host, h * pageBytes, (h + 1) * pageBytes);
      const ranges = plan.scatter.map((h, g) => ({ gpa: g * pageBytes, hpa: h * pageBytes, size: pageBytes }));
      return new PhysmapMemory(host, built(explicitPhysmap({ guestBytes, pageBytes, hostBytes, ranges })));
    }
    case 'pool': {
      const host = new PhysicalMemory(hostBytes);
      junk(host, 0, hostBytes); // touching a page clears it
      const pool: PoolRange[] = plan.pool.map(([start, n]) => ({ hpa: start * pageBytes, size: n * pageBytes }));
      return new PhysmapMemory(host, built(explicitPhysmap({ guestBytes, pageBytes, hostBytes, pool })));
    }
  }
}

function built(r: ReturnType<typeof explicitPhysmap>): Physmap {
  if (!r.ok) throw new Error(`layout: ${r.problems.map((p) => p.message).join('; ')}`);
  return r.physmap;
}
