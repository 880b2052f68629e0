// `shadowlab run <scenario>`: run a scenario and check its expectations.

import type { Command } from 'commander';
import { ST_IE, ST_MODE_MASK, ST_NXE, ST_PG, ST_SUM, ST_WP } from '../../isa/arch.js';
import type { MachineSnapshot } from '../../isa/snapshot.js';
import { buildMachine } from '../../scenario/build.js';
import { checkExpectations, type ExpectationFailure } from '../../scenario/expect.js';
import { loadScenario, type Scenario } from '../../scenario/load.js';
import { runMachine, type RunResult, type TraceEntry } from '../../scenario/run.js';
import { heading, hex, table } from '../format.js';
import { compareSegmentWithPaging, type SegmentPagingDifference, type SegmentPagingResult } from '../../checker/segment-paging.js';
import { GEOMETRIES } from '../../paging/index.js';
import { UsageError, type Outcome } from '../main.js';

export const SCHEMA_VERSION = 1;

interface RunOptions {
  json?: boolean;
  trace?: boolean;
  steps?: string;
  compare?: string;
  geometry: string;
}

export interface RunData {
  readonly schemaVersion: number;
  readonly scenario: { readonly file: string; readonly name: string; readonly description: string };
  readonly runs: readonly RunColumn[];
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
  readonly under: string;
  readonly end: RunResult['end'];
  readonly retired: number;
  readonly psw: ReturnType<typeof pswJson>;
  readonly registers: readonly number[];
  readonly instructions: Readonly<Record<string, number>>;
  readonly traps: Readonly<Record<string, number>>;
  readonly console: string;
  readonly framesAllocated: number;
  readonly seconds: number;
  readonly expectations: { readonly ok: boolean; readonly failures: readonly ExpectationFailure[] };
  readonly trace?: readonly TraceEntry[];
  readonly traceTruncated?: boolean;
}

export function registerRun(program: Command, done: (o: Outcome) => void): void {
  program
    .command('run')
    .description('run a scenario file and check its expectations')
    .argument('<scenario>', 'scenario file (YAML)')
    .option('--json', 'print the results as JSON')
    .option('--trace', 'list every instruction (virtual -> physical addresses) and every trap')
    .option('--steps <n>', "override the scenario's budget of instructions retired")
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
  const budget = opts.steps === undefined ? s.spec.steps : parseSteps(opts.steps);
  const m = buildMachine(s);
  const r = runMachine(m, budget, { trace: opts.trace });
  const column = runColumn(s, 'bare', r);
  const compare = opts.compare === undefined ? undefined : compareJson(s, budget, opts);
  return {
    schemaVersion: SCHEMA_VERSION,
    scenario: { file, name: s.name, description: s.description },
    runs: [column],
    ...(compare ? { compare } : {}),
    ok: column.expectations.ok && (compare?.holds ?? true),
  };
}

/** --compare segment: the scenario's user stretches against their paging twins. */
function compareJson(s: Scenario, budget: number, opts: RunOptions): CompareJson {
  if (opts.compare !== 'segment') throw new UsageError(`--compare: expected 'segment', got '${opts.compare}'`);
  if (s.spec.machine.translation !== 'segment') throw new UsageError(`--compare segment needs a segment scenario; ${s.name} uses '${s.spec.machine.translation}'`);
  const geometry = GEOMETRIES[opts.geometry];
  if (!geometry) throw new UsageError(`--geometry: unknown geometry '${opts.geometry}' (presets: ${Object.keys(GEOMETRIES).join(', ')})`);
  const { firstDifference, ...r } = compareSegmentWithPaging(buildMachine(s), budget, { geometry });
  if (!firstDifference) return { against: 'paging', ...r };
  const { segmentState: _s, pagingState: _p, ...d } = firstDifference;
  return { against: 'paging', ...r, firstDifference: d };
}

function parseSteps(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--steps: expected a positive integer, got '${text}'`);
  return n;
}

export function runColumn(s: Scenario, under: string, r: RunResult): RunColumn {
  const failures = checkExpectations(s, r);
  return {
    under,
    end: r.end,
    retired: r.retired,
    psw: pswJson(r.final, s.profile.modes),
    registers: r.final.regs.map((v) => v >>> 0),
    instructions: r.instructions,
    traps: r.traps,
    console: r.final.console,
    framesAllocated: r.framesAllocated,
    seconds: r.seconds,
    expectations: { ok: failures.length === 0, failures },
    ...(r.trace ? { trace: r.trace, traceTruncated: r.traceTruncated } : {}),
  };
}

function pswJson(f: MachineSnapshot, modes: readonly string[]) {
  const st = f.psw.status;
  return {
    pc: f.psw.pc,
    mode: modes[st & ST_MODE_MASK],
    base: f.psw.base,
    limit: f.psw.limit,
    ptbr: f.psw.ptbr,
    ie: (st & ST_IE) !== 0,
    pg: (st & ST_PG) !== 0,
    wp: (st & ST_WP) !== 0,
    nxe: (st & ST_NXE) !== 0,
    sum: (st & ST_SUM) !== 0,
    status: st >>> 0,
    extra: f.psw.extra >>> 0,
  };
}

/** The human-readable report. */
export function printRun(d: RunData): string {
  const out: string[] = [`scenario ${d.scenario.name}${d.scenario.description ? ` — ${d.scenario.description}` : ''}`];
  for (const r of d.runs) if (r.trace) out.push(heading(`trace (${r.under})`), printTrace(r.trace, r.traceTruncated));
  out.push('', printRunColumns(d.runs));
  for (const r of d.runs) {
    const label = d.runs.length > 1 ? ` (${r.under})` : '';
    out.push(heading(`instructions retired, by kind${label}`), printCounts(r.instructions));
    out.push(heading(`console${label}:`), r.console ? r.console.replace(/\n?$/, '') : '(empty)');
  }
  for (const r of d.runs) {
    const label = d.runs.length > 1 ? ` (${r.under})` : '';
    out.push('', r.expectations.ok ? `expectations${label}: all met` : `expectations${label}: ${r.expectations.failures.length} failed`);
    if (!r.expectations.ok) out.push(table(['field', 'expected', 'actual'], r.expectations.failures.map((f) => [f.field, f.expected, f.actual])));
  }
  if (d.compare) out.push(heading('compare: segment vs paging'), printCompare(d.compare));
  return `${out.join('\n')}\n`;
}

/** The final state of every run side by side: one column per run. */
function printRunColumns(runs: readonly RunColumn[]): string {
  const causes = [...new Set(runs.flatMap((r) => Object.keys(r.traps)))];
  const row = (name: string, f: (r: RunColumn) => string | number) => [name, ...runs.map(f)];
  const flags = (r: RunColumn) => [r.psw.ie, r.psw.pg, r.psw.wp, r.psw.nxe, r.psw.sum].map((b) => (b ? 1 : 0)).join(' ');
  const rows = [
    row('end', (r) => r.end),
    row('instructions retired', (r) => r.retired),
    row('pc', (r) => hex(r.psw.pc)),
    row('mode', (r) => r.psw.mode),
    row('base / limit', (r) => `${hex(r.psw.base)} / ${hex(r.psw.limit)}`),
    row('ptbr', (r) => hex(r.psw.ptbr)),
    row('ie pg wp nxe sum', flags),
    ...r16().map((i) => row(`r${i}`, (r) => `${hex(r.registers[i], 8)} ${r.registers[i] | 0}`)),
    ...(causes.length ? causes.map((c) => row(`traps: ${c}`, (r) => r.traps[c] ?? 0)) : [row('traps', () => 'none')]),
    row('frames allocated', (r) => r.framesAllocated),
    row('time', (r) => `${(r.seconds * 1000).toFixed(1)} ms`),
  ];
  return table(['', ...runs.map((r) => r.under)], rows);
}

function r16(): number[] {
  return Array.from({ length: 16 }, (_, i) => i);
}

/** Counts by name, most frequent first, four pairs per line. */
function printCounts(counts: Readonly<Record<string, number>>): string {
  const cells = Object.entries(counts)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([k, v]) => `${k.padEnd(9)} ${String(v).padStart(8)}`);
  const lines: string[] = [];
  for (let i = 0; i < cells.length; i += 4) lines.push(`  ${cells.slice(i, i + 4).join('    ')}`);
  return lines.join('\n') || '  (none)';
}

export function printCompare(c: CompareJson): string {
  const lines = [
    `geometry ${c.geometry}: ${c.stretches} user stretches, ${c.instructions} instructions in lockstep, ${c.boundsMatched} bounds traps met by page faults at the same instruction`,
  ];
  if (c.skipped) lines.push(`skipped ${c.skipped} stretches: ${c.skipReasons.join('; ')}`);
  const d = c.firstDifference;
  const verdict = c.stretches === 0 ? 'nothing compared: no user stretch could be mapped' : 'equivalent: the same registers, PC, accesses and memory at every step';
  lines.push(c.holds ? verdict : `DIFFERENT at instruction ${d!.retired} (pc ${hex(d!.pc)}): ${d!.field}: segment ${String(d!.segment)}, paging ${String(d!.paging)}`);
  return lines.join('\n');
}

/** One line per instruction (mode, retired count, pc -> pa, text, data access) and per trap. */
export function printTrace(trace: readonly TraceEntry[], truncated?: boolean): string {
  const rows = trace.map((e) => {
    if (e.kind === 'instruction') {
      const data = e.data ? `  ${e.data.access} ${hex(e.data.va)} -> ${hex(e.data.pa)}` : '';
      return `${String(e.retired).padStart(6)} ${e.mode}  fetch ${hex(e.pc)} -> ${hex(e.pa)}  ${e.text.padEnd(24)}${data}${e.trapped ? '  (trapped)' : ''}`;
    }
    const addr = e.vaddr || e.error ? ` address ${hex(e.vaddr)} error ${hex(e.error)}` : '';
    const detail = e.detail ? ` detail ${e.detail}` : '';
    return e.doubleFault
      ? `       ** double fault: ${e.cause}${addr} while entering a trap handler; machine stopped`
      : `       ** trap ${e.cause}${addr}${detail}: old PSW (pc ${hex(e.savedPc)}, mode ${e.mode}) -> MEM[1], new PSW from MEM[0] (pc ${hex(e.newPc!)})`;
  });
  if (truncated) rows.push('       ... trace truncated');
  return rows.join('\n');
}
