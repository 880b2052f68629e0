// Bad input never crashes the CLI: bundled scenarios with random lines deleted or values replaced
// by odd ones are either run (exit 0 or 1) or refused with a message (exit 2) — never an
// internal error. Seeded; SHADOWLAB_RUNS raises the count.

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cli } from './helpers.js';

const RUNS = Number(process.env.SHADOWLAB_RUNS ?? 40);
const FILES = ['scenarios/x-plus-3.yaml', 'scenarios/lde.yaml', 'scenarios/paging/tiny-exercise.yaml', 'scenarios/paging/demand-paging.yaml', 'scenarios/vmm/two-vms.yaml', 'scenarios/vmm/jrst.yaml'];
const ODD = ['0', '-1', '0x7fffffff', '4294967295', '4294967296', '1e9', '3.5', 'x', '""', '[]', '{}', 'null', '128', '127', '{ a: 1 }', '"64 KiB"'];

type Mutation = { kind: 'delete' | 'number' | 'value'; line: number; odd: string };

const mutation = fc.record({ kind: fc.constantFrom<Mutation['kind']>('delete', 'number', 'value'), line: fc.nat(), odd: fc.constantFrom(...ODD) });

/** `text` with each mutation applied to line (m.line mod the line count). */
function mutate(text: string, ms: readonly Mutation[]): string {
  const lines = text.split('\n');
  for (const m of ms) {
    const i = m.line % lines.length;
    if (m.kind === 'delete') lines.splice(i, 1);
    else if (m.kind === 'number') lines[i] = lines[i].replace(/\b(0x[0-9a-fA-F]+|\d+)\b/, m.odd);
    else lines[i] = lines[i].replace(/: .*/, `: ${m.odd}`);
  }
  return lines.join('\n');
}

describe('malformed scenarios never crash the CLI', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shadowlab-fuzz-'));
  let n = 0;
  it('exit 0, 1 or 2, and a message instead of a stack trace', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...FILES), fc.array(mutation, { minLength: 1, maxLength: 3 }), async (file, ms) => {
        // keep relative references working: the mutant lives beside a copy of the original's folder
        const text = mutate(readFileSync(file, 'utf8'), ms).replace(/(file: |scenario: )([^\s,}]+)/g, (_m, key: string, path: string) => `${key}${resolve(dirname(file), path)}`);
        const out = join(dir, `m${n++}.yaml`);
        writeFileSync(out, text);
        const r = await cli('run', out, '--under', 'all', '--steps', '20000');
        expect([0, 1, 2]).toContain(r.code);
        expect(r.stderr).not.toMatch(/internal error|\n\s+at .*:\d+:\d+/);
      }),
      { numRuns: RUNS, seed: 0xf0221 },
    );
  });
});
