// `shadowlab run <scenario>...`: run scenarios — bare, under the VMMs, or their VMs together —
// and check their expectations and the checkers' verdicts. The record is built by
// scenario/record.ts (what --json prints); run-report.ts renders it.

import type { Command } from 'commander';
import { InputError, printable, UsageError } from '../../scenario/errors.js';
import { readStdin, InputFileError } from '../../scenario/input.js';
import { loadScenario, parseScenario, type Scenario } from '../../scenario/load.js';
import { DEFAULT_TRACE_LIMIT, MAX_TRACE_LIMIT, runRecord, SCHEMA_VERSION, type RecordOptions, type RunData } from '../../scenario/record.js';
import { UNDER_KINDS, type UnderKind } from '../../scenario/under.js';
import { MAX_STEPS, parseCount } from '../options.js';
import { resolveTargets, type Target } from '../targets.js';
import type { Outcome } from '../main.js';
import { jsonText } from '../format.js';
import { printRun } from './run-report.js';

interface RunOptions {
  json?: boolean;
  trace?: boolean;
  traceLimit?: string;
  steps?: string;
  under?: string;
  compare?: string;
  geometry?: string;
  timing?: boolean;
  allowUnsafe?: boolean;
}

/** One scenario of a run with several: its record, or why it could not run. */
export type RunResult = RunData | { readonly scenario: { readonly file: string }; readonly error: string; readonly ok: false };

/** What `run --json` prints for several scenarios. */
export interface RunManyData {
  readonly schemaVersion: number;
  readonly scenarios: readonly RunResult[];
  readonly summary: RunSummaryLine;
}

export interface RunSummaryLine {
  readonly total: number;
  readonly ok: number;
  readonly failed: number;
  readonly badInput: number;
}

export function registerRun(program: Command, done: (o: Outcome) => void): void {
  program
    .command('run')
    .description('run scenario files and check their expectations')
    .argument('<scenario...>', 'scenario files, globs (quoted), bundled scenario names (lde, vmm/jrst), or - for standard input')
    .option('--json', 'print the results as JSON')
    .option('--trace', 'list every instruction (virtual -> physical addresses) and every trap of the bare run')
    .option('--trace-limit <n>', `trace entries to keep (default ${DEFAULT_TRACE_LIMIT}, at most ${MAX_TRACE_LIMIT}; the run goes on past them)`)
    .option('--steps <n>', "the budget of instructions retired, instead of the scenario's")
    .option('--under <kinds>', `${UNDER_KINDS.join(' | ')} | all, or a comma list (default: bare; vmm for a file that lists VMs)`)
    .option('--compare <machine>', "'segment': re-run every user stretch of this segment scenario on a paging machine mapping [0, L) at B, and compare step by step")
    .option('--geometry <name>', 'the paging geometry for --compare (default x86-32)')
    .option('--allow-unsafe', "run under the VMMs a guest whose instruction set lets user mode change the resource-control state (Theorem 1's precondition fails), to watch the safety checker report the breach")
    .option('--timing', 'include wall-clock times (run seconds, µs per VMM exit); without it the output is the same for the same input')
    .action((args: string[], opts: RunOptions) => done(runCommand(args, opts)));
}

/** Runs every scenario named; prints each (and a summary line for several); returns the outcome. */
function runCommand(args: readonly string[], opts: RunOptions): Outcome {
  const options = recordOptions(opts);
  const targets = resolveTargets(args);
  if (targets.length === 1) {
    const data = runTarget(targets[0], options, opts.json === true);
    process.stdout.write(opts.json ? `${jsonText(data)}\n` : printable(printRun(data)));
    return data.ok ? 'ok' : 'failed';
  }
  const results = targets.map((t) => runOne(t, options, opts.json === true));
  const summary = summarize(results);
  if (opts.json) process.stdout.write(`${jsonText({ schemaVersion: SCHEMA_VERSION, scenarios: results, summary } satisfies RunManyData)}\n`);
  else process.stdout.write(`${summaryLine(summary)}\n`);
  return summary.badInput > 0 ? 'bad-input' : summary.failed > 0 ? 'failed' : 'ok';
}

/** One of several: printed as it finishes (text), bad input reported and counted, not thrown. */
function runOne(t: Target, options: RecordOptions, json: boolean): RunResult {
  try {
    const data = runTarget(t, options, json);
    if (!json) process.stdout.write(`${printable(printRun(data))}\n`);
    return data;
  } catch (e) {
    if (!(e instanceof InputError || e instanceof UsageError)) throw e;
    if (!json) process.stderr.write(`shadowlab: ${printable(e.message).split('\n').join('\nshadowlab: ')}\n`);
    return { scenario: { file: t.kind === 'stdin' ? '-' : t.path }, error: e.message, ok: false };
  }
}

/** Loads and runs one target; its warnings go to stderr first (in JSON they are a field). */
function runTarget(t: Target, options: RecordOptions, json: boolean): RunData {
  const s = loadTarget(t);
  if (!json) for (const w of s.warnings) process.stderr.write(`shadowlab: ${printable(w)}\n`);
  const progress = progressLine();
  try {
    return runRecord(s, progress ? { ...options, progress: progress.show } : options);
  } finally {
    progress?.clear();
  }
}

/** The scenario a target names; standard input's relative paths start at the working directory. */
export function loadTarget(t: Target): Scenario {
  if (t.kind === 'file') return loadScenario(t.path);
  let text: string;
  try {
    text = readStdin();
  } catch (e) {
    if (e instanceof InputFileError) throw new InputError([{ file: '<stdin>', message: e.message }]);
    throw e;
  }
  return parseScenario(text, '<stdin>', { dir: process.cwd() });
}

/** The CLI's options as the record's, checked: integers strict, options that would do nothing refused. */
function recordOptions(o: RunOptions): RecordOptions {
  if (o.geometry !== undefined && o.compare === undefined) throw new UsageError('--geometry chooses the paging twin of --compare segment; it does nothing without --compare');
  if (o.traceLimit !== undefined && !o.trace) throw new UsageError('--trace-limit does nothing without --trace');
  if (o.compare !== undefined && o.compare !== 'segment') throw new UsageError(`--compare: expected 'segment', got '${o.compare}'`);
  return {
    ...(o.under === undefined ? {} : { under: parseUnder(o.under) }),
    ...(o.steps === undefined ? {} : { steps: parseCount(o.steps, '--steps', 1, MAX_STEPS) }),
    trace: o.trace === true,
    ...(o.traceLimit === undefined ? {} : { traceLimit: parseCount(o.traceLimit, '--trace-limit', 1, MAX_TRACE_LIMIT) }),
    ...(o.compare === undefined ? {} : { compare: { geometry: o.geometry ?? 'x86-32' } }),
    timing: o.timing === true,
    allowUnsafe: o.allowUnsafe === true,
  };
}

/** --under: a comma list of kinds, or all. */
export function parseUnder(text: string): readonly UnderKind[] | 'all' {
  if (text.trim() === 'all') return 'all';
  const kinds = text.split(',').map((k) => k.trim());
  for (const k of kinds) if (!(UNDER_KINDS as readonly string[]).includes(k)) throw new UsageError(`--under: expected ${UNDER_KINDS.join(', ')} or all, got '${k}'`);
  return kinds as UnderKind[];
}

/** A progress line on stderr for long runs, when it is a terminal (else undefined). */
function progressLine(): { show: NonNullable<RecordOptions['progress']>; clear: () => void } | undefined {
  if (!process.stderr.isTTY) return undefined;
  let shown = false;
  return {
    show: (run, retired, budget) => {
      shown = true;
      process.stderr.write(`\r${printable(run)}: ${(retired / 1e6).toFixed(1)}M of ${(budget / 1e6).toFixed(1)}M instructions retired\x1b[K`);
    },
    clear: () => {
      if (shown) process.stderr.write('\r\x1b[K');
    },
  };
}

function summarize(results: readonly RunResult[]): RunSummaryLine {
  const badInput = results.filter((r) => 'error' in r).length;
  const ok = results.filter((r) => r.ok).length;
  return { total: results.length, ok, failed: results.length - ok - badInput, badInput };
}

export function summaryLine(s: RunSummaryLine): string {
  return `${s.total} scenarios: ${s.ok} ok, ${s.failed} failed, ${s.badInput} with bad input`;
}

