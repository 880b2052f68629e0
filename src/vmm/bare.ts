// The reference run: a guest on bare hardware (a Machine with memorySize = vmsize). Every
// equivalence check compares against it — as a whole run (runBare) or advanced one
// guest-visible event at a time beside the run it checks (BareReference).

import type { Machine } from '../isa/machine.js';
import { runMachine, type RunEnd, type RunSummary } from '../isa/run.js';
import { EventSource, type EventListener, type EventTally, type GuestEvent } from './events.js';
import { bareMachine, type GuestImage } from './guest.js';

export type GuestEnd = RunEnd;

export interface BareRun extends RunSummary {
  /** guest-visible events by kind (only the 'end' one unless `events` was asked for) */
  readonly events: EventTally;
  readonly console: string;
}

/**
 * Runs `g` bare for its budget. With `events`, steps one instruction at a time so that console
 * output and halt are seen at the instruction that produced them, and tells `listener` of each
 * event (the trajectory is the same as one `run(budget)`: run's loop-top order — pending
 * timer, then budget — holds per step).
 */
export function runBare(g: GuestImage, options: { events?: boolean; listener?: EventListener } = {}): BareRun {
  const m = bareMachine(g);
  const source = new EventSource(m, options.events === true, options.listener);
  const r = runMachine(m, g.budget, source.enabled ? { onStep: () => source.poll() } : {});
  source.end();
  return { end: r.end, retired: r.retired, final: r.final, events: source.tally, instructions: r.instructions, traps: r.traps, console: m.console, seconds: r.seconds };
}

/**
 * A guest's bare machine advanced one guest-visible event at a time, so that a checker can
 * hold it beside the run it checks: `next()` runs to the next event and leaves the machine in
 * its state right after it. Only the current state is kept.
 */
export class BareReference {
  readonly m: Machine;
  private readonly source: EventSource;
  private readonly queue: GuestEvent[] = [];
  private readonly stop: number;
  private ended = false;

  /** The guest `g` from its start, or (`m`) from a state of its bare machine restored from a snapshot. */
  constructor(g: GuestImage, m: Machine = bareMachine(g)) {
    this.m = m;
    this.stop = g.budget;
    this.source = new EventSource(this.m, true, (e) => this.queue.push(e));
  }

  /** Runs to the next event and returns it; undefined once the 'end' event has been returned. */
  next(): GuestEvent | undefined {
    while (this.queue.length === 0 && !this.ended) this.step();
    return this.queue.shift();
  }

  /** One instruction or trap delivery (as runMachine steps), or the end of the run. */
  private step(): void {
    const m = this.m;
    const exit = m.run(this.stop - m.retired, true);
    this.source.poll();
    if (exit === 'step') return;
    this.ended = true;
    this.source.end();
  }
}

/** How a machine's run ended, from its status. */
export function endOf(m: Machine): GuestEnd {
  const s = m.machineStatus;
  return s === 'running' ? 'budget' : s;
}
