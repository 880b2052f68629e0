// `shadowlab run <scenario>`: run a scenario — bare, under the VMMs, or its VMs together — and
// check its expectations and the checkers' verdicts. collectRun returns plain data (what
// --json prints); run-report.ts renders it.

import type { Command } from 'commander';
import { ST_MODE_MASK, STATUS_SWITCHES, SWITCH_NAMES, type SwitchName } from '../../isa/arch.js';
import type { MachineSnapshot } from '../../isa/snapshot.js';
import { compareSegmentWithPaging, type SegmentPagingDifference, type SegmentPagingResult } from '../../checker/segment-paging.js';
import { GEOMETRIES } from '../../paging/index.js';
import { buildMachine } from '../../scenario/build.js';
import { checkExpectations, checkVerdicts, expectsEquivalence, type ExpectationFailure } from '../../scenario/expect.js';
import { loadScenario, type Scenario } from '../../scenario/load.js';
import type { InstructionTrace, TraceEntry } from '../../isa/run.js';
import { disassemble } from '../../asm/index.js';
import { runUnder, UNDER_KINDS, whyNotUnder, type UnderKind, type UnderRun } from '../../scenario/under.js';
import type { GuestChecks } from '../../vmm/index.js';
import { UsageError, type Outcome } from '../main.js';
import { printRun } from './run-report.js';

export const SCHEMA_VERSION = 1;

interface RunOptions {
  json?: boolean;
  trace?: boolean;
  steps?: string;
  under?: string;
  compare?: string;
  geometry: string;
}

export interface RunData {
  readonly schemaVersion: number;
  readonly scenario: { readonly file: string; readonly name: string; readonly description: string };
  readonly runs: readonly RunColumn[];
  /** with --under all: the kinds that cannot run this scenario, and why */
  readonly skipped?: readonly { readonly under: UnderKind; readonly reason: string }[];
  /** with VMM runs: every VMM run's verdicts together (details per run in runs[].checks) */
  readonly checks?: ChecksSummary;
  /** with a file listing VMs: where the VMs live in real memory */
  readonly host?: { readonly memorySize: number; readonly reserve: number; readonly vms: readonly { readonly name: string; readonly addr0: number; readonly vmsize: number }[] };
  /** with --compare segment: the paging twin check (SPEC §3, comparison 1) */
  readonly compare?: CompareJson;
  readonly ok: boolean;
}

/** The segment-vs-paging result without the two snapshots of the first difference. */
export type CompareJson = Omit<SegmentPagingResult, 'firstDifference'> & {
  readonly against: 'paging';
  readonly firstDifference?: Omit<SegmentPagingDifference, 'segmentState' | 'pagingState'>;
};

export interface RunColumn {
  /** column name: the kind, and the VM in files that list VMs */
  readonly label: string;
  readonly under: UnderKind;
  readonly vm?: string;
  readonly end: UnderRun['end'];
  readonly retired: number;
  readonly psw: ReturnType<typeof pswJson>;
  readonly registers: readonly number[];
  readonly instructions: Readonly<Record<string, number>>;
  readonly traps: Readonly<Record<string, number>>;
  readonly console: string;
  readonly framesAllocated?: number;
  readonly seconds: number;
  readonly checks?: ChecksJson;
  readonly nested?: UnderRun['nested'];
  readonly expectations: { readonly ok: boolean; readonly failures: readonly ExpectationFailure[]; readonly note?: string };
  readonly trace?: readonly TraceJson[];
  readonly traceTruncated?: boolean;
}

/** A trace entry as printed: instructions carry their disassembled text. */
export type TraceJson = Exclude<TraceEntry, InstructionTrace> | (InstructionTrace & { readonly text: string });

/** A VMM run's verdicts, with their figures and the first failure (snapshots left out). */
export interface ChecksJson {
  readonly equivalence: { readonly holds: boolean; readonly compared: number; readonly firstDifference?: Record<string, unknown> };
  readonly safety: { readonly holds: boolean; readonly level: string; readonly resumes: number; readonly violations: number; readonly reserveIntact: boolean; readonly first?: Record<string, unknown> };
  readonly efficiency: {
    readonly holds: boolean;
    readonly criterion: string;
    /** share of guest instructions executed directly */
    readonly direct: number;
    readonly exitsPer1000: number;
    readonly usPerExit: number;
    readonly actionsPerExit: number;
    readonly exits: Readonly<Record<string, number>>;
  };
}

export interface ChecksSummary {
  readonly equivalence: { readonly holds: boolean };
  readonly safety: { readonly holds: boolean };
  /** direct share and exits of the first trap-and-emulate run (the first VMM run otherwise) */
  readonly efficiency: { readonly holds: boolean; readonly direct: number; readonly exitsPer1000: number };
}

export function registerRun(program: Command, done: (o: Outcome) => void): void {
  program
    .command('run')
    .description('run a scenario file and check its expectations')
    .argument('<scenario>', 'scenario file (YAML)')
    .option('--json', 'print the results as JSON')
    .option('--trace', 'list every instruction (virtual -> physical addresses) and every trap of the bare run')
    .option('--steps <n>', "override the scenario's budget of instructions retired")
    .option('--under <kinds>', 'bare | vmm | hvm | vmm2 | all, or a comma list (default: bare; vmm for a file that lists VMs)')
    .option('--compare <machine>', "'segment': re-run every user stretch of this segment scenario on a paging machine mapping [0, L) at B, and compare step by step")
    .option('--geometry <name>', 'the paging geometry for --compare', 'x86-32')
    .action((file: string, opts: RunOptions) => {
      const data = collectRun(file, opts);
      process.stdout.write(opts.json ? `${JSON.stringify(data, null, 2)}\n` : printRun(data));
      done(data.ok ? 'ok' : 'failed');
    });
}

/** Loads and runs the scenario; returns plain data (what --json prints). */
export function collectRun(file: string, opts: RunOptions): RunData {
  const s = loadScenario(file);
  const steps = opts.steps === undefined ? undefined : parseSteps(opts.steps);
  const { kinds, skipped } = parseUnder(opts.under, s);
  const progress = progressLine();
  const runs = runUnder(s, kinds, { trace: opts.trace, ...(steps ? { steps } : {}), ...(progress ? { progress: progress.show } : {}) }).map(runColumn);
  progress?.clear();
  const checks = summarize(runs);
  const compare = opts.compare === undefined ? undefined : compareJson(s, steps ?? s.spec.steps, opts);
  const host = s.host && {
    memorySize: s.host.layout.memorySize,
    reserve: s.host.layout.reserve,
    vms: s.host.vms.map((vm, i) => ({ name: vm.name, ...s.host!.layout.allocations[i] })),
  };
  return {
    schemaVersion: SCHEMA_VERSION,
    scenario: { file, name: s.name, description: s.description },
    runs,
    ...(skipped.length ? { skipped } : {}),
    ...(checks ? { checks } : {}),
    ...(host ? { host } : {}),
    ...(compare ? { compare } : {}),
    ok: runs.every((r) => r.expectations.ok) && (compare?.holds ?? true),
  };
}

/** A progress line on stderr for long runs, when it is a terminal (else undefined). */
function progressLine(): { show: (run: string, retired: number, budget: number) => void; clear: () => void } | undefined {
  if (!process.stderr.isTTY) return undefined;
  let shown = false;
  return {
    show: (run, retired, budget) => {
      shown = true;
      process.stderr.write(`\r${run}: ${(retired / 1e6).toFixed(1)}M of ${(budget / 1e6).toFixed(1)}M instructions retired `);
    },
    clear: () => {
      if (shown) process.stderr.write('\r\x1b[K');
    },
  };
}

/**
 * --under: a comma list of kinds (each must be able to run the scenario), or all (those that
 * can; the others listed with the reason); the default depends on the file.
 */
function parseUnder(text: string | undefined, s: Scenario): { kinds: UnderKind[]; skipped: { under: UnderKind; reason: string }[] } {
  if (text === undefined) return { kinds: s.host ? ['vmm'] : ['bare'], skipped: [] };
  if (text === 'all') {
    const reasons = UNDER_KINDS.map((under) => ({ under, reason: whyNotUnder(under, s) }));
    return { kinds: reasons.filter((r) => !r.reason).map((r) => r.under), skipped: reasons.filter((r) => r.reason) as { under: UnderKind; reason: string }[] };
  }
  const kinds = text.split(',').map((k) => k.trim());
  for (const k of kinds) if (!UNDER_KINDS.includes(k as UnderKind)) throw new UsageError(`--under: expected bare, vmm, hvm, vmm2 or all, got '${k}'`);
  return { kinds: [...new Set(kinds)] as UnderKind[], skipped: [] };
}

function parseSteps(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--steps: expected a positive integer, got '${text}'`);
  return n;
}

/** --compare segment: the scenario's user stretches against their paging twins. */
function compareJson(s: Scenario, budget: number, opts: RunOptions): CompareJson {
  if (opts.compare !== 'segment') throw new UsageError(`--compare: expected 'segment', got '${opts.compare}'`);
  if (s.host || s.spec.machine.translation !== 'segment') throw new UsageError(`--compare segment needs a segment scenario with one guest; ${s.name} is not`);
  const geometry = GEOMETRIES[opts.geometry];
  if (!geometry) throw new UsageError(`--geometry: unknown geometry '${opts.geometry}' (presets: ${Object.keys(GEOMETRIES).join(', ')})`);
  const { firstDifference, ...r } = compareSegmentWithPaging(buildMachine(s), budget, { geometry });
  if (!firstDifference) return { against: 'paging', ...r };
  const { segmentState: _s, pagingState: _p, ...d } = firstDifference;
  return { against: 'paging', ...r, firstDifference: d };
}

/**
 * One run as a column: its final state, and its expectations — the guest scenario's, plus the
 * verdicts it states for VMM runs. A run the scenario expects not to be equivalent is held to
 * its verdicts only (its final state is expected to differ from the bare one).
 */
export function runColumn(r: UnderRun): RunColumn {
  const s = r.guest;
  const vmm = r.under === 'bare' ? undefined : r.under;
  const stateChecked = !vmm || expectsEquivalence(s, vmm);
  const failures = [...(stateChecked ? checkExpectations(s, r) : []), ...(vmm && r.checks ? checkVerdicts(s, vmm, r.checks) : [])];
  return {
    label: r.vm ? `${r.vm} (${r.under})` : r.under,
    under: r.under,
    ...(r.vm ? { vm: r.vm } : {}),
    end: r.end,
    retired: r.retired,
    psw: pswJson(r.final, s.profile.modes),
    registers: r.final.regs.map((v) => v >>> 0),
    instructions: r.instructions,
    traps: r.traps,
    console: r.final.console,
    ...(r.framesAllocated === undefined ? {} : { framesAllocated: r.framesAllocated }),
    seconds: r.seconds,
    ...(r.checks ? { checks: checksJson(r.checks) } : {}),
    ...(r.nested ? { nested: r.nested } : {}),
    expectations: {
      ok: failures.length === 0,
      failures,
      ...(stateChecked ? {} : { note: `the scenario expects this run not to be equivalent to bare: only its verdicts are checked` }),
    },
    ...(r.trace ? { trace: r.trace.map((e) => (e.kind === 'instruction' ? { ...e, text: disassemble(e.header, e.imm, s.profile) } : e)), traceTruncated: r.traceTruncated } : {}),
  };
}

function checksJson(c: GuestChecks): ChecksJson {
  const e = c.equivalence.first;
  const sf = c.safety.first;
  const f = c.efficiency;
  const event = (x: { kind: string; retired: number; cause?: number } | undefined) => x && { kind: x.kind, retired: x.retired, ...(x.cause === undefined ? {} : { cause: x.cause }) };
  return {
    equivalence: {
      holds: c.equivalence.holds,
      compared: c.equivalence.compared,
      ...(e ? { firstDifference: { index: e.index, retired: e.retired, field: e.field, bare: e.bare, actual: e.actual, bareEvent: event(e.bareEvent), actualEvent: event(e.actualEvent) } } : {}),
    },
    safety: {
      holds: c.safety.holds,
      level: c.safety.level,
      resumes: c.safety.resumes,
      violations: c.safety.violations,
      reserveIntact: c.safety.reserveIntact,
      ...(sf ? { first: { kind: sf.kind, retired: sf.retired, detail: sf.detail } } : {}),
    },
    efficiency: { holds: f.holds, criterion: f.criterion, direct: f.directShare, exitsPer1000: f.exitsPer1000, usPerExit: f.usPerExit, actionsPerExit: f.actionsPerExit, exits: f.exits },
  };
}

/** Every VMM run's verdicts together; undefined without VMM runs. */
function summarize(runs: readonly RunColumn[]): ChecksSummary | undefined {
  const checked = runs.filter((r) => r.checks);
  if (checked.length === 0) return undefined;
  const all = (v: 'equivalence' | 'safety' | 'efficiency') => checked.every((r) => r.checks![v].holds);
  const lead = (checked.find((r) => r.under === 'vmm') ?? checked[0]).checks!.efficiency;
  return {
    equivalence: { holds: all('equivalence') },
    safety: { holds: all('safety') },
    efficiency: { holds: all('efficiency'), direct: lead.direct, exitsPer1000: lead.exitsPer1000 },
  };
}

function pswJson(f: MachineSnapshot, modes: readonly string[]) {
  const st = f.psw.status;
  const switches = Object.fromEntries(SWITCH_NAMES.map((k) => [k, (st & STATUS_SWITCHES[k]) !== 0])) as Record<SwitchName, boolean>;
  return { pc: f.psw.pc, mode: modes[st & ST_MODE_MASK], base: f.psw.base, limit: f.psw.limit, ptbr: f.psw.ptbr, ...switches, status: st >>> 0, extra: f.psw.extra >>> 0 };
}
