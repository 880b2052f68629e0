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
//
// With `paging` (a geometry's name) the classes come from the classifier's paging mode and the
// guests are paging guests (generate.ts, paging-guest.ts). Theorem 1's VMM is then the
// trap-and-emulate VMM over each memory virtualization that hosts paging guests — nested paging,
// shadow paging eager and lazy (PAGING_KINDS) — one campaign per kind, all of which must confirm;
// Theorems 2 and 3 keep their VMMs (vmm2, hvm), which host segment guests only: whyNot refuses
// every paging guest, and the verdict says so in its note (nothing is run, nothing assumed).
//
// Guests are numbered by position; the guest at a position depends only on (seed, position), and
// the figures are reduced from per-position outcomes in position order (campaign.ts). So the
// positions may run here (verify), over worker threads (verifySpread, pool.ts), or as shards
// (`shard`: the positions i with i % count == index - 1) whose campaigns mergeCampaigns joins:
// every way gives the same verdicts, the same first counterexample included.

import { disassemble } from '../../asm/disassembler.js';
import type { Profile } from '../../isa/profile.js';
import { summarizeDivergence, type DivergenceSummary } from '../../vmm/checks.js';
import type { GuestImage } from '../../vmm/guest.js';
import { interpretsSupervisor } from '../../vmm/kinds.js';
import { locateDivergence } from '../../vmm/localize.js';
import { runGuest, whyNot, type GuestRun } from '../../vmm/run.js';
import { runVmm2 } from '../../vmm/vmm2.js';
import { classify, DEFAULT_SEED, type Classification } from '../classify/classify.js';
import { diverges, outcomeOf, reduceOutcomes, type GuestOutcome, type RunStats, type TheoremKind } from './campaign.js';
import { generateGuest, guestImage, guestText, kernelSource, planSize, userSource, type GuestPlan } from './generate.js';
import { paletteData, paletteOf, type Palette, type PaletteOptions } from './palette.js';
import { GuestPool, type ProfileRef } from './pool.js';
import { MAX_SHRINK_TRIES, shrinkGuest, type Shrinker } from './shrink.js';

export const DEFAULT_RUNS = 50;
export const MAX_RUNS = 10_000;

export type TheoremKey = 't1' | 't2' | 't3';
export type { RunStats, TheoremKind };
export { diverges };

export const THEOREMS: readonly { readonly key: TheoremKey; readonly kind: TheoremKind; readonly claim: string }[] = [
  { key: 't1', kind: 'vmm', claim: 'a VMM can be built if every sensitive instruction is privileged' },
  { key: 't2', kind: 'vmm2', claim: 'the VMM runs under itself if Theorem 1 holds and it has no timing dependence' },
  { key: 't3', kind: 'hvm', claim: 'a hybrid VMM can be built if every user-sensitive instruction is privileged' },
];

/** The kinds each theorem's guests run under when they are paging guests (segment guests: THEOREMS' kind). */
export const PAGING_KINDS: Readonly<Record<TheoremKey, readonly TheoremKind[]>> = {
  t1: ['nested', 'shadow-eager', 'shadow-lazy'],
  t2: ['vmm2'],
  t3: ['hvm'],
};

/** The kinds theorem `key` runs its guests under: with paging PAGING_KINDS', else its one VMM. */
export function kindsOf(key: TheoremKey, paging: boolean): readonly TheoremKind[] {
  return paging ? PAGING_KINDS[key] : [THEOREMS.find((t) => t.key === key)!.kind];
}

/** A deterministic slice of the positions: those i with i % count == index - 1 (index 1 .. count). */
export interface Shard {
  readonly index: number;
  readonly count: number;
}

export interface VerifyOptions {
  /** guests per theorem, 1 .. MAX_RUNS */
  readonly runs?: number;
  readonly seed?: number;
  /** a preset geometry's name: classes with paging on, paging guests under nested and shadow paging */
  readonly paging?: string;
  /** the classifier's states per instruction (its default when absent) */
  readonly states?: number;
  /** a guest run first under every VMM (verify of a scenario: its own guest) */
  readonly first?: GuestImage;
  readonly palette?: PaletteOptions;
  /** replaces the shrinker (tests) */
  readonly shrink?: Shrinker;
  /** run only this shard's positions (the verdicts are then partial: merge the campaigns) */
  readonly shard?: Shard;
  /** told after every run */
  readonly progress?: (theorem: TheoremKey, done: number, total: number, kind: TheoremKind) => void;
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

/** What the guests of one theorem did under one kind. */
export interface KindVerdict {
  readonly kind: TheoremKind;
  readonly confirmation: Confirmation | null;
  readonly search: Search | null;
  readonly counterexample: Counterexample | null;
  /** why no runs were made */
  readonly note?: string;
  /** the precondition holds and these runs confirmed it */
  readonly established: boolean;
}

/**
 * A theorem's verdict. Its kind, confirmation, search, counterexample and note are those of the
 * kind that decides it — the first kind that did not confirm or found a counterexample, else
 * the first — and, where it ran under several kinds (Theorem 1 under paging), `under` holds
 * every kind's, in PAGING_KINDS' order.
 */
export interface TheoremVerdict extends KindVerdict {
  readonly theorem: TheoremKey;
  readonly claim: string;
  readonly precondition: boolean;
  readonly violators: readonly string[];
  /** the precondition holds and every kind's runs confirmed it */
  readonly established: boolean;
  readonly under?: readonly KindVerdict[];
}

export interface Verification {
  readonly profile: string;
  readonly seed: number;
  readonly runs: number;
  /** the paging geometry's name (paging guests), or null (segment guests) */
  readonly paging: string | null;
  readonly classification: Classification;
  readonly theorems: Readonly<Record<TheoremKey, TheoremVerdict>>;
  /** what the verdicts were reduced from (a shard's part of them, for mergeCampaigns): one campaign per kind, or null (not run) */
  readonly campaigns: Readonly<Record<TheoremKey, Campaigns>>;
}

/** A theorem's campaigns, one per kind (kindsOf's order), or null when it runs no guests. */
export type Campaigns = readonly Campaign[] | null;

/** One theorem's guests as run under one kind: every outcome, and the counterexample of the first position that diverged. */
export interface Campaign {
  readonly kind: TheoremKind;
  readonly stopAtFirst: boolean;
  readonly outcomes: readonly GuestOutcome[];
  readonly counterexample: { readonly position: number; readonly value: Counterexample } | null;
}

/** Theorems 1–3 for `p`, every guest run in this thread (see the header). Throws RangeError for options out of range. */
export function verify(p: Profile, options: VerifyOptions = {}): Verification {
  const ctx = prepare(p, options);
  const campaigns = byTheorem(ctx, (t, kind, stopAtFirst) => finish(ctx, kind, stopAtFirst, runHere(ctx, t, kind, positionsOf(ctx), stopAtFirst)));
  return conclude(ctx, campaigns);
}

/**
 * verify() with the generated guests spread over `workers` worker threads (the profile rebuilt
 * in each from `ref`, the palette sent, never classified again); the same result as verify().
 */
export async function verifySpread(p: Profile, ref: ProfileRef, workers: number, options: VerifyOptions = {}): Promise<Verification> {
  const ctx = prepare(p, options);
  const pool = await GuestPool.start(workers, { profile: ref, seed: ctx.seed, offset: ctx.options.first ? 1 : 0, palette: paletteData(ctx.palette) });
  try {
    const campaigns: Partial<Record<TheoremKey, Campaigns>> = {};
    for (const t of THEOREMS) {
      const stopAtFirst = planOf(ctx, t);
      if (stopAtFirst === undefined) {
        campaigns[t.key] = null;
        continue;
      }
      const out: Campaign[] = [];
      for (const kind of kindsOf(t.key, ctx.paging !== null)) {
        const positions = positionsOf(ctx);
        const here = ctx.options.first && positions[0] === 0 ? runHere(ctx, t, kind, [0], stopAtFirst) : [];
        const stop = stopAtFirst && here.some((o) => o.diverges);
        const rest = stop ? [] : await pool.run(kind, positions.filter((i) => i !== 0 || !ctx.options.first), stopAtFirst, (done) => ctx.options.progress?.(t.key, here.length + done, positions.length, kind));
        out.push(finish(ctx, kind, stopAtFirst, [...here, ...rest]));
      }
      campaigns[t.key] = out;
    }
    return conclude(ctx, campaigns as Record<TheoremKey, Campaigns>);
  } finally {
    await pool.close();
  }
}

interface Context {
  readonly p: Profile;
  readonly palette: Palette;
  readonly seed: number;
  readonly runs: number;
  readonly paging: string | null;
  readonly classification: Classification;
  readonly options: VerifyOptions;
}

type Spec = (typeof THEOREMS)[number];

function prepare(p: Profile, options: VerifyOptions): Context {
  const runs = options.runs ?? DEFAULT_RUNS;
  if (!Number.isInteger(runs) || runs < 1 || runs > MAX_RUNS) throw new RangeError(`verify: runs ${runs} is not a whole number from 1 to ${MAX_RUNS}`);
  const sh = options.shard;
  if (sh && !(Number.isInteger(sh.count) && Number.isInteger(sh.index) && sh.count >= 1 && sh.index >= 1 && sh.index <= sh.count)) throw new RangeError(`verify: shard ${sh.index}/${sh.count} is not k/n with 1 <= k <= n`);
  const seed = options.seed ?? DEFAULT_SEED;
  const classification = classify(p, { seed, ...(options.states === undefined ? {} : { states: options.states }), ...(options.paging === undefined ? {} : { paging: options.paging }) });
  return { p, palette: paletteOf(p, classification, options.palette), seed, runs, paging: options.paging ?? null, classification, options };
}

/** Whether theorem `t` runs guests, and how: undefined (it does not), true (a search), false (a confirmation). */
function planOf(ctx: Context, t: Spec): boolean | undefined {
  const pre = preconditionOf(ctx.classification, t);
  if (t.key === 't2' && !pre.precondition) return undefined;
  return !pre.precondition;
}

function preconditionOf(c: Pick<Classification, 'theorems'>, t: Spec): { precondition: boolean; violators: readonly string[] } {
  return t.key === 't3' ? c.theorems.t3 : c.theorems.t1;
}

function byTheorem(ctx: Context, run: (t: Spec, kind: TheoremKind, stopAtFirst: boolean) => Campaign): Record<TheoremKey, Campaigns> {
  const out: Partial<Record<TheoremKey, Campaigns>> = {};
  for (const t of THEOREMS) {
    const stopAtFirst = planOf(ctx, t);
    out[t.key] = stopAtFirst === undefined ? null : kindsOf(t.key, ctx.paging !== null).map((kind) => run(t, kind, stopAtFirst));
  }
  return out as Record<TheoremKey, Campaigns>;
}

/** The positions this run covers, ascending: all of 0 .. runs-1, or the shard's. */
function positionsOf(ctx: Context): number[] {
  const sh = ctx.options.shard;
  return Array.from({ length: ctx.runs }, (_, i) => i).filter((i) => !sh || i % sh.count === sh.index - 1);
}

/** Runs `positions` in order in this thread under `kind`; with `stopAtFirst`, until one diverges. */
function runHere(ctx: Context, t: Spec, kind: TheoremKind, positions: readonly number[], stopAtFirst: boolean): GuestOutcome[] {
  const out: GuestOutcome[] = [];
  for (const i of positions) {
    const o = runPosition({ ...ctx, given: ctx.options.first }, kind, i);
    out.push(o);
    ctx.options.progress?.(t.key, out.length, positions.length, kind);
    if (stopAtFirst && o.diverges) break;
  }
  return out;
}

/** What generates and runs the guest at a position (here or in a worker thread). */
export interface GuestSource {
  readonly p: Profile;
  readonly palette: Palette;
  readonly seed: number;
  /** the given guest, at position 0 (generated guest i then at position i + 1) */
  readonly given?: GuestImage;
  /** in a worker: 1 when position 0 is a given guest run elsewhere */
  readonly offset?: number;
}

/** The outcome of the guest at `position` under `kind`. */
export function runPosition(src: GuestSource, kind: TheoremKind, position: number): GuestOutcome {
  const c = candidate(src, position);
  const why = whyNot(kind, c.image);
  return why ? { position, refusal: why, diverges: false } : outcomeOf(position, runAs(kind, c.image));
}

/** A guest of the campaign: generated guest `index`, or the given one. */
interface Candidate {
  readonly index: number;
  readonly plan?: GuestPlan;
  readonly image: GuestImage;
}

function candidate(src: GuestSource, position: number): Candidate {
  if (src.given && position === 0) return { index: -1, image: src.given };
  const index = position - (src.given ? 1 : (src.offset ?? 0));
  const plan = generateGuest(src.palette, src.seed, index);
  return { index, plan, image: guestImage(plan, src.p, `guest-${index}`) };
}

/** A campaign from its outcomes under `kind`: the first diverging position's counterexample made (shrunk, located). */
function finish(ctx: Context, kind: TheoremKind, stopAtFirst: boolean, outcomes: readonly GuestOutcome[]): Campaign {
  const { failing } = reduceOutcomes(kind, outcomes, stopAtFirst);
  const counterexample = failing === undefined ? null : { position: failing, value: counterexampleOf(ctx, kind, candidate({ ...ctx, given: ctx.options.first }, failing)) };
  return { kind, stopAtFirst, outcomes, counterexample };
}

function conclude(ctx: Context, campaigns: Readonly<Record<TheoremKey, Campaigns>>): Verification {
  return { profile: ctx.p.name, seed: ctx.seed, runs: ctx.runs, paging: ctx.paging, classification: ctx.classification, theorems: verdictsOf(ctx.classification, campaigns), campaigns };
}

/** Each theorem's verdict from the classification's preconditions and its campaigns (whole, or merged from shards). */
export function verdictsOf(c: Pick<Classification, 'theorems'>, campaigns: Readonly<Record<TheoremKey, Campaigns>>): Record<TheoremKey, TheoremVerdict> {
  const out: Partial<Record<TheoremKey, TheoremVerdict>> = {};
  for (const t of THEOREMS) out[t.key] = verdictOf(t, preconditionOf(c, t), campaigns[t.key]);
  return out as Record<TheoremKey, TheoremVerdict>;
}

/** A theorem's verdict from its kinds' (see TheoremVerdict: the deciding kind's fields, `under` with several kinds). */
function verdictOf(t: Spec, pre: { precondition: boolean; violators: readonly string[] }, campaigns: Campaigns): TheoremVerdict {
  const { precondition, violators } = pre;
  const base = { theorem: t.key, claim: t.claim, precondition, violators };
  if (!campaigns) return { ...base, kind: t.kind, confirmation: null, search: null, counterexample: null, note: "Theorem 1's precondition fails, so Theorem 2 has nothing to build on", established: false };
  const kinds = campaigns.map((c) => kindVerdict(t.key, precondition, c));
  const deciding = kinds.find((k) => k.counterexample !== null || (k.confirmation !== null && !k.confirmation.confirmed)) ?? kinds[0];
  return { ...base, ...deciding, established: kinds.every((k) => k.established), ...(kinds.length > 1 ? { under: kinds } : {}) };
}

/** What campaign `c` of theorem `key` shows under its kind: a confirmation (the precondition holds), a search, or a note (every guest refused). */
function kindVerdict(key: TheoremKey, precondition: boolean, c: Campaign): KindVerdict {
  const { kind } = c;
  const { stats: s, failing } = reduceOutcomes(kind, c.outcomes, !precondition);
  if (s.runs === 0) return { kind, confirmation: null, search: null, counterexample: null, note: `${kind} cannot host these guests: ${s.refusal}`, established: false };
  const ce = c.counterexample;
  if (failing !== undefined && ce?.position !== failing) throw new Error(`verify: the campaign of ${key} under ${kind} has no counterexample for its first diverging position ${failing}`);
  const counterexample = failing === undefined ? null : ce!.value;
  if (!precondition) return { kind, confirmation: null, search: { ...s, found: counterexample !== null }, counterexample, established: false };
  const confirmed = s.equivalent === s.runs && s.safe === s.runs && (interpretsSupervisor(kind) || s.untrappedSoftware === 0);
  return { kind, confirmation: { ...s, confirmed }, search: null, counterexample, established: confirmed };
}

/**
 * The campaigns of shards 1 .. n of one verification joined, kind by kind: all outcomes, and the
 * counterexample of the lowest diverging position (each shard made its own first's; verdictsOf
 * keeps the one it needs).
 */
export function mergeCampaigns(parts: readonly Readonly<Record<TheoremKey, Campaigns>>[]): Record<TheoremKey, Campaigns> {
  const out: Partial<Record<TheoremKey, Campaigns>> = {};
  for (const t of THEOREMS) {
    const cs = parts.map((x) => x[t.key]).filter((x): x is readonly Campaign[] => x !== null);
    out[t.key] = cs.length ? cs[0].map((first, j) => mergeKind(first.kind, cs.map((c) => c[j]))) : null;
  }
  return out as Record<TheoremKey, Campaigns>;
}

/** One kind's campaigns of several shards joined; throws when a shard ran another kind at that place. */
function mergeKind(kind: TheoremKind, cs: readonly (Campaign | undefined)[]): Campaign {
  const parts = cs.map((c) => {
    if (c?.kind !== kind) throw new Error(`mergeCampaigns: a shard ran ${c?.kind ?? 'nothing'} where another ran ${kind}`);
    return c;
  });
  const found = parts.flatMap((c) => (c.counterexample ? [c.counterexample] : [])).sort((a, b) => a.position - b.position);
  return { kind, stopAtFirst: parts[0].stopAtFirst, outcomes: parts.flatMap((c) => c.outcomes).sort((a, b) => a.position - b.position), counterexample: found[0] ?? null };
}

/** One checked run of `g` as `kind` (vmm2 with a trap log that keeps every trap of its budget). */
export function runAs(kind: TheoremKind, g: GuestImage): GuestRun {
  if (kind === 'vmm2') return runVmm2(g, { logCapacity: 2 * g.budget + 8 });
  return runGuest(kind, g);
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
