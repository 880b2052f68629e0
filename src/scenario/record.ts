// The run record: a scenario run bare, under the VMMs, or its VMs together, with its
// expectations and the checkers' verdicts — as plain data. `shadowlab run --json` prints it,
// the table report renders it, and the library API returns it.

import { ST_MODE_MASK, STATUS_SWITCHES, SWITCH_NAMES, type SwitchName } from '../isa/arch.js';
import type { MachineSnapshot } from '../isa/snapshot.js';
import type { InstructionTrace, TraceEntry } from '../isa/run.js';
import { disassemble } from '../asm/index.js';
import { compareSegmentWithPaging, type SegmentPagingDifference, type SegmentPagingResult } from '../checker/segment-paging.js';
import { summarizeDivergence, summarizeEquivalence, type CoherenceFigures, type DivergenceSummary, type DivergentInstruction, type GuestChecks, type TlbNondeterminism } from '../vmm/index.js';
import type { Profile } from '../isa/profile.js';
import { buildMachine } from './build.js';
import { UsageError } from './errors.js';
import { checkExpectations, checkVerdicts, expectsBareEnd, type ExpectationFailure } from './expect.js';
import type { Scenario } from './load.js';
import { geometryByName, GEOMETRY_NAMES } from './paging.js';
import { runUnder, UNDER_KINDS, whyNotUnder, type UnderKind, type UnderRun } from './under.js';

/** Version of every JSON document the CLI prints; bumped when a field changes meaning. */
export const SCHEMA_VERSION = 3; // 3: runs[].checks.safety counts accesses and windows on the host bus (was resumes)

/** Instructions a trace keeps by default (the run goes on past it). */
export const DEFAULT_TRACE_LIMIT = 10_000;
/** Most trace entries a run may keep: about 120 MB of text, 250 MB of JSON (a longer trace is better cut with --steps). */
export const MAX_TRACE_LIMIT = 100_000;

export interface RecordOptions {
  /** the kinds to run, or 'all' (those that can; the others listed with the reason). Default: bare; for a file listing VMs, nested when they all page, else vmm */
  readonly under?: readonly UnderKind[] | 'all';
  /** overrides every guest's budget of instructions retired */
  readonly steps?: number;
  /** trace the bare run(s): every instruction and trap, up to `traceLimit` entries */
  readonly trace?: boolean;
  readonly traceLimit?: number;
  /** differential check 1: every user stretch of this segment scenario against a paging twin */
  readonly compare?: { readonly geometry: string };
  /** include wall-clock figures (seconds, µs per exit); off, the record is the same for the same input */
  readonly timing?: boolean;
  /** told now and then how far a long bare run has got */
  readonly progress?: (run: string, retired: number, budget: number) => void;
  /** run guests whose instruction set breaks Theorem 1's precondition anyway, to watch the safety checker report it */
  readonly allowUnsafe?: boolean;
}

export interface RunData {
  readonly schemaVersion: number;
  readonly scenario: { readonly file: string; readonly name: string; readonly description: string };
  /** things the loader noticed that are legal but probably not meant (a program at 0 with pc 0x80, no expectations) */
  readonly warnings: readonly string[];
  readonly runs: readonly RunColumn[];
  /** with under 'all': the kinds that cannot run this scenario, and why */
  readonly skipped?: readonly { readonly under: UnderKind; readonly reason: string }[];
  /** with VMM runs: every VMM run's verdicts together (details per run in runs[].checks) */
  readonly checks?: ChecksSummary;
  /** with a file listing VMs: where the VMs live in real memory */
  readonly host?: { readonly memorySize: number; readonly reserve: number; readonly vms: readonly { readonly name: string; readonly addr0: number; readonly vmsize: number }[] };
  /** with compare: the paging twin check */
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
  /** the budget of instructions retired this run had */
  readonly budget: number;
  readonly retired: number;
  readonly psw: ReturnType<typeof pswJson>;
  readonly registers: readonly number[];
  readonly instructions: Readonly<Record<string, number>>;
  readonly traps: Readonly<Record<string, number>>;
  /** the console output kept (its first MAX_CONSOLE_CHARS characters) */
  readonly console: string;
  /** characters written in all, when more than were kept */
  readonly consoleWritten?: number;
  readonly framesAllocated?: number;
  /** wall-clock seconds (with timing only) */
  readonly seconds?: number;
  readonly checks?: ChecksJson;
  /** vmm2 runs: what the assembly VMM did (its trap log's size, its own equivalence, its allowance) */
  readonly vmm2?: UnderRun['vmm2'];
  /** VMM runs: where the guest's memory lay in host memory (its physmap: page runs gPA -> hPA) */
  readonly placement?: UnderRun['placement'];
  /** paging runs: the real MMU's TLB misses and the table entries its walks read */
  readonly mmu?: UnderRun['mmu'];
  readonly expectations: { readonly ok: boolean; readonly checked: boolean; readonly failures: readonly ExpectationFailure[]; readonly note?: string };
  readonly trace?: readonly TraceJson[];
  readonly traceTruncated?: boolean;
}

/** A trace entry as printed: instructions carry their disassembled text. */
export type TraceJson = Exclude<TraceEntry, InstructionTrace> | (InstructionTrace & { readonly text: string });

/** A VMM run's verdicts, with their figures and the first failure (snapshots left out). */
export interface ChecksJson {
  readonly equivalence: {
    readonly holds: boolean;
    readonly compared: number;
    readonly firstDifference?: DivergenceSummary;
    /** where the states first part: the instruction after which they differ (bisected by rerunning; absent when not found) */
    readonly firstDifferentInstruction?: { readonly after: number; readonly pc: number; readonly text?: string; readonly field: string; readonly bare: unknown; readonly actual: unknown; readonly probes: number };
    readonly coherence?: CoherenceFigures;
    /** where the run took another allowed translation than the bare TLB's, the first such point (see docs/vmm.md) */
    readonly tlbNondeterminism?: TlbNondeterminism<DivergenceSummary>;
  };
  readonly safety: {
    readonly holds: boolean;
    readonly level: string;
    /** host accesses the checker observed one by one for this VM */
    readonly accesses: number;
    /** translation windows it approved for this VM (host ranges checked whole) */
    readonly windows: number;
    /** violations, all counted */
    readonly violations: number;
    readonly reserveIntact: boolean;
    /** why nothing was checked */
    readonly note?: string;
    readonly first?: Record<string, unknown>;
  };
  readonly efficiency: {
    readonly holds: boolean;
    readonly criterion: string;
    /** share of guest instructions executed directly */
    readonly direct: number;
    readonly exitsPer1000: number;
    /** VMM wall time per exit (with timing only) */
    readonly usPerExit?: number;
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

/**
 * Runs the loaded scenario as `o` asks and returns the record. Throws UsageError for options
 * that do nothing here or name nothing, InputError when a kind cannot run the scenario.
 */
export function runRecord(s: Scenario, o: RecordOptions = {}): RunData {
  const { kinds, skipped } = chooseKinds(o.under, s, o.allowUnsafe === true);
  if (o.allowUnsafe && kinds.every((k) => k === 'bare')) throw new UsageError('--allow-unsafe lets the VMMs run an unsafe guest, and no VMM run is asked for (--under vmm, hvm, vmm2 or all)');
  if (o.trace && !kinds.includes('bare')) throw new UsageError(`--trace traces the bare run, and none is asked for (--under ${kinds.join(',')}); add bare`);
  const runs = runUnder(s, kinds, {
    trace: o.trace,
    traceLimit: Math.min(o.traceLimit ?? DEFAULT_TRACE_LIMIT, MAX_TRACE_LIMIT),
    ...(o.steps === undefined ? {} : { steps: o.steps }),
    ...(o.progress ? { progress: o.progress } : {}),
    allowUnsafe: o.allowUnsafe === true,
  }).map((r) => runColumn(r, o.timing === true));
  const checks = summarize(runs);
  const compare = o.compare === undefined ? undefined : compareJson(s, o.steps ?? s.spec.steps, o.compare.geometry);
  const host = s.host && {
    memorySize: s.host.layout.memorySize,
    reserve: s.host.layout.reserve,
    vms: s.host.vms.map((vm, i) => ({ name: vm.name, ...s.host!.layout.allocations[i] })),
  };
  return {
    schemaVersion: SCHEMA_VERSION,
    scenario: { file: s.file, name: s.name, description: s.description },
    warnings: s.warnings,
    runs,
    ...(skipped.length ? { skipped } : {}),
    ...(checks ? { checks } : {}),
    ...(host ? { host } : {}),
    ...(compare ? { compare } : {}),
    ok: runs.every((r) => r.expectations.ok) && (compare?.holds ?? true),
  };
}

/** The kinds to run: those asked for (each must be able to run `s`), or all that can. */
function chooseKinds(under: RecordOptions['under'], s: Scenario, allowUnsafe: boolean): { kinds: UnderKind[]; skipped: { under: UnderKind; reason: string }[] } {
  if (under === undefined) return { kinds: [s.host ? (s.host.vms.every((vm) => vm.guest.paging) ? 'nested' : 'vmm') : 'bare'], skipped: [] };
  if (under !== 'all') return { kinds: [...new Set(under)], skipped: [] };
  const reasons = UNDER_KINDS.map((kind) => ({ under: kind, reason: whyNotUnder(kind, s, { allowUnsafe }) }));
  return { kinds: reasons.filter((r) => !r.reason).map((r) => r.under), skipped: reasons.filter((r): r is { under: UnderKind; reason: string } => r.reason !== undefined) };
}

/** compare segment: the scenario's user stretches against their paging twins. */
function compareJson(s: Scenario, budget: number, geometryName: string): CompareJson {
  if (s.host || s.spec.machine.translation !== 'segment') throw new UsageError(`--compare segment needs a segment scenario with one guest; ${s.name} is not`);
  const geometry = geometryByName(geometryName);
  if (!geometry) throw new UsageError(`--geometry: unknown geometry '${geometryName}' (presets: ${GEOMETRY_NAMES.join(', ')})`);
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
export function runColumn(r: UnderRun, timing = false): RunColumn {
  const s = r.guest;
  const vmm = r.under === 'bare' ? undefined : r.under;
  const stateChecked = !vmm || expectsBareEnd(s, vmm);
  const failures = [...(stateChecked ? checkExpectations(s, r) : []), ...(vmm && r.checks ? checkVerdicts(s, vmm, r.checks) : [])];
  const checked = s.spec.expect !== undefined || vmm !== undefined;
  return {
    label: r.vm ? `${r.vm} (${r.under})` : r.under,
    under: r.under,
    ...(r.vm ? { vm: r.vm } : {}),
    end: r.end,
    budget: r.budget,
    retired: r.retired,
    psw: pswJson(r.final, s.profile.modes),
    registers: r.final.regs.map((v) => v >>> 0),
    instructions: r.instructions,
    traps: r.traps,
    console: r.final.console,
    ...(r.final.consoleWritten > r.final.console.length ? { consoleWritten: r.final.consoleWritten } : {}),
    ...(r.framesAllocated === undefined ? {} : { framesAllocated: r.framesAllocated }),
    ...(timing ? { seconds: r.seconds } : {}),
    ...(r.checks ? { checks: checksJson(r.checks, timing, r.divergedAt && divergedJson(r.divergedAt, s.profile)) } : {}),
    ...(r.vmm2 ? { vmm2: r.vmm2 } : {}),
    ...(r.placement ? { placement: r.placement } : {}),
    ...(r.mmu ? { mmu: r.mmu } : {}),
    expectations: {
      ok: failures.length === 0,
      checked,
      failures,
      ...(stateChecked ? {} : { note: 'the scenario expects this run not to end as bare (not equivalent, or within TLB nondeterminism): only its verdicts are checked' }),
    },
    ...(r.trace ? { trace: r.trace.map((e) => (e.kind === 'instruction' ? { ...e, text: disassemble(e.header, e.imm, s.profile) } : e)), traceTruncated: r.traceTruncated } : {}),
  };
}

/** locateDivergence's answer as printed: the instruction disassembled, the difference's values bounded like a divergence's. */
function divergedJson(d: DivergentInstruction, profile: Profile): NonNullable<ChecksJson['equivalence']['firstDifferentInstruction']> {
  const { bare, actual } = summarizeDivergence({ index: 0, retired: 0, agreed: 0, field: d.difference.field, bare: d.difference.a, actual: d.difference.b });
  return { after: d.retired, pc: d.pc, ...(d.words ? { text: disassemble(d.words[0], d.words[1], profile) } : {}), field: d.difference.field, bare, actual, probes: d.probes };
}

function checksJson(c: GuestChecks, timing: boolean, divergedAt?: ChecksJson['equivalence']['firstDifferentInstruction']): ChecksJson {
  const { first, ...equivalence } = summarizeEquivalence(c.equivalence);
  const sf = c.safety.first;
  const f = c.efficiency;
  return {
    equivalence: { ...equivalence, ...(first ? { firstDifference: first } : {}), ...(divergedAt ? { firstDifferentInstruction: divergedAt } : {}) },
    safety: {
      holds: c.safety.holds,
      level: c.safety.level,
      accesses: c.safety.accesses,
      windows: c.safety.windows,
      violations: c.safety.violations,
      reserveIntact: c.safety.reserveIntact,
      ...(c.safety.note ? { note: c.safety.note } : {}),
      ...(sf ? { first: { kind: sf.kind, path: sf.path, retired: sf.retired, ...(sf.address === undefined ? {} : { address: sf.address, bytes: sf.bytes, access: sf.access }), detail: sf.detail } } : {}),
    },
    efficiency: {
      holds: f.holds,
      criterion: f.criterion,
      direct: f.directShare,
      exitsPer1000: f.exitsPer1000,
      ...(timing ? { usPerExit: f.usPerExit } : {}),
      actionsPerExit: f.actionsPerExit,
      exits: f.exits,
    },
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
