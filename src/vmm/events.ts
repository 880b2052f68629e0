// Guest-visible events (SPEC §3): a trap delivered to the guest, a double fault, console
// output, halt, and the end of the run — each with an immutable snapshot of the machine the
// guest sees (the bare machine, or the VM's virtual CPU). Runs are compared event by event,
// aligned by guest instructions retired.

import type { Machine, TrapEvent } from '../isa/machine.js';
import { snapshot, type MachineSnapshot } from '../isa/snapshot.js';

export type GuestEventKind = 'trap' | 'double-fault' | 'console' | 'halt' | 'end';

export interface GuestEvent {
  readonly kind: GuestEventKind;
  /** guest instructions retired when the event happened */
  readonly retired: number;
  /** the trap's cause for 'trap' and 'double-fault' */
  readonly cause?: number;
  readonly snapshot: MachineSnapshot;
}

/**
 * Records the events of one guest machine `m` (bare, or a virtual CPU). Traps are seen through
 * `m.onTrap`; console output and halt are polled by the runner after every instruction that can
 * produce them (`poll`). Disabled recorders keep only the end.
 */
export class EventRecorder {
  readonly events: GuestEvent[] = [];
  private consoleLength: number;
  private halted = false;

  constructor(
    private readonly m: Machine,
    readonly enabled: boolean,
  ) {
    this.consoleLength = m.console.length;
    if (enabled) m.onTrap = (t) => this.trap(t);
  }

  private push(kind: GuestEventKind, cause?: number): void {
    this.events.push({ kind, retired: this.m.retired, ...(cause === undefined ? {} : { cause }), snapshot: snapshot(this.m) });
  }

  private trap(t: TrapEvent): void {
    this.push(t.doubleFault ? 'double-fault' : 'trap', t.cause);
  }

  /** Records console output and halt that happened since the last poll. */
  poll(): void {
    if (!this.enabled) return;
    if (this.m.console.length !== this.consoleLength) {
      this.consoleLength = this.m.console.length;
      this.push('console');
    }
    if (!this.halted && this.m.machineStatus === 'halted') {
      this.halted = true;
      this.push('halt');
    }
  }

  /** Records the final state (always, enabled or not) and returns its snapshot. */
  end(): MachineSnapshot {
    this.poll();
    if (this.enabled) this.m.onTrap = undefined;
    const s = snapshot(this.m);
    this.events.push({ kind: 'end', retired: this.m.retired, snapshot: s });
    return s;
  }
}
