// The reference run: a guest on bare hardware (a Machine with memorySize = vmsize), with its
// guest-visible events when asked. Every equivalence check compares against this.

import type { Machine } from '../isa/machine.js';
import type { CompiledProfile } from '../isa/profile.js';
import { EventRecorder, type GuestEvent } from './events.js';
import { bareMachine, type GuestImage } from './guest.js';
import type { MachineSnapshot } from '../isa/snapshot.js';

export type GuestEnd = 'halted' | 'double-fault' | 'budget';

export interface BareRun {
  readonly end: GuestEnd;
  readonly retired: number;
  readonly final: MachineSnapshot;
  /** guest-visible events (only the 'end' one unless `events` was asked for) */
  readonly events: readonly GuestEvent[];
  readonly instructions: Readonly<Record<string, number>>;
  readonly traps: Readonly<Record<string, number>>;
  readonly console: string;
  readonly seconds: number;
}

/**
 * Runs `g` bare for its budget. With `events`, steps one instruction at a time so that console
 * output and halt are seen at the instruction that produced them (the trajectory is the same
 * as one `run(budget)`: run's loop-top order — pending timer, then budget — holds per step).
 */
export function runBare(g: GuestImage, options: { events?: boolean } = {}): BareRun {
  const m = bareMachine(g);
  const rec = new EventRecorder(m, options.events === true);
  const t0 = performance.now();
  let exit;
  if (rec.enabled) {
    do {
      exit = m.run(g.budget - m.retired, true);
      rec.poll();
    } while (exit === 'step');
  } else {
    exit = m.run(g.budget);
  }
  const seconds = (performance.now() - t0) / 1000;
  const final = rec.end();
  return {
    end: exit === 'halted' || exit === 'double-fault' ? exit : 'budget',
    retired: m.retired,
    final,
    events: rec.events,
    instructions: opsByName(m.opCounts, m.compiled),
    traps: trapsByName(m.trapCounts, m.compiled),
    console: m.console,
    seconds,
  };
}

/** Retired instructions per mnemonic (non-zero counts only). */
export function opsByName(counts: ArrayLike<number>, cp: CompiledProfile): Record<string, number> {
  const out: Record<string, number> = {};
  for (let op = 0; op < counts.length; op++) if (counts[op] > 0) out[cp.byOp[op]?.mnemonic ?? `op 0x${op.toString(16)}`] = counts[op];
  return out;
}

/** Delivered traps per cause name (non-zero counts only). */
export function trapsByName(counts: ArrayLike<number>, cp: CompiledProfile): Record<string, number> {
  const out: Record<string, number> = {};
  for (let c = 0; c < counts.length; c++) if (counts[c] > 0) out[cp.causes.get(c)?.name ?? `cause ${c}`] = counts[c];
  return out;
}

/** How a machine's run ended, from its status. */
export function endOf(m: Machine): GuestEnd {
  const s = m.machineStatus;
  return s === 'running' ? 'budget' : s;
}
