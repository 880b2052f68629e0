// Theorems 1–3 by experiment. The preconditions come from the classifier (classify.ts: classes
// by executing every instruction); the verdicts from runs of generated guests (generate.ts)
// under the VMM each theorem builds — Theorem 1 the trap-and-emulate VMM, Theorem 3 the hybrid
// VMM, Theorem 2 the assembly VMM under the VMM — checked by the equivalence, safety and
// efficiency checkers, which watch the runs and know nothing of the classes:
//
//   precondition holds   run N guests and confirm: every run equivalent and safe, efficiency
//                        measured (a run that diverges is a counterexample all the same);
//   precondition fails   search N guests for one that behaves differently under that VMM than
//                        bare; shrink it (shrink.ts), run it again, find the instruction where
//                        the states first differ (locateDivergence) — or "none found in N runs",
//                        with what the runs measured.
//
// Theorem 2 needs Theorem 1's precondition (and a VMM without timing dependence, which this one
// is); it is confirmed where the assembly VMM can host the profile (whyNot says why not).

import { disassemble } from '../../asm/disassembler.js';
import type { Profile } from '../../isa/profile.js';
import { summarizeDivergence, type DivergenceSummary } from '../../vmm/checks.js';
import type { GuestImage } from '../../vmm/guest.js';
import { locateDivergence } from '../../vmm/localize.js';
import { runGuest, whyNot, type GuestRun } from '../../vmm/run.js';
import { runVmm2 } from '../../vmm/vmm2.js';
import { classify, DEFAULT_SEED, type Classification } from '../classify/classify.js';
import { generateGuest, guestImage, guestText, kernelSource, planSize, userSource, type GuestPlan } from './generate.js';
import { paletteOf, type Palette, type PaletteOptions } from './palette.js';
import { MAX_SHRINK_TRIES, shrinkGuest, type Shrinker } from './shrink.js';

export const DEFAULT_RUNS = 50;
export const MAX_RUNS = 10_000;

export type TheoremKey = 't1' | 't2' | 't3';
export type TheoremKind = 'vmm' | 'hvm' | 'vmm2';

export const THEOREMS: readonly { readonly key: TheoremKey; readonly kind: TheoremKind; readonly claim: string }[] = [
  { key: 't1', kind: 'vmm', claim: 'a VMM can be built if every sensitive instruction is privileged' },
  { key: 't2', kind: 'vmm2', claim: 'the VMM runs under itself if Theorem 1 holds and it has no timing dependence' },
  { key: 't3', kind: 'hvm', claim: 'a hybrid VMM can be built if every user-sensitive instruction is privileged' },
];

export interface VerifyOptions {
  /** guests per theorem, 1 .. MAX_RUNS */
  readonly runs?: number;
  readonly seed?: number;
  /** the classifier's states per instruction (its default when absent) */
  readonly states?: number;
  /** a guest run first under every VMM (verify of a scenario: its own guest) */
  readonly first?: GuestImage;
  readonly palette?: PaletteOptions;
  /** replaces the shrinker (tests) */
  readonly shrink?: Shrinker;
  /** told after every run */
  readonly progress?: (theorem: TheoremKey, done: number, total: number) => void;
}

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

export interface Confirmation extends RunStats {
  /**
   * every run equivalent and safe, and (for the VMMs that interpret nothing) no instruction run in
   * software without a trap: the innocuous ones all ran directly. The direct share is the guests'
   * mix's, reported beside it (efficient: runs with at least MIN_DIRECT_SHARE of it).
   */
  readonly confirmed: boolean;
}

export interface Search extends RunStats {
  readonly found: boolean;
}

/** A guest that behaves differently under a VMM than bare, shrunk. */
export interface Counterexample {
  readonly kind: TheoremKind;
  /** which guest: the given one (a scenario's), or generated guest `index` of `seed` */
  readonly source: 'given' | 'generated';
  readonly index: number;
  readonly seed: number;
  /** generated guests: the shrunk plan and its sources */
  readonly plan?: GuestPlan;
  readonly kernel?: string;
  readonly user?: string;
  readonly assembly?: string;
  readonly lines: number;
  readonly linesBefore: number;
  readonly shrinkTries: number;
  /** the first differing event (equivalence), from the shrunk guest's re-run */
  readonly divergence?: DivergenceSummary;
  /** the first safety violation, if the run was not safe */
  readonly unsafe?: string;
  /** the instruction after which the states first differ (locateDivergence), when found */
  readonly instruction?: { readonly retired: number; readonly pc: number; readonly text?: string; readonly difference: string };
}

export interface TheoremVerdict {
  readonly theorem: TheoremKey;
  readonly claim: string;
  readonly kind: TheoremKind;
  readonly precondition: boolean;
  readonly violators: readonly string[];
  readonly confirmation: Confirmation | null;
  readonly search: Search | null;
  readonly counterexample: Counterexample | null;
  /** why no runs were made */
  readonly note?: string;
  /** the precondition holds and its runs confirmed it */
  readonly established: boolean;
}

export interface Verification {
  readonly profile: string;
  readonly seed: number;
  readonly runs: number;
  readonly classification: Classification;
  readonly theorems: Readonly<Record<TheoremKey, TheoremVerdict>>;
}

/** Theorems 1–3 for `p` (see the header). Throws RangeError for options out of range. */
export function verify(p: Profile, options: VerifyOptions = {}): Verification {
  const runs = options.runs ?? DEFAULT_RUNS;
  if (!Number.isInteger(runs) || runs < 1 || runs > MAX_RUNS) throw new RangeError(`verify: runs ${runs} is not a whole number from 1 to ${MAX_RUNS}`);
  const seed = options.seed ?? DEFAULT_SEED;
  const classification = classify(p, { seed, ...(options.states === undefined ? {} : { states: options.states }) });
  const palette = paletteOf(p, classification, options.palette);
  const ctx: Context = { p, palette, seed, runs, options };
  const t1 = classification.theorems.t1;
  const t3 = classification.theorems.t3;
  const theorems = {
    t1: theorem(ctx, THEOREMS[0], t1.precondition, t1.violators),
    t2: theorem(ctx, THEOREMS[1], t1.precondition, t1.violators),
    t3: theorem(ctx, THEOREMS[2], t3.precondition, t3.violators),
  };
  return { profile: p.name, seed, runs, classification, theorems };
}

interface Context {
  readonly p: Profile;
  readonly palette: Palette;
  readonly seed: number;
  readonly runs: number;
  readonly options: VerifyOptions;
}

type Spec = (typeof THEOREMS)[number];

function theorem(ctx: Context, t: Spec, precondition: boolean, violators: readonly string[]): TheoremVerdict {
  const base = { theorem: t.key, claim: t.claim, kind: t.kind, precondition, violators };
  if (t.key === 't2' && !precondition) {
    return { ...base, confirmation: null, search: null, counterexample: null, note: "Theorem 1's precondition fails, so Theorem 2 has nothing to build on", established: false };
  }
  const c = campaign(ctx, t, !precondition);
  if (c.stats.runs === 0) return { ...base, confirmation: null, search: null, counterexample: null, note: `${t.kind} cannot host these guests: ${c.stats.refusal}`, established: false };
  const counterexample = c.failing ? counterexampleOf(ctx, t.kind, c.failing) : null;
  if (!precondition) return { ...base, confirmation: null, search: { ...c.stats, found: counterexample !== null }, counterexample, established: false };
  const s = c.stats;
  const confirmed = s.equivalent === s.runs && s.safe === s.runs && (t.kind === 'hvm' || s.untrappedSoftware === 0);
  return { ...base, confirmation: { ...s, confirmed }, search: null, counterexample, established: confirmed };
}

/** A guest of the campaign: generated guest `index`, or the given one. */
interface Candidate {
  readonly index: number;
  readonly plan?: GuestPlan;
  readonly image: GuestImage;
}

/** Runs `ctx.runs` guests under `t.kind`; with `stopAtFirst`, until the first that diverges. */
function campaign(ctx: Context, t: Spec, stopAtFirst: boolean): { stats: RunStats; failing?: Candidate } {
  const acc = new StatsAccumulator(t.kind);
  let failing: Candidate | undefined;
  for (let i = 0; i < ctx.runs && !(stopAtFirst && failing); i++) {
    const c = candidate(ctx, i);
    const why = whyNot(t.kind, c.image);
    if (why) {
      acc.refuse(why);
    } else {
      const r = runAs(t.kind, c.image);
      acc.add(r);
      if (!failing && diverges(r)) failing = c;
    }
    ctx.options.progress?.(t.key, i + 1, ctx.runs);
  }
  return { stats: acc.result(), ...(failing ? { failing } : {}) };
}

function candidate(ctx: Context, i: number): Candidate {
  const given = ctx.options.first;
  if (given && i === 0) return { index: -1, image: given };
  const index = given ? i - 1 : i;
  const plan = generateGuest(ctx.palette, ctx.seed, index);
  return { index, plan, image: guestImage(plan, ctx.p, `guest-${index}`) };
}

/** One checked run of `g` as `kind` (vmm2 with a trap log that keeps every trap of its budget). */
export function runAs(kind: TheoremKind, g: GuestImage): GuestRun {
  if (kind === 'vmm2') return runVmm2(g, { logCapacity: 2 * g.budget + 8 });
  return runGuest(kind, g);
}

/** Whether a checked run behaves differently than bare (not equivalent) or breaks safety. */
export function diverges(r: GuestRun): boolean {
  return !r.checks!.equivalence.holds || !r.checks!.safety.holds;
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

  add(r: GuestRun): void {
    const c = r.checks!;
    const e = r.efficiency!;
    this.runs++;
    if (c.equivalence.holds) this.equivalent++;
    if (c.safety.holds) this.safe++;
    if (c.efficiency.holds) this.efficient++;
    this.retired += e.retired;
    this.direct += e.direct;
    this.untrapped += e.untrappedSoftware;
    this.exitCount += e.exits.total;
    this.share = { min: Math.min(this.share.min, e.directShare), max: Math.max(this.share.max, e.directShare) };
    this.exits = { min: Math.min(this.exits.min, e.exitsPer1000), max: Math.max(this.exits.max, e.exitsPer1000) };
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

/**
 * The counterexample of a diverging guest: shrunk (generated guests), run again — a shrunk guest
 * that no longer diverges is a broken shrinker, and throws — and its first differing instruction.
 */
function counterexampleOf(ctx: Context, kind: TheoremKind, c: Candidate): Counterexample {
  const fails = (g: GuestPlan) => diverges(runAs(kind, guestImage(g, ctx.p)));
  const shrunk = c.plan ? (ctx.options.shrink ?? shrinkGuest)(c.plan, fails, MAX_SHRINK_TRIES) : undefined;
  const image = shrunk ? guestImage(shrunk.plan, ctx.p, `counterexample-${c.index}`) : c.image;
  const r = runAs(kind, image);
  if (!diverges(r)) throw new Error(`verify: the shrunk guest ${c.index} of seed ${ctx.seed} does not diverge under ${kind} when run again: the shrinker kept a guest that does not fail`);
  const eq = r.checks!.equivalence;
  const divergence = eq.first ? summarizeDivergence(eq.first) : undefined;
  const located = eq.first && kind !== 'vmm2' ? locateDivergence(kind, image, {}, eq.first.agreed, eq.first.retired) : undefined;
  const plan = shrunk?.plan;
  return {
    kind,
    source: c.plan ? 'generated' : 'given',
    index: c.index,
    seed: ctx.seed,
    ...(plan ? { plan, kernel: kernelSource(plan, ctx.p), user: userSource(plan), assembly: guestText(plan, ctx.p) } : {}),
    lines: plan ? planSize(plan) : 0,
    linesBefore: c.plan ? planSize(c.plan) : 0,
    shrinkTries: shrunk?.tries ?? 0,
    ...(divergence ? { divergence } : {}),
    ...(r.checks!.safety.first ? { unsafe: r.checks!.safety.first.detail } : {}),
    ...(located
      ? {
          instruction: {
            retired: located.retired,
            pc: located.pc,
            ...(located.words ? { text: disassemble(located.words[0], located.words[1], ctx.p) } : {}),
            difference: `${located.difference.field}: bare ${String(located.difference.a)}, under the VMM ${String(located.difference.b)}`,
          },
        }
      : {}),
  };
}
