// `shadowlab bench`: guest instructions per second bare (segment, paging) and under the VMM.

import type { Command } from 'commander';
import { runBench, type BenchFigures } from '../../bench/bench.js';
import type { Outcome } from '../main.js';
import { parseCount } from '../options.js';
import { SCHEMA_VERSION } from '../../scenario/record.js';
import { findBundled } from '../../scenario/bundled.js';
import { loadScenario } from '../../scenario/load.js';
import { guestOf } from '../../scenario/under.js';
import type { Geometry } from '../../paging/index.js';
import type { DiffRow } from '../../shadow/index.js';
import { printDiff } from './diff.js';
import { jsonText } from '../format.js';

interface BenchOptions {
  json?: boolean;
  runs: string;
  instructions: string;
}

export interface BenchData extends BenchFigures {
  readonly schemaVersion: number;
  readonly runs: number;
  readonly instructions: number;
}

export function registerBench(program: Command, done: (o: Outcome) => void): void {
  program
    .command('bench')
    .description('measure guest instructions per second: bare (segment, paging) and under the VMM')
    .option('--runs <n>', 'runs per figure (the median is reported)', process.env.BENCH_RUNS ?? '5')
    .option('--instructions <n>', 'guest instructions per run (at least 1000000)', process.env.BENCH_INSTRUCTIONS ?? '20000000')
    .option('--json', 'print the figures as JSON')
    .action((opts: BenchOptions) => {
      const runs = parseCount(opts.runs, '--runs', 1, 100);
      const instructions = parseCount(opts.instructions, '--instructions', MIN_BENCH_INSTRUCTIONS, 1e9);
      const churn = loadScenario(findBundled('shadow/churn')!);
      const renderDiff = (geometry: Geometry, rows: readonly DiffRow[]) =>
        printDiff({ schemaVersion: SCHEMA_VERSION, scenario: { name: 'bench', file: '-' }, under: 'shadow-eager', vm: { index: 0, name: 'bench' }, geometry: geometry.name, exits: 1, changes: rows.length, from: 1, to: 1, rows, dropped: 0 });
      const figures = runBench({ runs, instructions, churn: { guest: guestOf(churn), ...(churn.vmm.nested ? { nested: churn.vmm.nested } : {}) }, renderDiff }, opts.json ? undefined : (line) => process.stdout.write(`${line}\n`));
      if (opts.json) process.stdout.write(`${jsonText({ schemaVersion: SCHEMA_VERSION, runs, instructions, ...figures } satisfies BenchData)}\n`);
      done('ok');
    });
}

/** Fewer instructions per run measure the JIT's warm-up, not the machine: figures would be noise. */
export const MIN_BENCH_INSTRUCTIONS = 1_000_000;
