// `shadowlab verify <profile|scenario>`: Theorems 1–3 by experiment (src/checker/verify) — the
// preconditions from the classifier, confirmations and counterexamples from runs of generated
// guests (a scenario's own guest first). collectVerify() returns the data (--json prints it),
// printVerify() renders it, --emit writes counterexamples as scenario files (verify-emit.ts).
// --workers spreads the guests over threads; --shard k/n runs a slice and prints its campaigns
// as JSON, which `shadowlab merge` (merge.ts) joins into the data of one unsharded run.
// --paging [geometry] (or a scenario whose machine pages) classifies with paging on and runs
// paging guests: Theorem 1 under nested, shadow-eager and shadow-lazy (verify.ts: PAGING_KINDS).

import type { Command } from 'commander';
import { DEFAULT_GEOMETRY, DEFAULT_SEED, type InstructionClass } from '../../checker/classify/classify.js';
import { pagingGeometry } from '../../checker/classify/paging.js';
import { MAX_WORKERS, type ProfileRef } from '../../checker/verify/pool.js';
import { DEFAULT_RUNS, MAX_RUNS, verify, verifySpread, type Campaigns, type Counterexample, type KindVerdict, type RunStats, type Shard, type TheoremKey, type TheoremKind, type TheoremVerdict, type Verification, type VerifyOptions } from '../../checker/verify/verify.js';
import { interpretsSupervisor } from '../../vmm/kinds.js';
import { CORE_CAUSES } from '../../isa/arch.js';
import { withOverrides, type Profile } from '../../isa/profile.js';
import { PROFILES } from '../../isa/profiles/index.js';
import { scenarioPath } from '../../scenario/bundled.js';
import { printable, UsageError } from '../../scenario/errors.js';
import { checkTheorems, type ExpectationFailure } from '../../scenario/expect.js';
import { loadScenario, type Scenario } from '../../scenario/load.js';
import { SCHEMA_VERSION } from '../../scenario/record.js';
import { guestOf } from '../../scenario/under.js';
import { count, hex, jsonText } from '../format.js';
import type { Outcome } from '../main.js';
import { parseCount } from '../options.js';
import { OVERRIDE_HELP, overrideSpecs, overridesText, parseOverrides, repeated, type OverrideSpec } from './classify.js';
import { emitCounterexamples } from './verify-emit.js';
import { emitWitnesses } from './verify-witness.js';
import type { Classification } from '../../checker/classify/classify.js';

interface VerifyCliOptions {
  runs?: string;
  seed?: string;
  emit?: string;
  workers?: string;
  shard?: string;
  override?: string[];
  paging?: string | boolean;
  json?: boolean;
  timing?: boolean;
}

/** What a verification is of, as `verify` and `verify --shard` both print it (merge checks that shards agree on it). */
export interface VerifyHeader {
  readonly schemaVersion: number;
  /** what was verified: a profile by name, or a scenario file (its profile, its guest run first) */
  readonly input: { readonly profile: string } | { readonly scenario: string };
  readonly profile: string;
  /** --override, as scenarios state overrides */
  readonly overrides?: readonly OverrideSpec[];
  /** with paging on (--paging, or a paging scenario): the geometry of the classifier's states and the generated guests */
  readonly paging?: string;
  readonly seed: number;
  readonly runs: number;
  readonly instructions: readonly InstructionRow[];
}

/** What `verify` found, as plain data: the classes, each theorem's verdict, a scenario's expectations. */
export interface VerifyData extends VerifyHeader {
  readonly theorems: Readonly<Record<TheoremKey, TheoremVerdict>>;
  /** verify of a scenario: its `expect.theorems` checked */
  readonly expectations?: { readonly checked: number; readonly failures: readonly ExpectationFailure[] };
  /** theorems whose precondition holds and whose runs did not confirm it */
  readonly ok: boolean;
}

/** What `verify --shard k/n` prints: its slice's campaigns and what merge checks the shards agree on. */
export interface ShardData extends VerifyHeader {
  readonly shard: Shard;
  readonly preconditions: Verification['classification']['theorems'];
  readonly campaigns: Readonly<Record<TheoremKey, Campaigns>>;
}

/** An instruction's classes as the classifier found them (its witnesses and evidence are classify's to show). */
export type InstructionRow = Pick<InstructionClass, (typeof CLASS_FIELDS)[number]>;

const CLASS_FIELDS = ['name', 'privileged', 'controlSensitive', 'behaviorSensitive', 'modeSensitive', 'locationSensitive', 'userSensitive', 'innocuous'] as const;

export function registerVerify(program: Command, done: (o: Outcome) => void): void {
  program
    .command('verify')
    .description("Theorems 1-3 by experiment: the classifier's preconditions, confirmed on generated guests under the VMMs, or a shrunk counterexample")
    .argument('<target>', `a profile (${[...PROFILES.keys()].join(', ')}) or a scenario file / bundled scenario name (its profile; its guest runs first)`)
    .option('--runs <n>', `generated guests per theorem, 1 to ${MAX_RUNS} (default ${DEFAULT_RUNS})`)
    .option('--seed <n>', `the seed of the classifier's states and the generated guests (default ${DEFAULT_SEED})`)
    .option('--emit <dir>', 'write each counterexample as a scenario file that `shadowlab run FILE --under KIND` reproduces (never overwrites)')
    .option('--workers <n>', `worker threads the guests are spread over, 1 to ${MAX_WORKERS} (default 1); the same output as one`)
    .option('--shard <k/n>', 'run only guests i with i % n == k-1 and print their campaigns as JSON for `shadowlab merge`')
    .option('--override <spec>', OVERRIDE_HELP, repeated)
    .option('--paging [geometry]', `classes with paging on and paging guests (default geometry ${DEFAULT_GEOMETRY}; a scenario that pages: its own): Theorem 1 under nested, shadow-eager and shadow-lazy`)
    .option('--json', 'print the verdicts as JSON')
    .option('--timing', 'print the wall-clock time and guests per second (without it the same input prints the same output)')
    .action(async (target: string, opts: VerifyCliOptions) => {
      const t0 = performance.now();
      const progress = progressLine();
      let result: Awaited<ReturnType<typeof collectVerify>>;
      try {
        result = await collectVerify(target, opts, progress?.show);
      } finally {
        progress?.clear();
      }
      const seconds = (performance.now() - t0) / 1000;
      if ('shard' in result) {
        process.stdout.write(`${jsonText(result.shard)}\n`);
        if (opts.timing) process.stderr.write(timingLine(result.verification.theorems, seconds, result.workers));
        done('ok');
        return;
      }
      const { data, scenario, profile, workers, classification } = result;
      done(writeVerify(data, profile, scenario, opts, opts.timing ? timingLine(data.theorems, seconds, workers) : '', classification));
    });
}

/**
 * Prints `d` (text or JSON), writes --emit's files — the counterexamples, and with the
 * `classification` it was verified with the classifier's witnesses too; returns the outcome.
 */
export function writeVerify(d: VerifyData, p: Profile, s: Scenario | undefined, opts: { emit?: string; json?: boolean }, timing: string, classification?: Classification): Outcome {
  const emitted = opts.emit === undefined ? [] : emitCounterexamples(opts.emit, d, p, s);
  const witnesses = opts.emit === undefined || !classification ? undefined : emitWitnesses(opts.emit, p, classification, { seed: d.seed, ...(d.paging ? { paging: d.paging } : {}) }, d.overrides ?? []);
  const files = [...emitted, ...(witnesses?.written ?? [])];
  const notEmitted = witnesses?.skipped ?? [];
  if (opts.json) process.stdout.write(`${jsonText(opts.emit === undefined ? d : { ...d, emitted: files, ...(notEmitted.length ? { notEmitted } : {}) })}\n`);
  else process.stdout.write(printable(printVerify(d) + files.map((f) => `emitted: ${f}\n`).join('') + notEmitted.map((w) => `not emitted: ${w}\n`).join('') + timing));
  return d.ok ? 'ok' : 'failed';
}

/** `k/n` with 1 <= k <= n <= runs; UsageError naming --shard otherwise. */
export function parseShard(text: string, runs: number): Shard {
  const m = /^(\d{1,6})\/(\d{1,6})$/.exec(text.trim());
  const [index, n] = m ? [Number(m[1]), Number(m[2])] : [NaN, NaN];
  if (!m || index < 1 || n < 1 || index > n) throw new UsageError(`--shard: expected k/n, whole numbers with 1 <= k <= n (shard k of n, e.g. 2/3), got '${text}'`);
  if (n > runs) throw new UsageError(`--shard: ${n} shards of ${count(runs, 'run')} would leave shards without guests; give at most ${runs} shards or more --runs`);
  return { index, count: n };
}

type Collected =
  | { readonly data: VerifyData; readonly scenario: Scenario | undefined; readonly profile: Profile; readonly workers: number; readonly classification: Classification }
  | { readonly shard: ShardData; readonly verification: Verification; readonly workers: number };

/** The verification `verify` prints (or a shard's part of it); UsageError / InputError for bad input. */
export async function collectVerify(target: string, opts: VerifyCliOptions, progress?: (t: TheoremKey, done: number, total: number, kind: TheoremKind) => void): Promise<Collected> {
  const runs = opts.runs === undefined ? DEFAULT_RUNS : parseCount(opts.runs, '--runs', 1, MAX_RUNS);
  const seed = opts.seed === undefined ? DEFAULT_SEED : parseCount(opts.seed, '--seed', 0, 2 ** 32 - 1);
  const workers = opts.workers === undefined ? 1 : parseCount(opts.workers, '--workers', 1, MAX_WORKERS);
  const shard = opts.shard === undefined ? undefined : parseShard(opts.shard, runs);
  if (shard && opts.emit !== undefined) throw new UsageError('--emit does nothing with --shard (a shard prints JSON for merge): give --emit to `shadowlab merge`');
  const byName = PROFILES.get(target);
  const s = byName ? undefined : loadScenario(scenarioPath(target));
  if (s?.host) throw new UsageError(`${s.file} lists VMs; verify takes a scenario of one guest (or a profile)`);
  const base: Profile = byName ?? s!.profile;
  const overrides = parseOverrides(base, opts.override ?? []);
  const profile = withOverrides(base, overrides);
  const paging = pagingOf(opts.paging, s);
  const options: VerifyOptions = { runs, seed, ...(paging ? { paging } : {}), ...(s ? { first: guestOf(s) } : {}), ...(shard ? { shard } : {}), ...(progress ? { progress } : {}) };
  const v = workers > 1 ? await verifySpread(profile, profileRef(base, s, overrides), workers, options) : verify(profile, options);
  const head = { schemaVersion: SCHEMA_VERSION, input: s ? { scenario: s.file } : { profile: profile.name }, profile: profile.name, ...(overrides.length ? { overrides: overrideSpecs(overrides) } : {}), ...(paging ? { paging } : {}), seed, runs, instructions: rows(v) };
  if (shard) return { shard: { ...head, shard, preconditions: v.classification.theorems, campaigns: v.campaigns }, verification: v, workers };
  return { data: verifyData(head, v.theorems, s), scenario: s, profile, workers, classification: v.classification };
}

/**
 * The paging geometry of a verification, or undefined (segment): --paging's (bare: the default),
 * else a scenario's whose machine pages — its geometry when it is a preset the classifier takes
 * (4 KiB pages), else the default. UsageError for a geometry --paging names that it cannot take.
 */
export function pagingOf(option: string | boolean | undefined, s: Scenario | undefined): string | undefined {
  if (typeof option === 'string') {
    try {
      pagingGeometry(option);
    } catch (e) {
      throw new UsageError(`--paging: ${(e as Error).message.replace(/^classify: /, '')}`);
    }
    return option;
  }
  if (option === true) return DEFAULT_GEOMETRY;
  const m = s?.spec.machine;
  if (!m || m.translation === 'segment') return undefined;
  const g = m.paging?.geometry;
  if (typeof g !== 'string') return DEFAULT_GEOMETRY;
  try {
    pagingGeometry(g);
    return g;
  } catch {
    return DEFAULT_GEOMETRY;
  }
}

/** The data of a whole verification from its head and verdicts (a scenario's expect.theorems checked). */
export function verifyData(head: Omit<VerifyData, 'theorems' | 'expectations' | 'ok'>, theorems: VerifyData['theorems'], s: Scenario | undefined): VerifyData {
  const failures = s ? checkTheorems(s, theorems) : [];
  const confirmedAll = Object.values(theorems).every((t) => kindsOfVerdict(t).every((k) => !k.confirmation || k.confirmation.confirmed));
  return {
    ...head,
    theorems,
    ...(s ? { expectations: { checked: Object.keys(s.spec.expect?.theorems ?? {}).length, failures } } : {}),
    ok: confirmedAll && failures.length === 0,
  };
}

/** How a worker rebuilds the profile: the bundled base, the scenario's overrides, then --override's (replacing the scenario's for the same instruction). */
function profileRef(base: Profile, s: Scenario | undefined, overrides: readonly { mnemonic: string; trapsIn: readonly string[] }[]): ProfileRef {
  const given = new Set(overrides.map((o) => o.mnemonic));
  const fromScenario = (s?.spec.machine.overrides ?? []).map((o) => ({ mnemonic: o.instruction, trapsIn: o.trapsIn })).filter((o) => !given.has(o.mnemonic));
  return { name: s?.spec.machine.profile ?? base.name, overrides: [...fromScenario, ...overrides] };
}

function rows(v: Verification): InstructionRow[] {
  return v.classification.instructions.map((c) => Object.fromEntries(CLASS_FIELDS.map((k) => [k, c[k]])) as InstructionRow);
}

/** Every kind a theorem ran under (one, or `under`'s). */
export function kindsOfVerdict(t: TheoremVerdict): readonly KindVerdict[] {
  return t.under ?? [t];
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const fixed = (x: number) => x.toFixed(1);

/** The names of the instructions with `has`, or "none". */
function names(d: VerifyData, has: (r: InstructionRow) => boolean): string {
  const xs = d.instructions.filter(has).map((r) => r.name);
  return xs.length ? xs.join(', ') : 'none';
}

export function printVerify(d: VerifyData): string {
  const what = ('scenario' in d.input ? `${d.input.scenario} (profile ${d.profile}; its own guest runs first)` : d.profile) + (d.overrides ? ` (overridden: ${overridesText(d.overrides)})` : '');
  const out = [
    d.paging
      ? `verify ${what} with paging on (geometry ${d.paging}): classes by execution on paged states (seed ${d.seed}), then ${count(d.runs, 'paging guest')} per theorem and kind generated from seed ${d.seed} (each kernel builds its page tables and turns paging on), run bare and under each theorem's VMM — Theorem 1's over nested paging, shadow-eager and shadow-lazy`
      : `verify ${what}: classes by execution (seed ${d.seed}), then ${count(d.runs, 'guest')} per theorem generated from seed ${d.seed}, run bare and under each theorem's VMM`,
    `classes of ${count(d.instructions.length, 'instruction')}: privileged ${names(d, (r) => r.privileged)}; sensitive ${names(d, (r) => !r.innocuous)}; user-sensitive ${names(d, (r) => r.userSensitive)}`,
  ];
  for (const t of Object.values(d.theorems)) out.push('', ...theoremLines(d, t));
  if (d.expectations) {
    const e = d.expectations;
    out.push('', e.failures.length ? `expectations: ${count(e.failures.length, 'failure')}` : e.checked ? 'expectations: all met' : 'expectations: none given for the theorems (expect.theorems), nothing was checked');
    for (const f of e.failures) out.push(`  ${f.field}: expected ${f.expected}, got ${f.actual}`);
  }
  return `${out.join('\n')}\n`;
}

function theoremLines(d: VerifyData, t: TheoremVerdict): string[] {
  const head = `Theorem ${t.theorem.slice(1)}: ${t.claim}`;
  const pre = t.precondition ? '  precondition holds' : `  precondition fails: ${t.violators.join(', ')} ${t.violators.length === 1 ? 'is' : 'are'} sensitive and not privileged`;
  const lines = [head, t.theorem === 't2' ? pre.replace('precondition', "precondition (Theorem 1's)") : pre];
  for (const k of kindsOfVerdict(t)) lines.push(...kindLines(d, k));
  if (t.under && t.precondition) lines.push(`  ${t.established ? 'confirmed' : 'NOT confirmed'}: ${underText(t.under)}`);
  return lines;
}

/** The kinds whose runs confirmed the theorem and those whose did not, e.g. "confirmed under shadow-eager, shadow-lazy; not under nested". */
function underText(under: readonly KindVerdict[]): string {
  const yes = under.filter((k) => k.established).map((k) => k.kind);
  const no = under.filter((k) => !k.established).map((k) => k.kind);
  return [yes.length ? `confirmed under ${yes.join(', ')}` : '', no.length ? `not under ${no.join(', ')}` : ''].filter(Boolean).join('; ');
}

/** What one kind's runs showed: a note, a confirmation or a search, and a counterexample. */
function kindLines(d: VerifyData, k: KindVerdict): string[] {
  const lines: string[] = [];
  if (k.note) lines.push(`  not run: ${k.note}`);
  if (k.confirmation) {
    const c = k.confirmation;
    lines.push(`  ${c.confirmed ? 'confirmed' : 'NOT confirmed'} under ${k.kind}: ${statsText(c)}`);
  }
  if (k.search) {
    const s = k.search;
    lines.push(s.found ? `  a guest that behaves differently under ${k.kind} than bare: found at run ${s.runs} of ${d.runs} (${statsText(s)})` : `  none found in ${count(s.runs, 'run')} under ${k.kind}: ${statsText(s)}`);
  }
  if (k.counterexample) lines.push(...counterexampleLines(d, k.counterexample));
  return lines;
}

function statsText(s: RunStats): string {
  const refused = s.refused ? `, ${s.refused} refused (${s.refusal})` : '';
  const untrapped = interpretsSupervisor(s.kind) ? '' : s.untrappedSoftware ? `, ${count(s.untrappedSoftware, 'instruction')} run in software without trapping first` : ', every instruction run in software trapped first';
  return `${count(s.runs, 'run')}, ${s.equivalent} equivalent, ${s.safe} safe${refused}; direct share ${pct(s.directShare.overall)} overall (${pct(s.directShare.min)}–${pct(s.directShare.max)} per run, ${s.efficient} of ${s.runs} at least 99%)${untrapped}; exits/1000 ${fixed(s.exitsPer1000Overall)} overall (${fixed(s.exitsPer1000.min)}–${fixed(s.exitsPer1000.max)})`;
}

/** A cause number by its name in the profile (core causes, then the profile's own). */
function causeName(d: VerifyData, code: number): string {
  const p = PROFILES.get(d.profile);
  return CORE_CAUSES.find((c) => c.code === code)?.name ?? p?.causes.find((c) => c.code === code)?.name ?? `cause ${code}`;
}

function eventText(d: VerifyData, e: { kind: string; retired: number; cause?: number } | undefined): string {
  if (!e) return 'no event';
  return `${e.kind}${e.cause === undefined ? '' : ` (${causeName(d, e.cause)})`} at instruction ${e.retired}`;
}

function counterexampleLines(d: VerifyData, c: Counterexample): string[] {
  const which = c.source === 'given' ? "the scenario's own guest" : `generated guest ${c.index}, shrunk from ${count(c.linesBefore, 'line')} to ${c.lines} (${count(c.shrinkTries, 'try', 'tries')})`;
  const out = [`  counterexample under ${c.kind}: ${which}`];
  if (c.assembly) out.push(...c.assembly.split('\n').map((l) => `    ${l}`));
  const v = c.divergence;
  if (v) {
    out.push(`  bare:          ${eventText(d, v.bareEvent)}`, `  under ${c.kind}:${' '.repeat(Math.max(1, 8 - c.kind.length))}${eventText(d, v.actualEvent)}`);
    out.push(`  first difference at event ${v.index}: ${v.field === 'event' ? 'the events differ' : `${v.field}: bare ${String(v.bare)}, under ${c.kind} ${String(v.actual)}`}`);
  }
  if (c.instruction) out.push(`  the states first differ after instruction ${c.instruction.retired + 1} (pc ${hex(c.instruction.pc)}${c.instruction.text ? `: ${c.instruction.text}` : ''}): ${c.instruction.difference}`);
  if (c.unsafe) out.push(`  not safe: ${c.unsafe}`);
  return out;
}

function timingLine(theorems: VerifyData['theorems'], seconds: number, workers: number): string {
  const guests = Object.values(theorems).flatMap(kindsOfVerdict).reduce((n, t) => n + (t.confirmation?.runs ?? 0) + (t.search?.runs ?? 0), 0);
  return `time: ${seconds.toFixed(1)} s, ${count(guests, 'guest')} run on ${count(workers, 'thread')} (${(guests / seconds).toFixed(1)} per second, classification and shrinking included)\n`;
}

/** Progress on a terminal's stderr: which theorem, how many guests. */
function progressLine(): { show: (t: TheoremKey, done: number, total: number, kind: TheoremKind) => void; clear: () => void } | undefined {
  if (!process.stderr.isTTY) return undefined;
  let shown = false;
  return {
    show: (t, done, total, kind) => {
      shown = true;
      process.stderr.write(`\rverify: theorem ${t.slice(1)} under ${kind}, guest ${done} of ${total}\x1b[K`);
    },
    clear: () => {
      if (shown) process.stderr.write('\r\x1b[K');
    },
  };
}
