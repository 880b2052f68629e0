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
//
// TLB nondeterminism. A paging guest that changes its tables and uses the old translation
// before invalidating may legitimately see either translation: the bare TLB picks one member of
// the allowed set, a VMM's shadow tables may pick another. So for a paging reference a snapshot
// of it is kept at every agreed event (a checkpoint: its memory copy-on-write, so it costs the
// frames written after it),
// and at a divergence the checker tries one more member of the allowed set: the bare machine
// restored from that snapshot in the other TLB mode (fresh-pager.ts) — walking the tables as
// they are on every access if it used its TLB, using its TLB again if it walked fresh. If that
// machine reaches the same event with the same view, the point is recorded as diverged within
// TLB nondeterminism, that machine becomes the reference, and checking goes on; otherwise it is
// a divergence. The explanation is itself a bare run, so it trusts nothing the VMM did; it is
// sound but not complete: a run whose choices between two events are neither all the TLB's nor
// all fresh is reported divergent.

import type { Machine } from '../isa/machine.js';
import { checkpoint, compareScalars, consoleDifference, liveScalars, memoryDifference, restore, snapshot, type MachineSnapshot, type ViewDifference } from '../isa/snapshot.js';
import { mergeRanges, type PhysicalMemory, type WriteTracker } from '../mmu/memory.js';
import { BareReference } from './bare.js';
import { FreshPager } from './fresh-pager.js';
import type { Divergence, EquivalenceVerdict } from './checks.js';
import type { GuestEvent } from './events.js';
import type { GuestImage } from './guest.js';

/** A one-line name of an event (or its absence) for an 'event' divergence. */
export function describeEvent(e: GuestEvent | undefined): string {
  return e ? `${e.kind}${e.cause === undefined ? '' : ` (cause ${e.cause})`} at ${e.retired}` : 'no event';
}

/** At most this many points are explained by TLB nondeterminism before a divergence is reported. */
export const MAX_TLB_POINTS = 1024;

export class Lockstep {
  private ref: BareReference | undefined;
  private refLog: WriteTracker;
  private readonly actLog: WriteTracker;
  /** the first comparison looks at every frame present in either memory */
  private full = true;
  /** console characters known to agree */
  private consoleAgreed = 0;
  private events = 0;
  private compared = 0;
  private first: Divergence | undefined;
  /** the reference at the last agreed event, kept when its machine has a TLB (see the header) */
  private agreed: MachineSnapshot | undefined;
  private tlbPoints = 0;
  /** whether the reference now walks fresh (after an odd number of points) */
  private fresh = false;
  private tlbFirst: Divergence | undefined;
  /** wall time spent checking (so that the VMM's own time per exit can leave it out) */
  seconds = 0;

  /** `actual` is the machine whose events will be reported to `onEvent`; `reference` its guest. */
  constructor(
    private readonly reference: GuestImage,
    private readonly actual: Machine,
  ) {
    this.ref = new BareReference(reference);
    this.refLog = this.ref.m.mem.trackWrites();
    this.actLog = actual.mem.trackWrites();
    if (this.ref.m.pager) this.agreed = checkpoint(this.ref.m);
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
    const d = this.eventDifference(b, e) ?? this.difference(ref.m, e.kind === 'end');
    if (d && !this.explainedByTlb(index, b, e, d)) {
      this.diverge(index, b, e, d);
      return;
    }
    this.compared++;
    if (e.kind === 'end') this.close();
    else if (this.agreed) this.agreed = checkpoint(this.ref!.m);
  }

  /** How the reference's event `b` differs from the checked run's `e` (kind, retired, cause), or undefined. */
  private eventDifference(b: GuestEvent | undefined, e: GuestEvent): ViewDifference | undefined {
    const same = b && b.kind === e.kind && b.retired === e.retired && b.cause === e.cause;
    return same ? undefined : { field: 'event', a: describeEvent(b), b: describeEvent(e) };
  }

  /**
   * The divergence `d` at event `index` is within TLB nondeterminism when the bare machine
   * restored at the last agreed event in the other TLB mode (fresh walks when the reference uses
   * its TLB, the TLB when it walks fresh; fresh-pager.ts) reaches `e` with the checked run's
   * view: it then becomes the reference, and the point is counted.
   */
  private explainedByTlb(index: number, b: GuestEvent | undefined, e: GuestEvent, d: ViewDifference): boolean {
    const agreed = this.agreed;
    const pager = this.reference.config.pager;
    if (!agreed || !pager || this.tlbPoints >= MAX_TLB_POINTS) return false;
    const fresh = !this.fresh;
    const m = restore(agreed, { ...this.reference.config, pager: (mem) => new FreshPager(pager(mem), fresh) });
    const alt = new BareReference(this.reference, m);
    const a = alt.next();
    const saved = { full: this.full, refLog: this.refLog };
    this.refLog = m.mem.trackWrites();
    this.full = true;
    if (this.eventDifference(a, e) ?? this.difference(m, e.kind === 'end')) {
      this.refLog.close();
      Object.assign(this, saved);
      return false;
    }
    saved.refLog.close();
    this.tlbFirst ??= this.divergence(index, b, e, d);
    this.tlbPoints++;
    this.fresh = fresh;
    this.ref = alt;
    return true;
  }

  /** The verdict so far: holds when nothing diverged and at least one event was compared. */
  verdict(): EquivalenceVerdict {
    const tlb = this.tlbFirst ? { tlbNondeterminism: { points: this.tlbPoints, first: this.tlbFirst } } : {};
    if (this.first) return { holds: false, compared: this.compared, first: this.first, ...tlb };
    if (this.compared === 0) return { holds: false, compared: 0, first: { index: 0, retired: 0, field: 'event', bare: 'nothing compared', actual: `${this.events} events` } };
    return { holds: true, compared: this.compared, ...tlb };
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
    this.first = this.divergence(index, b, e, d);
    this.close();
  }

  /** The divergence `d` at event `index` with both machines' snapshots now. */
  private divergence(index: number, b: GuestEvent | undefined, e: GuestEvent, d: ViewDifference): Divergence {
    const refSnapshot = snapshot(this.ref!.m);
    return {
      index,
      retired: (b ?? e).retired,
      field: d.field,
      bare: d.a,
      actual: d.b,
      ...(b ? { bareEvent: { ...b, snapshot: refSnapshot } } : {}),
      actualEvent: { ...e, snapshot: snapshot(this.actual) },
    };
  }

  /** Detaches the logs and drops the reference machine. */
  private close(): void {
    this.refLog.close();
    this.actLog.close();
    this.ref = undefined;
    this.agreed = undefined;
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
