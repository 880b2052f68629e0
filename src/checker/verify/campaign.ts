// What one theorem's guests did, guest by guest, and its reduction to the figures `verify`
// reports. A campaign's guests are numbered by position (0 .. runs-1); each position's outcome is
// plain data, computed wherever it runs — in this thread, a worker thread, or another machine's
// shard — so the reduction, always made in position order, gives the same figures however the
// positions were spread:
//
//   outcomes (any order, any place) --sort by position--> reduce, stopping after the first
//   diverging position when searching --> RunStats, and that position (the counterexample's)

import type { VmmKind } from '../../vmm/kinds.js';
import type { GuestRun } from '../../vmm/run.js';

/** The VMM a campaign runs its guests under: vmm, hvm, vmm2 (segment guests), nested, shadow-eager, shadow-lazy (paging guests). */
export type TheoremKind = VmmKind;

/** What the runs of one theorem's VMM measured. */
export interface RunStats {
  readonly kind: TheoremKind;
  /** guests run (refused ones not counted) */
  readonly runs: number;
  readonly refused: number;
  readonly refusal?: string;
  readonly equivalent: number;
  readonly safe: number;
  /** runs whose efficiency verdict held */
  readonly efficient: number;
  readonly retired: number;
  /** instructions the VMM ran in software without their trapping first, over all runs (an innocuous instruction not run directly) */
  readonly untrappedSoftware: number;
  /** exits over all runs, per 1,000 instructions retired */
  readonly exitsPer1000Overall: number;
  /** direct share over all runs, and its least and greatest per run */
  readonly directShare: { readonly overall: number; readonly min: number; readonly max: number };
  readonly exitsPer1000: { readonly min: number; readonly max: number };
}

/** One guest's run as the figures need it (absent for a guest the VMM refused). */
export interface RunRecord {
  readonly equivalent: boolean;
  readonly safe: boolean;
  readonly efficient: boolean;
  readonly retired: number;
  readonly direct: number;
  readonly untrapped: number;
  readonly exits: number;
  readonly directShare: number;
  readonly exitsPer1000: number;
}

/** What the guest at `position` did: refused (why), or run (its record, and whether it diverged). */
export interface GuestOutcome {
  readonly position: number;
  readonly refusal?: string;
  readonly run?: RunRecord;
  readonly diverges: boolean;
}

/** Whether a checked run behaves differently than bare (not equivalent) or breaks safety. */
export function diverges(r: GuestRun): boolean {
  return !r.checks!.equivalence.holds || !r.checks!.safety.holds;
}

/** The outcome of a checked run `r` at `position`. */
export function outcomeOf(position: number, r: GuestRun): GuestOutcome {
  const c = r.checks!;
  const e = r.efficiency!;
  const run: RunRecord = {
    equivalent: c.equivalence.holds,
    safe: c.safety.holds,
    efficient: c.efficiency.holds,
    retired: e.retired,
    direct: e.direct,
    untrapped: e.untrappedSoftware,
    exits: e.exits.total,
    directShare: e.directShare,
    exitsPer1000: e.exitsPer1000,
  };
  return { position, run, diverges: diverges(r) };
}

/**
 * The figures of `outcomes` in position order; with `stopAtFirst`, of the positions up to the
 * first that diverges (a search stops there). Returns that first diverging position, if any.
 */
export function reduceOutcomes(kind: TheoremKind, outcomes: readonly GuestOutcome[], stopAtFirst: boolean): { stats: RunStats; failing?: number } {
  const acc = new StatsAccumulator(kind);
  let failing: number | undefined;
  for (const o of [...outcomes].sort((a, b) => a.position - b.position)) {
    if (o.run) acc.add(o.run);
    else acc.refuse(o.refusal ?? 'refused');
    if (failing === undefined && o.diverges) failing = o.position;
    if (stopAtFirst && failing !== undefined) break;
  }
  return { stats: acc.result(), ...(failing === undefined ? {} : { failing }) };
}

class StatsAccumulator {
  private runs = 0;
  private refused = 0;
  private refusal: string | undefined;
  private equivalent = 0;
  private safe = 0;
  private efficient = 0;
  private retired = 0;
  private direct = 0;
  private untrapped = 0;
  private exitCount = 0;
  private share = { min: Infinity, max: -Infinity };
  private exits = { min: Infinity, max: -Infinity };

  constructor(private readonly kind: TheoremKind) {}

  refuse(why: string): void {
    this.refused++;
    this.refusal ??= why;
  }

  add(r: RunRecord): void {
    this.runs++;
    if (r.equivalent) this.equivalent++;
    if (r.safe) this.safe++;
    if (r.efficient) this.efficient++;
    this.retired += r.retired;
    this.direct += r.direct;
    this.untrapped += r.untrapped;
    this.exitCount += r.exits;
    this.share = { min: Math.min(this.share.min, r.directShare), max: Math.max(this.share.max, r.directShare) };
    this.exits = { min: Math.min(this.exits.min, r.exitsPer1000), max: Math.max(this.exits.max, r.exitsPer1000) };
  }

  result(): RunStats {
    const none = this.runs === 0;
    return {
      kind: this.kind,
      runs: this.runs,
      refused: this.refused,
      ...(this.refusal ? { refusal: this.refusal } : {}),
      equivalent: this.equivalent,
      safe: this.safe,
      efficient: this.efficient,
      retired: this.retired,
      untrappedSoftware: this.untrapped,
      exitsPer1000Overall: this.retired ? (1000 * this.exitCount) / this.retired : 0,
      directShare: { overall: this.retired ? this.direct / this.retired : 1, min: none ? 0 : this.share.min, max: none ? 0 : this.share.max },
      exitsPer1000: { min: none ? 0 : this.exits.min, max: none ? 0 : this.exits.max },
    };
  }
}
