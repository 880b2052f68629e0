// What `run` arguments name: a file, `-` (standard input), a glob, or a bundled scenario.

import { globSync } from 'tinyglobby';
import { scenarioPath } from '../scenario/bundled.js';
import { UsageError } from '../scenario/errors.js';
import { pathExists } from '../scenario/input.js';

/** Most files one `run` takes (a glob that matches more is refused). */
export const MAX_TARGETS = 500;

export type Target = { readonly kind: 'file'; readonly path: string } | { readonly kind: 'stdin' };

/**
 * The scenarios `args` name, in order: `-` is standard input (once); an existing path is that
 * file; a pattern with * ? [ { is expanded (sorted); otherwise a bundled scenario's name.
 * Throws UsageError for a name that matches nothing.
 */
export function resolveTargets(args: readonly string[]): Target[] {
  const out: Target[] = [];
  for (const arg of args) {
    if (arg === '-') {
      if (out.some((t) => t.kind === 'stdin')) throw new UsageError("'-' (standard input) can be given once");
      out.push({ kind: 'stdin' });
    } else if (/[*?[{]/.test(arg) && !pathExists(arg)) out.push(...expand(arg));
    else out.push({ kind: 'file', path: scenarioPath(arg) });
    if (out.length > MAX_TARGETS) throw new UsageError(`more than ${MAX_TARGETS} scenarios in one run; narrow the pattern`);
  }
  return out;
}


function expand(pattern: string): Target[] {
  const files = globSync(pattern, { onlyFiles: true, expandDirectories: false, deep: 16 }).sort();
  if (files.length === 0) throw new UsageError(`no file matches '${pattern}'`);
  return files.map((path) => ({ kind: 'file', path }));
}
