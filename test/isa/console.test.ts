// The console keeps its first MAX_CONSOLE_CHARS characters and counts and hashes the rest: a
// guest that prints forever cannot exhaust memory, and output past the kept part still compares.

import { describe, expect, it } from 'vitest';
import { MAX_CONSOLE_CHARS } from '../../src/isa/machine.js';
import { compareViews, snapshot, virtualView } from '../../src/isa/snapshot.js';
import { boot, HALT_KERNEL } from './helpers.js';

const classicMachine = () => boot(HALT_KERNEL);

describe('the console', () => {
  it('keeps the first MAX_CONSOLE_CHARS characters and counts every one', () => {
    const m = classicMachine();
    const chunk = 'x'.repeat(4096);
    for (let i = 0; i < MAX_CONSOLE_CHARS / 4096 + 10; i++) m.writeConsole(chunk);
    expect(m.console.length).toBe(MAX_CONSOLE_CHARS);
    expect(m.consoleWritten).toBe(MAX_CONSOLE_CHARS + 10 * 4096);
  });

  it('two machines that differ only after the kept part still differ in their views', () => {
    const a = classicMachine();
    const b = classicMachine();
    const head = 'y'.repeat(MAX_CONSOLE_CHARS);
    a.writeConsole(`${head}A`);
    b.writeConsole(`${head}B`);
    expect(a.console).toBe(b.console);
    expect(compareViews(virtualView(snapshot(a)), virtualView(snapshot(b)))?.field).toBe('consoleHash');
    const c = classicMachine();
    c.writeConsole(`${head}A`);
    expect(compareViews(virtualView(snapshot(a)), virtualView(snapshot(c)))).toBeUndefined();
  });

  it('a guest printing forever runs to its budget in bounded memory, bare and under the VMM, and stays equivalent', async () => {
    const { cli } = await import('../cli/helpers.js');
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const f = join(mkdtempSync(join(tmpdir(), 'shadowlab-console-')), 'print.yaml');
    writeFileSync(f, 'machine: { memory: 64 KiB }\nprograms:\n  - { at: 0, source: ".org 0x80\\nli r1, 1000000000\\ntop: out r1, 1\\njmp top" }\nsteps: 240000\nexpect: { end: budget, verdicts: { vmm: { efficiency: false } } }\n');
    const r = await cli('run', f, '--under', 'bare,vmm', '--json');
    expect(r.code).toBe(0);
    const d = JSON.parse(r.stdout);
    for (const run of d.runs) {
      expect(run.console.length).toBe(MAX_CONSOLE_CHARS);
      expect(run.consoleWritten).toBe(1_200_000);
    }
    expect(d.checks.equivalence.holds).toBe(true);
  });
});
