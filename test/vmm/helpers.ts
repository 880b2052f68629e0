// Shared helpers for the VMM tests: scenario files as guests, and readable verdict messages.

import { resolve } from 'node:path';
import { expect } from 'vitest';
import { buildMachine } from '../../src/scenario/build.js';
import { loadScenario } from '../../src/scenario/load.js';
import type { EquivalenceSummary } from '../../src/vmm/checks.js';
import { guestFromMachine, type GuestImage } from '../../src/vmm/guest.js';
import type { GuestRun } from '../../src/vmm/run.js';

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
export function expectEquivalentAndSafe(r: GuestRun): void {
  const c = r.checks!;
  expect(c.equivalence.holds, `${r.kind} ${r.name}: ${describeDivergence(c.equivalence.first)}`).toBe(true);
  expect(c.safety.holds, `${r.kind} ${r.name}: ${c.safety.first?.kind} ${c.safety.first?.detail} (reserve intact: ${c.safety.reserveIntact})`).toBe(true);
  if (r.vmm2) {
    expect(r.vmm2.level1Equivalence?.holds, `level 1: ${describeDivergence(r.vmm2.level1Equivalence?.first)}`).toBe(true);
    expect(r.vmm2.innerViolations).toEqual([]);
  }
}
