// `shadowlab list`: the bundled scenarios (by the name `run` takes) and the profiles, one line each.

import { relative } from 'node:path';
import type { Command } from 'commander';
import { compileProfile } from '../../isa/profile.js';
import { PROFILES } from '../../isa/profiles/index.js';
import { bundledName, bundledScenarioFiles } from '../../scenario/bundled.js';
import { InputError, printable } from '../../scenario/errors.js';
import { loadScenario } from '../../scenario/load.js';
import { SCHEMA_VERSION } from '../../scenario/record.js';
import { jsonText } from '../format.js';
import type { Outcome } from '../main.js';

export interface ListData {
  readonly schemaVersion: number;
  /** `name` is what `shadowlab run NAME` takes; `file` the path from the working directory */
  readonly scenarios: readonly { readonly name: string; readonly file: string; readonly description: string; readonly error?: string }[];
  /** `instructions`: how many the profile has; `trapping`: how many of them trap with privileged-instruction in at least one mode */
  readonly profiles: readonly { readonly name: string; readonly summary: string; readonly modes: readonly string[]; readonly instructions: number; readonly trapping: number }[];
}

export function registerList(program: Command, done: (o: Outcome) => void): void {
  program
    .command('list')
    .description('list the bundled scenarios (by the name `run` takes) and the profiles')
    .option('--json', 'print the list as JSON')
    .action((opts: { json?: boolean }) => {
      const data = collectList();
      process.stdout.write(opts.json ? `${jsonText(data)}\n` : printable(printList(data)));
      done(data.scenarios.some((s) => s.error) ? 'failed' : 'ok');
    });
}

export function collectList(): ListData {
  const scenarios = bundledScenarioFiles().map((file) => {
    const entry = { name: bundledName(file), file: relative(process.cwd(), file) };
    try {
      return { ...entry, description: loadScenario(file).description };
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      return { ...entry, description: '', error: e.message };
    }
  });
  const profiles = [...PROFILES.values()].map((p) => {
    const c = compileProfile(p);
    const modes = (1 << p.modes.length) - 1;
    const trapping = p.instructions.filter((d) => (c.opInfo[d.op] & modes) !== 0).length;
    return { name: p.name, summary: p.summary, modes: p.modes, instructions: p.instructions.length, trapping };
  });
  return { schemaVersion: SCHEMA_VERSION, scenarios, profiles };
}

export function printList(d: ListData): string {
  const width = Math.max(0, ...d.scenarios.map((s) => s.name.length));
  const lines = ['scenarios (shadowlab run NAME):'];
  lines.push(...d.scenarios.map((s) => `  ${s.name.padEnd(width)}  ${s.error ? `INVALID: ${s.error.split('\n')[0]}` : s.description}`));
  lines.push('', 'profiles (machine.profile):', ...d.profiles.map((p) => `  ${p.name.padEnd(10)} ${p.summary} (modes ${p.modes.join(', ')}; ${p.instructions} instructions, ${p.trapping} of them trap in some mode)`));
  return `${lines.join('\n')}\n`;
}
