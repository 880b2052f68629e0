// Shared helpers for the VMM tests: scenario files as guests, readable verdict messages, and a
// VMM broken on purpose (a wrong view of one guest page).

import { resolve } from 'node:path';
import { expect } from 'vitest';
import { buildMachine } from '../../src/scenario/build.js';
import { loadScenario } from '../../src/scenario/load.js';
import type { EquivalenceSummary } from '../../src/vmm/checks.js';
import { guestFromMachine, type GuestImage } from '../../src/vmm/guest.js';
import type { GuestRun } from '../../src/vmm/run.js';
import type { PhysicalMemory } from '../../src/mmu/memory.js';
import { explicitPhysmap } from '../../src/mmu/physmap.js';
import { PhysmapMemory } from '../../src/mmu/physmap-memory.js';
import type { MonitorOptions } from '../../src/vmm/monitor.js';
import type { SegmentMemory } from '../../src/vmm/segment-memory.js';
import type { MemoryVirtualizer } from '../../src/vmm/virtualizer.js';

export const SCENARIOS = resolve(import.meta.dirname, '../../scenarios');

/** The guest a scenario file describes (its machine, programs, PSW, registers and steps). */
export function scenarioGuest(file: string, budget?: number): GuestImage {
  const s = loadScenario(resolve(SCENARIOS, file));
  return guestFromMachine(s.name, buildMachine(s), budget ?? s.spec.steps);
}

/** A divergence with or without its snapshots. */
type AnyDivergence = NonNullable<EquivalenceSummary['first']>;

/** One line naming a divergence: where, which field, both values. */
export function describeDivergence(d: AnyDivergence | undefined): string {
  if (!d) return 'no divergence';
  const ev = (e: AnyDivergence['bareEvent']) => (e ? `${e.kind}@${e.retired}` : '-');
  return `event #${d.index} (bare ${ev(d.bareEvent)}, actual ${ev(d.actualEvent)}) at ${d.retired}: ${d.field} bare=${JSON.stringify(d.bare)} actual=${JSON.stringify(d.actual)}`;
}

/** Asserts that a checked run is equivalent to bare and safe, with the reason when it is not. */
export function expectEquivalentAndSafe(r: GuestRun, within: 'exact' | 'tlb' = 'exact'): void {
  const c = r.checks!;
  expect(c.equivalence.holds, `${r.kind} ${r.name}: ${describeDivergence(c.equivalence.first)}`).toBe(true);
  if (within === 'exact') expect(c.equivalence.tlbNondeterminism, `${r.kind} ${r.name}: within TLB nondeterminism, not exact`).toBeUndefined();
  expect(c.safety.holds, `${r.kind} ${r.name}: ${c.safety.first?.kind} ${c.safety.first?.detail} (reserve intact: ${c.safety.reserveIntact})`).toBe(true);
  if (r.vmm2) {
    expect(r.vmm2.level1Equivalence?.holds, `level 1: ${describeDivergence(r.vmm2.level1Equivalence?.first)}`).toBe(true);
    expect(r.vmm2.innerViolations).toEqual([]);
  }
}

/** `s` with its virtual CPU's memory replaced by `view` (everything else delegated). */
function withView(s: MemoryVirtualizer, view: PhysicalMemory): MemoryVirtualizer {
  return {
    name: s.name,
    guestMemory: view,
    guestBytes: s.guestBytes,
    install: (host, vcpu) => s.install(host, vcpu),
    classify: (cause, op, vcpu) => s.classify(cause, op, vcpu),
    repair: (host, vcpu) => s.repair(host, vcpu),
    afterEmulate: (host, vcpu, op) => s.afterEmulate(host, vcpu, op),
    afterReflect: (host, vcpu) => s.afterReflect(host, vcpu),
    confines: () => s.confines(),
    placement: () => s.placement(),
  };
}

/**
 * A broken VMM for the Monitor's `memory` option: VM `which`'s segment strategy, except that its
 * virtual CPU — what emulates, reflects, delivers ticks and interprets — sees the 32 guest-physical
 * bytes at `gpa` in host memory at `hpa`. The real machine still runs the guest in its own memory.
 */
export function misdirected(which: number, gpa: number, hpa: number): NonNullable<MonitorOptions['memory']> {
  return (vm, standard, host) => {
    if (vm !== which) return standard;
    const { addr0, vmsize } = (standard as SegmentMemory).allocation;
    const ranges = [
      { gpa: 0, hpa: addr0, size: gpa },
      { gpa, hpa, size: 32 },
      { gpa: gpa + 32, hpa: addr0 + gpa + 32, size: vmsize - gpa - 32 },
    ].filter((r) => r.size > 0);
    const r = explicitPhysmap({ guestBytes: vmsize, pageBytes: 32, hostBytes: host.mem.size, ranges });
    if (!r.ok) throw new Error(`misdirected: ${r.problems[0].message}`);
    return withView(standard, new PhysmapMemory(host.mem, r.physmap));
  };
}
