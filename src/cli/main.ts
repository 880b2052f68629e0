// The `shadowlab` command line: one subcommand per file under commands/. Exit codes are
// decided here and only here: 0 ok, 1 a checked property or expectation failed, 2 bad input
// or usage.

import { Command, CommanderError } from 'commander';
import { InputError } from '../scenario/errors.js';
import { registerBench } from './commands/bench.js';
import { registerList } from './commands/list.js';
import { registerRun } from './commands/run.js';
import { registerWalk } from './commands/walk.js';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_BAD_INPUT = 2;

/** Thrown by commands for a usage problem they detect themselves (exit 2). */
export class UsageError extends Error {}

/** What a command's action resolves to: ok, or a checked property / expectation failed. */
export type Outcome = 'ok' | 'failed';

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
    return outcome.value === 'ok' ? EXIT_OK : EXIT_FAILED;
  } catch (e) {
    if (e instanceof CommanderError) {
      return e.exitCode === 0 ? EXIT_OK : EXIT_BAD_INPUT;
    }
    if (e instanceof InputError || e instanceof UsageError) {
      process.stderr.write(`shadowlab: ${e.message.split('\n').join('\nshadowlab: ')}\n`);
      return EXIT_BAD_INPUT;
    }
    throw e;
  }
}

/** Entry point of the `shadowlab` binary: runs on process.argv and sets the exit code. */
export function runCli(): void {
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
