// `shadowlab list`: the bundled scenarios (and profiles), one line each.

import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { PROFILES } from '../../isa/profiles/index.js';
import { loadScenario } from '../../scenario/load.js';
import { InputError } from '../../scenario/errors.js';
import type { Outcome } from '../main.js';
import { SCHEMA_VERSION } from './run.js';

/** The bundled scenarios directory (the same relative place from src/ and dist/). */
export const SCENARIO_DIR = fileURLToPath(new URL('../../../scenarios/', import.meta.url));

export interface ListData {
  readonly schemaVersion: number;
  readonly scenarios: readonly { readonly file: string; readonly name: string; readonly description: string; readonly error?: string }[];
  readonly profiles: readonly { readonly name: string; readonly summary: string; readonly modes: readonly string[] }[];
}

export function registerList(program: Command, done: (o: Outcome) => void): void {
  program
    .command('list')
    .description('list the bundled scenarios and profiles')
    .option('--json', 'print the list as JSON')
    .action((opts: { json?: boolean }) => {
      const data = collectList();
      process.stdout.write(opts.json ? `${JSON.stringify(data, null, 2)}\n` : printList(data));
      done(data.scenarios.some((s) => s.error) ? 'failed' : 'ok');
    });
}

/** Every *.yaml under the scenarios directory (recursively), sorted by path. */
export function bundledScenarioFiles(dir = SCENARIO_DIR): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => join(dir, f));
}

export function collectList(): ListData {
  const scenarios = bundledScenarioFiles().map((file) => {
    const shown = relative(process.cwd(), file);
    try {
      const s = loadScenario(file);
      return { file: shown, name: s.name, description: s.description };
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      return { file: shown, name: '', description: '', error: e.message };
    }
  });
  const profiles = [...PROFILES.values()].map((p) => ({ name: p.name, summary: p.summary, modes: p.modes }));
  return { schemaVersion: SCHEMA_VERSION, scenarios, profiles };
}

export function printList(d: ListData): string {
  const width = Math.max(0, ...d.scenarios.map((s) => s.file.length));
  const lines = d.scenarios.map((s) => `${s.file.padEnd(width)}  ${s.error ? `INVALID: ${s.error.split('\n')[0]}` : s.description}`);
  lines.push('', 'profiles:', ...d.profiles.map((p) => `  ${p.name.padEnd(10)} ${p.summary} (modes ${p.modes.join(', ')})`));
  return `${lines.join('\n')}\n`;
}
