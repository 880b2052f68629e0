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
// the allowed set, a VMM's shadow tables may pick another. So for a paging reference a
// checkpoint of it is kept at each of the last KEPT_CHECKPOINTS agreed events (its memory
// copy-on-write, so it costs the frames written after it), and at a divergence the checker tries
// other members of the allowed set: the bare machine restored from each checkpoint, latest
// first, in each other TLB mode (tlb-modes.ts: its TLB as it is, a fresh walk on every access,
// or a refill right after every invalidation), which must pass the later agreed events with the
// same views. If one reaches the diverging event with the checked run's view, the point is
// recorded as diverged within TLB nondeterminism, that machine becomes the reference, and
// checking goes on; otherwise it is a divergence. The explanation is itself a bare run, so it
// trusts nothing the VMM did; it is sound but not complete: a run whose choices since any kept
// checkpoint follow none of the modes throughout is reported divergent.

import type { Machine } from '../isa/machine.js';
import { checkpoint, compareScalars, compareViews, virtualView, consoleDifference, liveScalars, memoryDifference, restore, snapshot, type MachineSnapshot, type ViewDifference } from '../isa/snapshot.js';
import { mergeRanges, type PhysicalMemory, type WriteTracker } from '../mmu/memory.js';
import { BareReference } from './bare.js';
import { TLB_MODES, TlbModePager, type TlbMode } from './tlb-modes.js';
import type { Divergence, EquivalenceVerdict } from './checks.js';
import type { GuestEvent } from './events.js';
import type { GuestImage } from './guest.js';

/** A one-line name of an event (or its absence) for an 'event' divergence. */
export function describeEvent(e: GuestEvent | undefined): string {
  return e ? `${e.kind}${e.cause === undefined ? '' : ` (cause ${e.cause})`} at ${e.retired}` : 'no event';
}

/** At most this many points are explained by TLB nondeterminism before a divergence is reported. */
export const MAX_TLB_POINTS = 1024;
/** How many agreed events back an alternative reference may start from. */
export const KEPT_CHECKPOINTS = 32;

/** The reference's state right after an agreed event (undefined: the start). */
interface Checkpoint {
  readonly event: GuestEvent | undefined;
  readonly state: MachineSnapshot;
}

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
  /** guest instructions retired at the last agreed event (0: the start) */
  private agreed = 0;
  private first: Divergence | undefined;
  /** the reference at the last agreed events, oldest first (paging machines only; see the header) */
  private checkpoints: Checkpoint[] = [];
  private readonly paging: boolean;
  private tlbPoints = 0;
  /** how the reference's TLB now chooses among allowed translations */
  private mode: TlbMode = 'tlb';
  private tlbFirst: { readonly first: Divergence; readonly by: TlbMode } | undefined;
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
    this.paging = this.ref.m.pager !== undefined;
    this.keep(undefined);
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
    this.agreed = e.retired;
    if (e.kind === 'end') this.close();
    else this.keep(e);
  }

  /** Keeps the reference's state after agreed event `e` (undefined: the start), and drops the oldest beyond KEPT_CHECKPOINTS. */
  private keep(e: GuestEvent | undefined): void {
    if (!this.paging) return;
    this.checkpoints.push({ event: e, state: checkpoint(this.ref!.m) });
    if (this.checkpoints.length > KEPT_CHECKPOINTS) this.checkpoints.shift();
  }

  /** How the reference's event `b` differs from the checked run's `e` (kind, retired, cause), or undefined. */
  private eventDifference(b: GuestEvent | undefined, e: GuestEvent | undefined): ViewDifference | undefined {
    const same = b && e && b.kind === e.kind && b.retired === e.retired && b.cause === e.cause;
    return same ? undefined : { field: 'event', a: describeEvent(b), b: describeEvent(e) };
  }

  /**
   * The divergence `d` at event `index` is within TLB nondeterminism when the bare machine
   * restored at one of the last agreed events in another TLB mode (tlb-modes.ts) passes the
   * later agreed events with the same views and reaches `e` with the checked run's view: that
   * machine then becomes the reference, and the point is counted.
   */
  private explainedByTlb(index: number, b: GuestEvent | undefined, e: GuestEvent, d: ViewDifference): boolean {
    const pager = this.reference.config.pager;
    const kept = this.checkpoints;
    if (!pager || this.tlbPoints >= MAX_TLB_POINTS) return false;
    for (let from = kept.length - 1; from >= 0; from--) {
      for (const mode of TLB_MODES) {
        if (mode === this.mode) continue;
        const m = restore(kept[from].state, { ...this.reference.config, pager: (mem) => new TlbModePager(pager(mem), mode) });
        const alt = new BareReference(this.reference, m);
        if (!kept.slice(from + 1).every((k) => this.replays(alt, k)) || !this.agreesWith(alt, e)) continue;
        this.tlbFirst ??= { first: this.divergence(index, b, e, d), by: mode };
        this.tlbPoints++;
        this.mode = mode;
        this.ref = alt;
        return true;
      }
    }
    return false;
  }

  /** Whether `alt`'s next event is checkpoint `k`'s, with the same view. */
  private replays(alt: BareReference, k: Checkpoint): boolean {
    const a = alt.next();
    return !!a && !this.eventDifference(a, k.event) && !compareViews(virtualView(checkpoint(alt.m)), virtualView(k.state));
  }

  /** Whether `alt`, restored at the last agreed event, reaches `e` with the checked run's view; if so its write log replaces the reference's. */
  private agreesWith(alt: BareReference, e: GuestEvent): boolean {
    const a = alt.next();
    const saved = { full: this.full, refLog: this.refLog };
    this.refLog = alt.m.mem.trackWrites();
    this.full = true;
    if (this.eventDifference(a, e) ?? this.difference(alt.m, e.kind === 'end')) {
      this.refLog.close();
      Object.assign(this, saved);
      return false;
    }
    saved.refLog.close();
    return true;
  }

  /** The verdict so far: holds when nothing diverged and at least one event was compared. */
  verdict(): EquivalenceVerdict {
    const tlb = this.tlbFirst ? { tlbNondeterminism: { points: this.tlbPoints, ...this.tlbFirst } } : {};
    if (this.first) return { holds: false, compared: this.compared, first: this.first, ...tlb };
    if (this.compared === 0) return { holds: false, compared: 0, first: { index: 0, retired: 0, agreed: 0, field: 'event', bare: 'nothing compared', actual: `${this.events} events` } };
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
      agreed: this.agreed,
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
    this.checkpoints = [];
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
