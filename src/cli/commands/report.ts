// `shadowlab report <scenario>` and `report --from FILE...`: one self-contained HTML page of a
// run — summary and checks, memory map, page-table trees, walks, the shadow diff timeline —
// written whole or not at all (a temporary file renamed into place). src/report builds it.

import { lstatSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Command } from 'commander';
import { reportData, type ReportData } from '../../report/data.js';
import { reportFromFiles } from '../../report/from.js';
import { reportHtml } from '../../report/html.js';
import { InputError, UsageError } from '../../scenario/errors.js';
import { count, jsonText } from '../format.js';
import type { Outcome } from '../main.js';
import { resolveTargets } from '../targets.js';
import { loadTarget, parseUnder } from './run.js';

interface ReportCliOptions {
  under?: string;
  from?: string[];
  output?: string;
  json?: boolean;
  allowUnsafe?: boolean;
}

export function registerReport(program: Command, done: (o: Outcome) => void): void {
  program
    .command('report')
    .description('write one self-contained HTML page of a run: summary and checks, memory map, page-table trees, walks and the shadow diff timeline')
    .argument('[scenario]', 'scenario file (YAML), a bundled scenario name, or - for standard input')
    .option('--under <kinds>', 'the kinds to run, as run takes them (default: bare and the VMMs that can run the guest: vmm for a segment guest, nested and shadow-eager for a paging one)')
    .option('--from <files...>', 'make the page from JSON saved earlier: run --json, diff --json, walk --json of one scenario, or report --json')
    .option('-o, --output <file>', 'where to write the page (default: NAME.report.html in the working directory)')
    .option('--allow-unsafe', 'run under the VMMs a guest they refuse (see run --allow-unsafe)')
    .option('--json', "print the report's data (the page's embedded JSON) instead of the page; with -o, write it there")
    .action((file: string | undefined, opts: ReportCliOptions) => {
      const data = collect(file, opts);
      const text = opts.json ? `${jsonText(data)}\n` : reportHtml(jsonText(data), data.scenario.name);
      if (opts.json && opts.output === undefined) process.stdout.write(text);
      else {
        const path = opts.output ?? `${data.scenario.name.replace(/[^\w.-]+/g, '-')}.report.html`;
        writeWhole(path, text);
        process.stdout.write(`wrote ${path}: ${contents(data)}\n`);
      }
      done(data.run && !data.run.ok ? 'failed' : 'ok');
    });
}

/** The report's data: a scenario run now, or JSON files saved earlier. */
function collect(file: string | undefined, opts: ReportCliOptions): ReportData {
  if (opts.from !== undefined) {
    if (file !== undefined) throw new UsageError(`report takes a scenario or --from, not both ('${file}' and --from)`);
    if (opts.under !== undefined || opts.allowUnsafe) throw new UsageError('--under and --allow-unsafe choose how a scenario runs; with --from nothing runs');
    return reportFromFiles(opts.from);
  }
  if (file === undefined) throw new UsageError('report needs a scenario (or --from FILE...)');
  const targets = resolveTargets([file]);
  if (targets.length !== 1) throw new UsageError(`report takes one scenario; '${file}' names ${targets.length}`);
  return reportData(loadTarget(targets[0]), { ...(opts.under === undefined ? {} : { under: parseUnder(opts.under) }), allowUnsafe: opts.allowUnsafe === true });
}

/** What the page shows, in one line. */
function contents(d: ReportData): string {
  const trees = (d.tables ?? []).reduce((n, t) => n + t.trees.length, 0);
  const parts = [d.run && count(d.run.runs.length, 'run'), trees && count(trees, 'page-table tree'), d.walks && count(d.walks.length, 'address space') + ' to walk', d.diff && `${count(d.diff.exits, 'exit')} on the timeline`];
  return parts.filter(Boolean).join(', ') || 'nothing to show';
}

/**
 * Writes `text` to `path` whole: into a temporary file beside it, renamed into place, so a
 * failure leaves no half-written page. InputError (located at the path) when it cannot.
 */
function writeWhole(path: string, text: string): void {
  const existing = statOrUndefined(path);
  if (existing && !existing.isFile()) throw new InputError([{ file: path, message: `cannot write the report here: it is ${existing.isDirectory() ? 'a directory' : 'not a regular file'}` }]);
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    writeFileSync(temp, text, { flag: 'wx' });
    renameSync(temp, path);
  } catch (e) {
    rmSync(temp, { force: true });
    throw new InputError([{ file: path, message: `cannot write the report here (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` }]);
  }
}

function statOrUndefined(path: string): ReturnType<typeof lstatSync> | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}
