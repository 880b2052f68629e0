// Shadow paging in `shadowlab bench`: the bench loop as a paging guest (four-level, the state
// pagingLoopMachine builds) run bare and under the shadow-paging VMM without checks, alternately
// so that both see the same machine conditions. The first instructions fill the shadow (a few
// hidden faults); the rest runs directly through it, exiting only at the VMM's timer.

import type { Machine } from '../isa/machine.js';
import { PhysicalMemory } from '../mmu/memory.js';
import { GEOMETRIES, type Geometry } from '../paging/index.js';
import { diffRows, shadowEntry, ShadowLog, ShadowSpace, TablePool, type DiffRow } from '../shadow/index.js';
import { guestFromMachine, type GuestImage } from '../vmm/guest.js';
import type { NestedOptions } from '../vmm/nested-host.js';
import { runGuest } from '../vmm/run.js';
import { alternately, ips } from './vmm.js';
import { median } from './median.js';

export interface ShadowRates {
  /** millions of guest instructions per second, bare paging and under shadow-eager (medians) */
  readonly bare: number;
  readonly shadow: number;
  /** shadow / bare */
  readonly ratio: number;
  /** exits per 1,000 guest instructions under shadow-eager, and how many were shadow misses */
  readonly exitsPer1000: number;
  readonly misses: number;
}

/** Measures `loop()` (a paging machine in its starting state) for `instructions` instructions, `runs` times each way. */
export function benchShadow(loop: () => Machine, { runs, instructions }: { runs: number; instructions: number }): ShadowRates {
  const guest = guestFromMachine('paging-loop', loop(), instructions);
  const pair = alternately(runs, () => runGuest('bare', guest, { check: false }), () => runGuest('shadow-eager', guest, { check: false }));
  const bare = pair.a.map((r) => ips(r) / 1e6);
  const shadow = pair.b.map((r) => ips(r) / 1e6);
  const last = pair.b[runs - 1];
  const e = last.efficiency!;
  return { bare: median(bare), shadow: median(shadow), ratio: median(shadow) / median(bare), exitsPer1000: e.exitsPer1000, misses: e.exits.repair };
}

/** One policy on the churn guest: its exits per 1,000 guest instructions, and its speed over bare paging's in the same run. */
export interface ChurnPolicy {
  readonly exitsPer1000: number;
  readonly ratio: number;
}

/**
 * The churn guest (scenarios/shadow/churn.yaml, given as `guest` with its host options `nested`)
 * run bare, under shadow-eager and under shadow-lazy in turn, `runs` times each, unchecked: each
 * policy's exits per 1,000 guest instructions, and its speed over bare's (medians).
 */
export function benchChurn(guest: GuestImage, nested: NestedOptions | undefined, runs: number): { readonly eager: ChurnPolicy; readonly lazy: ChurnPolicy } {
  const options = { check: false, ...(nested ? { nested } : {}) };
  const rates: Record<'bare' | 'shadow-eager' | 'shadow-lazy', number[]> = { bare: [], 'shadow-eager': [], 'shadow-lazy': [] };
  const last: Partial<Record<'shadow-eager' | 'shadow-lazy', number>> = {};
  for (let i = 0; i < runs; i++) {
    for (const kind of ['bare', 'shadow-eager', 'shadow-lazy'] as const) {
      const r = runGuest(kind, guest, options);
      rates[kind].push(ips(r));
      if (kind !== 'bare') last[kind] = r.efficiency!.exitsPer1000;
    }
  }
  const policy = (kind: 'shadow-eager' | 'shadow-lazy'): ChurnPolicy => ({ exitsPer1000: last[kind]!, ratio: median(rates[kind]) / median(rates.bare) });
  return { eager: policy('shadow-eager'), lazy: policy('shadow-lazy') };
}

/**
 * One exit's diff with a full `x86-32` table: a shadow space whose 1024-entry table maps 1024
 * pages is emptied — 1024 changes recorded through the one setter — and the exit's changes are
 * coalesced (diffRows) and rendered by `render` (the CLI's diff table, as the chunks of text it
 * writes). The pages lie on
 * consecutive frames (`scattered` false: one row) or on frames in descending order, every other
 * one writable (true: 1024 rows, the worst case). Milliseconds per exit, median of `runs`
 * (making the entries and filling the table not timed).
 */
export function benchDiff(render: (geometry: Geometry, rows: readonly DiffRow[]) => readonly string[], runs: number, scattered: boolean): number {
  const g = GEOMETRIES['x86-32'];
  const page = 2 ** g.offsetBits;
  const host = new PhysicalMemory(8 << 20);
  const pool = new TablePool(0x400000, 0x800000, page);
  const entries = Array.from({ length: 1024 }, (_, i) => shadowEntry(g, (scattered ? 1023 - i : i) * page, { read: true, write: !scattered || i % 2 === 0, exec: true }));
  const times: number[] = [];
  for (let run = 0; run < runs; run++) {
    const log = new ShadowLog();
    const space = new ShadowSpace(g, host, pool, log, 0, 'kernel');
    entries.forEach((e, i) => space.setPage(0x400000 + i * page, e, 'hidden fault'));
    log.event++;
    const from = log.total;
    const t0 = performance.now();
    space.clear('trace write');
    const chunks = render(g, diffRows(g, log.between(from)));
    times.push(performance.now() - t0);
    if (chunks.length === 0) throw new Error('benchDiff: nothing rendered');
    space.release();
  }
  return median(times);
}
