// The `shadowlab` command line: one subcommand per file under commands/. Exit codes are
// decided here and only here: 0 ok, 1 a checked property or expectation failed, 2 bad input
// or usage.

import { Command, CommanderError } from 'commander';
import { InputError, printable, UsageError } from '../scenario/errors.js';
import { registerBench } from './commands/bench.js';
import { registerClassify } from './commands/classify.js';
import { registerDiff } from './commands/diff.js';
import { registerList } from './commands/list.js';
import { registerMerge } from './commands/merge.js';
import { registerReport } from './commands/report.js';
import { registerRun } from './commands/run.js';
import { registerVerify } from './commands/verify.js';
import { registerWalk } from './commands/walk.js';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_BAD_INPUT = 2;

export { UsageError };

/** What a command's action resolves to: ok, a checked property / expectation failed, or (of several inputs) one was bad. */
export type Outcome = 'ok' | 'failed' | 'bad-input';

export function buildProgram(outcome: { value: Outcome }): Command {
  const program = new Command('shadowlab')
    .description('A lab for memory virtualization: the Popek-Goldberg machine, paging, and a trap-and-emulate VMM')
    .version('0.1.0')
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  const done = (o: Outcome) => {
    outcome.value = o;
  };
  registerRun(program, done);
  registerWalk(program, done);
  registerDiff(program, done);
  registerClassify(program, done);
  registerVerify(program, done);
  registerMerge(program, done);
  registerReport(program, done);
  registerList(program, done);
  registerBench(program, done);
  return program;
}

/** Runs the CLI on `argv` (user arguments only) and returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const outcome = { value: 'ok' as Outcome };
  const program = buildProgram(outcome);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return { ok: EXIT_OK, failed: EXIT_FAILED, 'bad-input': EXIT_BAD_INPUT }[outcome.value];
  } catch (e) {
    if (e instanceof CommanderError) {
      return e.exitCode === 0 ? EXIT_OK : EXIT_BAD_INPUT;
    }
    if (e instanceof InputError || e instanceof UsageError) {
      process.stderr.write(`shadowlab: ${printable(e.message).split('\n').join('\nshadowlab: ')}\n`);
      return EXIT_BAD_INPUT;
    }
    throw e;
  }
}

/** Entry point of the `shadowlab` binary: runs on process.argv and sets the exit code. */
export function runCli(): void {
  // a reader that stops early (`| head`) closes the pipe: end quietly, as other tools do
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    process.exit(process.exitCode ?? EXIT_OK);
  });
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`shadowlab: internal error (a bug; please report it): ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = 70;
    },
  );
}
