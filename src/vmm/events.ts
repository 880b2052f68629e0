// Guest-visible events: a trap delivered to the guest, a double fault, console output, halt,
// and the end of the run. An EventSource watches one guest machine (the bare machine, or a VM's
// virtual CPU) and hands each event to a listener at the moment it happens, with the machine in
// the state the guest sees right after it; it keeps only counts, never snapshots, so a run's
// memory does not grow with its events. Runs are compared event by event (lockstep.ts),
// aligned by guest instructions retired.

import type { Machine, TrapEvent } from '../isa/machine.js';

export const GUEST_EVENT_KINDS = ['trap', 'double-fault', 'console', 'halt', 'end'] as const;
export type GuestEventKind = (typeof GUEST_EVENT_KINDS)[number];

export interface GuestEvent {
  readonly kind: GuestEventKind;
  /** guest instructions retired when the event happened */
  readonly retired: number;
  /** the trap's cause for 'trap' and 'double-fault' */
  readonly cause?: number;
}

/** Events of a run by kind. */
export type EventTally = Readonly<Record<GuestEventKind, number>>;

/** Called at each event, the machine in its state right after it. */
export type EventListener = (e: GuestEvent) => void;

/**
 * Watches the guest machine `m`: traps through `m.onTrap`; console output and halt when the
 * runner calls `poll` after an instruction that can produce them. Disabled sources (no
 * checking) report only the end.
 */
export class EventSource {
  private readonly counts: Record<GuestEventKind, number> = { trap: 0, 'double-fault': 0, console: 0, halt: 0, end: 0 };
  private consoleLength: number;
  private halted: boolean;

  constructor(
    private readonly m: Machine,
    readonly enabled: boolean,
    private readonly listener: EventListener = () => {},
  ) {
    this.consoleLength = m.consoleWritten;
    this.halted = m.machineStatus === 'halted'; // a machine restored halted has had its halt event
    if (enabled) m.onTrap = (t) => this.trap(t);
  }

  get tally(): EventTally {
    return { ...this.counts };
  }

  private emit(kind: GuestEventKind, cause?: number): void {
    this.counts[kind]++;
    this.listener({ kind, retired: this.m.retired, ...(cause === undefined ? {} : { cause }) });
  }

  private trap(t: TrapEvent): void {
    this.emit(t.doubleFault ? 'double-fault' : 'trap', t.cause);
  }

  /** Reports console output and halt that happened since the last poll. */
  poll(): void {
    if (!this.enabled) return;
    if (this.m.consoleWritten !== this.consoleLength) {
      this.consoleLength = this.m.consoleWritten;
      this.emit('console');
    }
    if (!this.halted && this.m.machineStatus === 'halted') {
      this.halted = true;
      this.emit('halt');
    }
  }

  /** Reports the end of the run (always, enabled or not) and stops watching traps. */
  end(): void {
    this.poll();
    if (this.enabled) this.m.onTrap = undefined;
    this.emit('end');
  }
}
