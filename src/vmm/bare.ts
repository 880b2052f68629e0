// The reference run: a guest on bare hardware (a Machine with memorySize = vmsize), with its
// guest-visible events when asked. Every equivalence check compares against this.

import type { Machine } from '../isa/machine.js';
import { runMachine, type RunEnd, type RunSummary } from '../isa/run.js';
import { EventRecorder, type GuestEvent } from './events.js';
import { bareMachine, type GuestImage } from './guest.js';

export type GuestEnd = RunEnd;

export interface BareRun extends RunSummary {
  /** guest-visible events (only the 'end' one unless `events` was asked for) */
  readonly events: readonly GuestEvent[];
  readonly console: string;
}

/**
 * Runs `g` bare for its budget. With `events`, steps one instruction at a time so that console
 * output and halt are seen at the instruction that produced them (the trajectory is the same
 * as one `run(budget)`: run's loop-top order — pending timer, then budget — holds per step).
 */
export function runBare(g: GuestImage, options: { events?: boolean } = {}): BareRun {
  const m = bareMachine(g);
  const rec = new EventRecorder(m, options.events === true);
  const r = runMachine(m, g.budget, rec.enabled ? { onStep: () => rec.poll() } : {});
  return { end: r.end, retired: r.retired, final: rec.end(), events: rec.events, instructions: r.instructions, traps: r.traps, console: m.console, seconds: r.seconds };
}

/** How a machine's run ended, from its status. */
export function endOf(m: Machine): GuestEnd {
  const s = m.machineStatus;
  return s === 'running' ? 'budget' : s;
}
