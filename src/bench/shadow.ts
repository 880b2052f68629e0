// Shadow paging in `shadowlab bench`: the bench loop as a paging guest (four-level, the state
// pagingLoopMachine builds) run bare and under the shadow-paging VMM without checks, alternately
// so that both see the same machine conditions. The first instructions fill the shadow (a few
// hidden faults); the rest runs directly through it, exiting only at the VMM's timer.

import type { Machine } from '../isa/machine.js';
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
