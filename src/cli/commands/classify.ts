// `shadowlab classify <profile>`: the Popek–Goldberg classes of every instruction of a profile,
// derived by executing it (src/checker/classify), and Theorems 1 and 3's preconditions.
// collectClassify() returns the data (--json prints it), printClassify() renders it.

import type { Command } from 'commander';
import { classify, DEFAULT_GEOMETRY, DEFAULT_SEED, DEFAULT_STATES, EXTEND_LIMIT, MAX_STATES, type Classification, type InstructionClass, type Witness } from '../../checker/classify/classify.js';
import type { Difference } from '../../checker/classify/compare.js';
import type { ExhaustiveBounds } from '../../checker/classify/states.js';
import { overrideProblems, withOverrides, type InstructionOverride, type Profile } from '../../isa/profile.js';
import { PROFILES } from '../../isa/profiles/index.js';
import { printable, UsageError } from '../../scenario/errors.js';
import { SCHEMA_VERSION } from '../../scenario/record.js';
import { count, hex, jsonText, table } from '../format.js';
import type { Outcome } from '../main.js';
import { parseCount } from '../options.js';

interface ClassifyCliOptions {
  seed?: string;
  states?: string;
  exhaustive?: boolean;
  paging?: string | boolean;
  override?: string[];
  json?: boolean;
}

/** The classification, and the overrides it was made with (as a scenario's `machine.overrides` states them). */
export type ClassifyData = Classification & { readonly schemaVersion: number; readonly overrides?: readonly OverrideSpec[] };

/** An override as scenarios and the JSON state it. */
export interface OverrideSpec {
  readonly instruction: string;
  readonly trapsIn: readonly string[];
}

export const OVERRIDE_HELP = "MNEMONIC=MODE,MODE: the modes in which the instruction traps (none after '=': it traps nowhere); repeatable";

/** Collects a repeatable option's values. */
export const repeated = (v: string, xs: string[] = []): string[] => [...xs, v];

/**
 * `--override` values for profile `p`: each MNEMONIC=MODE,MODE parsed and the whole list checked
 * with overrideProblems; UsageError naming the option and the value for the first problem.
 */
export function parseOverrides(p: Profile, texts: readonly string[]): InstructionOverride[] {
  const overrides = texts.map((t) => {
    const m = /^\s*([A-Za-z0-9_.]+)\s*=\s*(.*)$/.exec(t);
    if (!m) throw new UsageError(`--override '${t}': expected MNEMONIC=MODE,MODE, the modes in which the instruction traps (nothing after '=': it traps nowhere)`);
    const modes = m[2].split(',').map((x) => x.trim());
    return { mnemonic: m[1], trapsIn: modes.length === 1 && modes[0] === '' ? [] : modes };
  });
  const bad = overrideProblems(p, overrides)[0];
  if (bad) throw new UsageError(`--override '${texts[bad.index]}': ${bad.message}`);
  return overrides;
}

export const overrideSpecs = (os: readonly InstructionOverride[]): OverrideSpec[] => os.map((o) => ({ instruction: o.mnemonic, trapsIn: o.trapsIn }));

/** "jrst traps in u; pushf traps nowhere". */
export function overridesText(os: readonly OverrideSpec[]): string {
  return os.map((o) => `${o.instruction} traps ${o.trapsIn.length ? `in ${o.trapsIn.join(', ')}` : 'nowhere'}`).join('; ');
}

export function registerClassify(program: Command, done: (o: Outcome) => void): void {
  program
    .command('classify')
    .description("derive the Popek-Goldberg class of every instruction of a profile by executing it, and Theorems 1 and 3's preconditions")
    .argument('<profile>', `an instruction set: ${[...PROFILES.keys()].join(', ')}`)
    .option('--seed <n>', `the seed of the generated states (default ${DEFAULT_SEED})`)
    .option('--states <n>', `generated states per instruction, 1 to ${MAX_STATES} (default ${DEFAULT_STATES}); one that faults in nearly all gets up to ${EXTEND_LIMIT}x as many, never past ${MAX_STATES}`)
    .option('--exhaustive', 'every state of a tiny configuration (its bounds are printed) instead of random ones')
    .option('--paging [geometry]', `states with paging on: page tables of a preset geometry (default ${DEFAULT_GEOMETRY}), PTBR and a filled TLB; relocation permutes frames`)
    .option('--override <spec>', OVERRIDE_HELP, repeated)
    .option('--json', 'print the classes as JSON')
    .action((name: string, opts: ClassifyCliOptions) => {
      const data = collectClassify(name, opts);
      process.stdout.write(opts.json ? `${jsonText(data)}\n` : printable(printClassify(data)));
      done('ok');
    });
}

/** The classification `classify` prints; UsageError for an unknown profile or a bad option. */
export function collectClassify(name: string, opts: ClassifyCliOptions): ClassifyData {
  const p = PROFILES.get(name);
  if (!p) throw new UsageError(`unknown profile '${name}' (profiles: ${[...PROFILES.keys()].join(', ')})`);
  if (opts.exhaustive && opts.states !== undefined) throw new UsageError('--states does nothing with --exhaustive (it enumerates its own states); give one of them');
  const seed = opts.seed === undefined ? undefined : parseCount(opts.seed, '--seed', 0, 2 ** 32 - 1);
  const states = opts.states === undefined ? undefined : parseCount(opts.states, '--states', 1, MAX_STATES);
  const overrides = parseOverrides(p, opts.override ?? []);
  const paging = opts.paging === undefined || opts.paging === false ? undefined : opts.paging === true ? DEFAULT_GEOMETRY : opts.paging;
  try {
    const c = classify(withOverrides(p, overrides), { ...(seed === undefined ? {} : { seed }), ...(states === undefined ? {} : { states }), exhaustive: opts.exhaustive === true, ...(paging === undefined ? {} : { paging }) });
    return { schemaVersion: SCHEMA_VERSION, ...c, ...(overrides.length ? { overrides: overrideSpecs(overrides) } : {}) };
  } catch (e) {
    if (e instanceof RangeError) throw new UsageError(`--paging: ${e.message.replace(/^classify: /, '')}`);
    throw e;
  }
}

const mark = (b: boolean) => (b ? 'yes' : '-');

/** A value of a difference: mode numbers by name, numbers in hex. */
function shown(d: Classification, component: string, v: number | string | boolean): string {
  if (typeof v !== 'number') return String(v);
  if (component === 'mode') return d.modes[v] ?? String(v);
  return hex(v);
}

function differences(d: Classification, diffs: readonly Difference[], max = 2): string {
  const parts = diffs.slice(0, max).map((x) => `${x.component} ${shown(d, x.component, x.a)} vs ${shown(d, x.component, x.b)}`);
  return parts.join(', ') + (diffs.length > max ? `, +${diffs.length - max} more` : '');
}

/** One line naming a witness: the class, where, the instruction, φ, and what differed. */
export function witnessSummary(d: Classification, w: Witness): string {
  const where = `'${w.instruction}' in ${w.mode}`;
  if (w.class === 'control') return `${where} changes R: ${differences(d, w.differences)}`;
  const phi = w.phi?.kind === 'relocation' ? (w.phi.frames ? 'relocation (frames permuted)' : `relocation +${hex(w.phi.delta)}`) : w.phi?.kind === 'deprivileging' ? 'deprivileging' : (w.phiText ?? '').replace('control substitution: ', 'substitution ').replace(/ \(.*\)$/, '');
  return `${where}, ${phi}: ${differences(d, w.differences)}`;
}

function row(d: Classification, c: InstructionClass): string[] {
  const summary = c.witness ? witnessSummary(d, c.witness) : `no witness in ${count(c.evidence.states, 'state')} (${c.evidence.untrapped} without a trap)`;
  return [c.name, mark(c.privileged), mark(c.controlSensitive), mark(c.locationSensitive), mark(c.modeSensitive), mark(c.substitutionSensitive), mark(c.userSensitive), summary];
}

function theoremLine(label: string, claim: string, t: { precondition: boolean; violators: readonly string[] }): string {
  return `${label}: ${claim} — precondition ${t.precondition ? 'holds' : `fails: ${t.violators.join(', ')} ${t.violators.length === 1 ? 'is' : 'are'} not privileged`}`;
}

function machineText(d: Classification): string {
  if (!d.paging) return 'on the segment machine (no paging: invlpg and tlbflush have no TLB to drop here)';
  return `with paging on (geometry ${d.paging.geometry}, page tables built in each state's memory, a ${d.paging.tlbEntries}-entry ${d.paging.tlbWays}-way TLB holding entries; TLB fills never count)`;
}

/** The paging part of the exhaustive mode's bounds, for the header ('' without paging). */
function exhaustivePagingText(pg: ExhaustiveBounds['paging']): string {
  if (!pg) return '';
  return `; paging fixed: ${pg.pagesMapped} of the ${pg.pages} pages mapped (one fixed map and frame order), the TLB filled by ${pg.tlbFilled.join(', ')} in the state's mode, no stale entry; relocation into other frames by one fixed permutation`;
}

export function printClassify(d: ClassifyData): string {
  const states = d.exhaustive
    ? `every state of a tiny configuration (up to ${d.states} per instruction): modes ${d.exhaustive.modes.join(', ')}; r1 over ${d.exhaustive.values.map((v) => hex(v)).join(', ')}, r2 over ${d.exhaustive.r2Values.map((v) => hex(v)).join(', ')}, the other registers 0; status ${d.exhaustive.statusFields.join(' | ')}; ${d.exhaustive.memoryWords} memory words of a fixed pattern; segment base ${hex(d.exhaustive.segment.base)}, limit ${hex(d.exhaustive.segment.limit)}, pc ${hex(d.exhaustive.segment.pc)}, relocation +${hex(d.exhaustive.segment.relocation)}${exhaustivePagingText(d.exhaustive.paging)}`
    : `${d.states} random states per instruction, seed ${d.seed}`;
  const out = [
    `classify ${d.profile}${d.overrides ? ` (overridden: ${overridesText(d.overrides)})` : ''}: ${count(d.instructions.length, 'instruction')} by execution ${machineText(d)}, ${states}`,
    `transformations φ (what the VMM installs, from the profile's V): ${d.transformations.join('; ')}`,
    table(
      ['instruction', 'privileged', 'control', 'location', 'mode', 'substitution', 'user-sensitive', 'witness'],
      d.instructions.map((c) => row(d, c)),
    ),
    'control: changes R (mode, base, limit, PTBR, status control bits, timer reload/enable, control registers, drops a valid TLB entry) without trapping; location, mode, substitution: behaviour-sensitive under relocation, deprivileging, control substitution (i(φ(S)) differs from φ(i(S)), neither trapping)',
    theoremLine('Theorem 1', 'a VMM can be built if every sensitive instruction is privileged', d.theorems.t1),
    theoremLine('Theorem 3', 'a hybrid VMM can be built if every user-sensitive instruction is privileged', d.theorems.t3),
    "user-sensitive follows the 1974 paper: control-sensitive in user mode, or behaviour-sensitive with S and φ(S) both in user mode (deprivileging never qualifies); the lecture's phrase reads the other way. The PDP-10's JRST 1 is the example: it leaves supervisor mode without trapping (sensitive, not privileged: Theorem 1's precondition fails) but does nothing sensitive in user mode (not user-sensitive), so a hybrid VMM exists.",
  ];
  return `${out.join('\n')}\n`;
}
