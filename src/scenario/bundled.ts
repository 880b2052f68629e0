// The scenarios that come with shadowlab, found by file or by name (`shadowlab run lde`).

import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError, UsageError } from './errors.js';
import { displayPath, pathExists } from './input.js';

/** The bundled scenarios directory (the same relative place from src/ and dist/). */
export const SCENARIO_DIR = fileURLToPath(new URL('../../scenarios/', import.meta.url));

/** Every *.yaml under the scenarios directory (recursively), sorted by path. */
export function bundledScenarioFiles(dir = SCENARIO_DIR): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => join(dir, f));
}

/** A bundled scenario's name: its path under the scenarios directory without `.yaml` (e.g. vmm/jrst). */
export function bundledName(file: string, dir = SCENARIO_DIR): string {
  return relative(dir, file).split('\\').join('/').replace(/\.yaml$/, '');
}

/**
 * The bundled scenario `name` names: its full name (vmm/jrst) or, when unique, its last part
 * (jrst). Undefined when none or several match.
 */
export function findBundled(name: string, dir = SCENARIO_DIR): string | undefined {
  const files = bundledScenarioFiles(dir);
  const exact = files.find((f) => bundledName(f, dir) === name);
  if (exact) return exact;
  const tail = files.filter((f) => bundledName(f, dir).split('/').pop() === name);
  return tail.length === 1 ? tail[0] : undefined;
}

/**
 * The scenario file `arg` names: an existing path, or a bundled scenario's name (with or
 * without `.yaml`; the path is then given from the working directory when that is shorter). Throws InputError ("no such file") for a name that looks like a path,
 * UsageError for any other name that is not bundled.
 */
export function scenarioPath(arg: string): string {
  if (pathExists(arg)) return arg;
  const found = findBundled(arg.replace(/\.ya?ml$/, ''));
  if (found) return displayPath(found);
  if (/[/\\]|\.ya?ml$/.test(arg)) throw new InputError([{ file: arg, message: 'cannot read it (no such file)' }]);
  throw new UsageError(`'${arg}' is neither a file nor a bundled scenario (\`shadowlab list\` shows their names)`);
}

