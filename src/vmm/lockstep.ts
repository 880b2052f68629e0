// Equivalence, checked as the run goes: beside the run being checked (a VM's virtual CPU, or
// another bare machine) the guest's bare reference machine is advanced to its next
// guest-visible event whenever the checked run has one; the two events must match (kind,
// cause, guest instructions retired) and the two virtual views must be equal there. Then both
// are dropped: only the two live machines exist, whatever the number of events.
//
// The comparison costs what changed since the previous one, not the size of memory: a write
// tracker on each machine's memory names the guest-physical ranges written since, by anyone
// (first comparison: every range either has present), whether the memory is a window or lies
// over a physmap; the console by the count and hash of everything written (its text, from where
// it last agreed, only to show a difference: reading a long console is not cheap). Both
// trackers are kept by the memory itself, not by the VMM, so the verdict rests on what the runs
// did. At the first divergence both machines are snapshotted for the report and the reference
// is dropped.

import type { Machine } from '../isa/machine.js';
import { compareScalars, consoleDifference, liveScalars, memoryDifference, snapshot, type ViewDifference } from '../isa/snapshot.js';
import { mergeRanges, type PhysicalMemory, type WriteTracker } from '../mmu/memory.js';
import { BareReference } from './bare.js';
import type { Divergence, EquivalenceVerdict } from './checks.js';
import type { GuestEvent } from './events.js';
import type { GuestImage } from './guest.js';

/** A one-line name of an event (or its absence) for an 'event' divergence. */
export function describeEvent(e: GuestEvent | undefined): string {
  return e ? `${e.kind}${e.cause === undefined ? '' : ` (cause ${e.cause})`} at ${e.retired}` : 'no event';
}

export class Lockstep {
  private ref: BareReference | undefined;
  private readonly refLog: WriteTracker;
  private readonly actLog: WriteTracker;
  /** the first comparison looks at every frame present in either memory */
  private full = true;
  /** console characters known to agree */
  private consoleAgreed = 0;
  private events = 0;
  private compared = 0;
  private first: Divergence | undefined;
  /** wall time spent checking (so that the VMM's own time per exit can leave it out) */
  seconds = 0;

  /** `actual` is the machine whose events will be reported to `onEvent`; `reference` its guest. */
  constructor(
    reference: GuestImage,
    private readonly actual: Machine,
  ) {
    this.ref = new BareReference(reference);
    this.refLog = this.ref.m.mem.trackWrites();
    this.actLog = actual.mem.trackWrites();
  }

  /**
   * The checked run had event `e`, its machine in the state right after it: advances the
   * reference to its next event and compares. After a divergence, or after the 'end' event,
   * events are only counted.
   */
  readonly onEvent = (e: GuestEvent): void => {
    const t0 = performance.now();
    this.check(e);
    this.seconds += (performance.now() - t0) / 1000;
  };

  private check(e: GuestEvent): void {
    const index = this.events++;
    const ref = this.ref;
    if (!ref) return;
    const b = ref.next();
    if (!b || b.kind !== e.kind || b.retired !== e.retired || b.cause !== e.cause) {
      this.diverge(index, b, e, { field: 'event', a: describeEvent(b), b: describeEvent(e) });
      return;
    }
    this.compared++;
    const d = this.difference(ref.m, e.kind === 'end');
    if (d) this.diverge(index, b, e, d);
    else if (e.kind === 'end') this.close();
  }

  /** The verdict so far: holds when nothing diverged and at least one event was compared. */
  verdict(): EquivalenceVerdict {
    if (this.first) return { holds: false, compared: this.compared, first: this.first };
    if (this.compared === 0) return { holds: false, compared: 0, first: { index: 0, retired: 0, field: 'event', bare: 'nothing compared', actual: `${this.events} events` } };
    return { holds: true, compared: this.compared };
  }

  /**
   * The first difference between the reference `r` and the checked machine now, or undefined.
   * The console is compared by count, hash and kept length at every event, its whole kept text
   * at the end (`last`): reading a long console string at every event would cost its length.
   */
  private difference(r: Machine, last: boolean): ViewDifference | undefined {
    const a = this.actual;
    const consoleDiffers = last || r.consoleWritten !== a.consoleWritten || r.consoleHash !== a.consoleHash || r.console.length !== a.console.length;
    const d =
      (r.machineStatus !== a.machineStatus ? { field: 'status', a: r.machineStatus, b: a.machineStatus } : undefined) ??
      (consoleDiffers ? consoleDifference(r.console, a.console, last ? 0 : this.consoleAgreed) : undefined) ??
      compareScalars(liveScalars(r), liveScalars(a)) ??
      this.memoryDiff(r.mem, a.mem);
    if (d) return d;
    this.consoleAgreed = r.console.length;
    this.full = false;
    this.refLog.reset();
    this.actLog.reset();
    return undefined;
  }

  /**
   * The lowest differing byte among the ranges either memory wrote since the last comparison
   * (every present range the first time), in guest-physical terms whatever either memory's layout.
   */
  private memoryDiff(r: PhysicalMemory, a: PhysicalMemory): ViewDifference | undefined {
    if (r.size !== a.size) return { field: 'memory.size', a: r.size, b: a.size };
    const ranges = this.full ? [...r.presentRanges(), ...a.presentRanges()] : [...this.refLog.written(), ...this.actLog.written()];
    for (const [lo, hi] of mergeRanges(ranges)) {
      const at = r.firstDifferenceIn(a, lo, Math.min(hi, r.size));
      if (at >= 0) return memoryDifference(r, a, at);
    }
    return undefined;
  }

  /** Records the first divergence with both machines' snapshots, and stops comparing. */
  private diverge(index: number, b: GuestEvent | undefined, e: GuestEvent, d: ViewDifference): void {
    const refSnapshot = snapshot(this.ref!.m);
    this.first = {
      index,
      retired: (b ?? e).retired,
      field: d.field,
      bare: d.a,
      actual: d.b,
      ...(b ? { bareEvent: { ...b, snapshot: refSnapshot } } : {}),
      actualEvent: { ...e, snapshot: snapshot(this.actual) },
    };
    this.close();
  }

  /** Detaches the logs and drops the reference machine. */
  private close(): void {
    this.refLog.close();
    this.actLog.close();
    this.ref = undefined;
  }
}

/**
 * Equivalence of two bare runs of guests `reference` and `actual` (same memory size), event by
 * event: the equivalence checker on its own, e.g. to show it failing on different initial states.
 */
export function compareBare(reference: GuestImage, actual: GuestImage): EquivalenceVerdict {
  const run = new BareReference(actual);
  const lockstep = new Lockstep(reference, run.m);
  for (let e = run.next(); e; e = run.next()) lockstep.onEvent(e);
  return lockstep.verdict();
}
