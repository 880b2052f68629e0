// `shadowlab verify <profile|scenario>`: Theorems 1–3 by experiment (src/checker/verify) — the
// preconditions from the classifier, confirmations and counterexamples from runs of generated
// guests (a scenario's own guest first). collectVerify() returns the data (--json prints it),
// printVerify() renders it, --emit writes counterexamples as scenario files (verify-emit.ts).

import type { Command } from 'commander';
import { DEFAULT_SEED, type InstructionClass } from '../../checker/classify/classify.js';
import { DEFAULT_RUNS, MAX_RUNS, verify, type Counterexample, type RunStats, type TheoremKey, type TheoremVerdict, type Verification } from '../../checker/verify/verify.js';
import { CORE_CAUSES } from '../../isa/arch.js';
import type { Profile } from '../../isa/profile.js';
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
import { emitCounterexamples } from './verify-emit.js';

interface VerifyCliOptions {
  runs?: string;
  seed?: string;
  emit?: string;
  json?: boolean;
  timing?: boolean;
}

/** What `verify` found, as plain data: the classes, each theorem's verdict, a scenario's expectations. */
export interface VerifyData {
  readonly schemaVersion: number;
  /** what was verified: a profile by name, or a scenario file (its profile, its guest run first) */
  readonly input: { readonly profile: string } | { readonly scenario: string };
  readonly profile: string;
  readonly seed: number;
  readonly runs: number;
  readonly instructions: readonly InstructionRow[];
  readonly theorems: Readonly<Record<TheoremKey, TheoremVerdict>>;
  /** verify of a scenario: its `expect.theorems` checked */
  readonly expectations?: { readonly checked: number; readonly failures: readonly ExpectationFailure[] };
  /** theorems whose precondition holds and whose runs did not confirm it */
  readonly ok: boolean;
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
    .option('--json', 'print the verdicts as JSON')
    .option('--timing', 'print the wall-clock time and guests per second (without it the same input prints the same output)')
    .action((target: string, opts: VerifyCliOptions) => {
      const t0 = performance.now();
      const progress = progressLine();
      let data: VerifyData;
      let scenario: Scenario | undefined;
      try {
        [data, scenario] = collectVerify(target, opts, progress?.show);
      } finally {
        progress?.clear();
      }
      const emitted = opts.emit === undefined ? [] : emitCounterexamples(opts.emit, data, scenario);
      const seconds = (performance.now() - t0) / 1000;
      if (opts.json) process.stdout.write(`${jsonText(emitted.length ? { ...data, emitted } : data)}\n`);
      else process.stdout.write(printable(printVerify(data) + emitted.map((f) => `emitted: ${f}\n`).join('') + (opts.timing ? timingLine(data, seconds) : '')));
      done(data.ok ? 'ok' : 'failed');
    });
}

/** The verification `verify` prints, and the scenario it loaded; UsageError / InputError for bad input. */
export function collectVerify(target: string, opts: VerifyCliOptions, progress?: (t: TheoremKey, done: number, total: number) => void): [VerifyData, Scenario | undefined] {
  const runs = opts.runs === undefined ? DEFAULT_RUNS : parseCount(opts.runs, '--runs', 1, MAX_RUNS);
  const seed = opts.seed === undefined ? DEFAULT_SEED : parseCount(opts.seed, '--seed', 0, 2 ** 32 - 1);
  const byName = PROFILES.get(target);
  const s = byName ? undefined : loadScenario(scenarioPath(target));
  if (s?.host) throw new UsageError(`${s.file} lists VMs; verify takes a scenario of one guest (or a profile)`);
  const profile: Profile = byName ?? s!.profile;
  const v = verify(profile, { runs, seed, ...(s ? { first: guestOf(s) } : {}), ...(progress ? { progress } : {}) });
  const failures = s ? checkTheorems(s, v.theorems) : [];
  const confirmedAll = Object.values(v.theorems).every((t) => !t.confirmation || t.confirmation.confirmed);
  const data: VerifyData = {
    schemaVersion: SCHEMA_VERSION,
    input: s ? { scenario: s.file } : { profile: profile.name },
    profile: profile.name,
    seed,
    runs,
    instructions: rows(v),
    theorems: v.theorems,
    ...(s ? { expectations: { checked: Object.keys(s.spec.expect?.theorems ?? {}).length, failures } } : {}),
    ok: confirmedAll && failures.length === 0,
  };
  return [data, s];
}

function rows(v: Verification): InstructionRow[] {
  return v.classification.instructions.map((c) => Object.fromEntries(CLASS_FIELDS.map((k) => [k, c[k]])) as InstructionRow);
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const fixed = (x: number) => x.toFixed(1);

/** The names of the instructions with `has`, or "none". */
function names(d: VerifyData, has: (r: InstructionRow) => boolean): string {
  const xs = d.instructions.filter(has).map((r) => r.name);
  return xs.length ? xs.join(', ') : 'none';
}

export function printVerify(d: VerifyData): string {
  const what = 'scenario' in d.input ? `${d.input.scenario} (profile ${d.profile}; its own guest runs first)` : d.profile;
  const out = [
    `verify ${what}: classes by execution (seed ${d.seed}), then ${count(d.runs, 'guest')} per theorem generated from seed ${d.seed}, run bare and under each theorem's VMM`,
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
  if (t.note) lines.push(`  not run: ${t.note}`);
  if (t.confirmation) {
    const c = t.confirmation;
    lines.push(`  ${c.confirmed ? 'confirmed' : 'NOT confirmed'} under ${t.kind}: ${statsText(c)}`);
  }
  if (t.search) {
    const s = t.search;
    lines.push(s.found ? `  a guest that behaves differently under ${t.kind} than bare: found at run ${s.runs} of ${d.runs} (${statsText(s)})` : `  none found in ${count(s.runs, 'run')} under ${t.kind}: ${statsText(s)}`);
  }
  if (t.counterexample) lines.push(...counterexampleLines(d, t.counterexample));
  return lines;
}

function statsText(s: RunStats): string {
  const refused = s.refused ? `, ${s.refused} refused (${s.refusal})` : '';
  const untrapped = s.kind === 'hvm' ? '' : s.untrappedSoftware ? `, ${count(s.untrappedSoftware, 'instruction')} run in software without trapping first` : ', every instruction run in software trapped first';
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

function timingLine(d: VerifyData, seconds: number): string {
  const guests = Object.values(d.theorems).reduce((n, t) => n + (t.confirmation?.runs ?? 0) + (t.search?.runs ?? 0), 0);
  return `time: ${seconds.toFixed(1)} s, ${count(guests, 'guest')} run (${(guests / seconds).toFixed(1)} per second, classification and shrinking included)\n`;
}

/** Progress on a terminal's stderr: which theorem, how many guests. */
function progressLine(): { show: (t: TheoremKey, done: number, total: number) => void; clear: () => void } | undefined {
  if (!process.stderr.isTTY) return undefined;
  let shown = false;
  return {
    show: (t, done, total) => {
      shown = true;
      process.stderr.write(`\rverify: theorem ${t.slice(1)}, guest ${done} of ${total}\x1b[K`);
    },
    clear: () => {
      if (shown) process.stderr.write('\r\x1b[K');
    },
  };
}
