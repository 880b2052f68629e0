// `shadowlab diff <scenario>`: the shadow-table changes of a paging guest run under the
// shadow-paging VMM, exit by exit (scenario/diff.ts builds the data; --json prints it).

import type { Command } from 'commander';
import { diffRecord, type DiffData } from '../../scenario/diff.js';
import type { DecodedEntry, DiffRow } from '../../shadow/index.js';
import { printable, UsageError } from '../../scenario/errors.js';
import { count, hex, jsonText, tableLines, textChunks } from '../format.js';
import type { Outcome } from '../main.js';
import { MAX_STEPS, parseCount } from '../options.js';
import { resolveTargets } from '../targets.js';
import { loadTarget } from './run.js';

interface DiffCliOptions {
  vm?: string;
  from?: string;
  to?: string;
  steps?: string;
  json?: boolean;
}

/** Rows printed at most (the JSON has them all). */
const MAX_ROWS = 2000;

export function registerDiff(program: Command, done: (o: Outcome) => void): void {
  program
    .command('diff')
    .description('show how the shadow page tables of a paging guest change, exit by exit, under the shadow-paging VMM')
    .argument('<scenario>', 'scenario file (YAML), a bundled scenario name, or - for standard input')
    .option('--vm <n>', 'which VM of a scenario that lists VMs (default 0)')
    .option('--from <exit>', 'the first VMM exit to show (exits are numbered from 1)')
    .option('--to <exit>', 'the last VMM exit to show')
    .option('--steps <n>', "the budget of guest instructions, instead of the scenario's")
    .option('--json', 'print the changes as JSON')
    .action((file: string, opts: DiffCliOptions) => {
      const targets = resolveTargets([file]);
      if (targets.length !== 1) throw new UsageError(`diff takes one scenario; '${file}' names ${targets.length}`);
      const exit = (v: string | undefined, name: string) => (v === undefined ? undefined : parseCount(v, name, 0, 2 ** 31));
      const from = exit(opts.from, '--from');
      const to = exit(opts.to, '--to');
      if (from !== undefined && to !== undefined && from > to) throw new UsageError(`--from ${from} is after --to ${to}`);
      const data = diffRecord(loadTarget(targets[0]), {
        ...(opts.vm === undefined ? {} : { vm: parseCount(opts.vm, '--vm', 0, 63) }),
        ...(from === undefined ? {} : { from }),
        ...(to === undefined ? {} : { to }),
        ...(opts.steps === undefined ? {} : { steps: parseCount(opts.steps, '--steps', 1, MAX_STEPS) }),
      });
      if (opts.json) process.stdout.write(`${jsonText(data)}\n`);
      else for (const chunk of printDiff(data)) process.stdout.write(printable(chunk));
      done('ok');
    });
}

const entry = (e: DecodedEntry | undefined) => (e ? `${hex(e.hpa)} ${e.flags}` : '-');

/** What `shadowlab diff` prints for `d`: the text in chunks of whole lines (textChunks), to be written one after another. */
export function printDiff(d: DiffData): string[] {
  return textChunks(diffLines(d));
}

/** The lines of the diff of `d`, without line ends: a summary, then the rows as a table (at most MAX_ROWS). */
function diffLines(d: DiffData): string[] {
  const out = [
    `scenario ${d.scenario.name}, VM ${d.vm.index} (${d.vm.name}) under shadow-eager: ${d.geometry} shadow tables, ${count(d.exits, 'exit')}, ${count(d.changes, 'entry change')}`,
    `exits ${d.from} to ${d.to}: ${count(d.rows.length, 'row')} (consecutive pages changed alike are one row)`,
  ];
  if (d.dropped) out.push(`(the first ${count(d.dropped, 'change')} fell out of the log and are not shown)`);
  if (d.rows.length === 0) return out;
  const lines = out.concat(tableLines(['exit (cause)', 'reason', 'space (root, view)', 'gVA', 'before (hPA, rwxuad)', 'after'], diffCells(d.rows.slice(0, MAX_ROWS))));
  if (d.rows.length > MAX_ROWS) lines.push(`... ${count(d.rows.length - MAX_ROWS, 'more row')} (--json has them all)`);
  return lines;
}

/** The table cells of each row; a row of the same exit and space as the one before reuses its texts for them (rows come in runs of both). */
function diffCells(rows: readonly DiffRow[]): string[][] {
  let prev: DiffRow | undefined;
  let exit = '';
  let space = '';
  return rows.map((r) => {
    if (prev?.event !== r.event || prev.cause !== r.cause) exit = `${r.event} ${r.cause}`;
    if (prev?.guestRoot !== r.guestRoot || prev.view !== r.view) space = `${r.guestRoot < 0 ? 'physical' : hex(r.guestRoot)} ${r.view}`;
    prev = r;
    return [exit, r.reason, space, r.pages === 1 ? hex(r.gva) : `${hex(r.gva)} +${r.pages} pages`, entry(r.before), entry(r.after)];
  });
}
