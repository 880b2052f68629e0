// Options mean what they say: integers are decimal and bounded, budgets quoted are the budgets
// used, options that would do nothing are refused, output is the same for the same input, and
// `run` takes several files, globs and bundled names.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'shadowlab-options-'));
const loop = join(dir, 'loop.yaml');
writeFileSync(loop, 'machine: { memory: 64 KiB }\nprograms:\n  - { at: 0, source: ".org 0x80\\ntop: jmp top" }\nsteps: 200000\n');

describe('--steps', () => {
  it.each(['1e99', '0x10', '1e3', '-1', '0', '12abc', '', '10000000001'])("'%s' is refused (exit 2), not read loosely", async (v) => {
    const r = await cli('run', loop, '--steps', v);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--steps: expected a whole number from 1 to 10000000000 in decimal digits/);
  });

  it('the failure message quotes the budget the run used, not the file\'s', async () => {
    const r = await cli('run', loop, '--steps', '100');
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/budget \(100 instructions retired without stopping\)/);
    expect(r.stdout).not.toMatch(/200000/);
    const j = JSON.parse((await cli('run', loop, '--steps', '100', '--json')).stdout);
    expect(j.runs[0]).toMatchObject({ budget: 100, retired: 100, end: 'budget' });
  });

  it('walk --after-run honours --steps, and --steps alone is refused', async () => {
    const demand = 'scenarios/paging/demand-paging.yaml';
    const full = JSON.parse((await cli('walk', demand, '0x400000', '--after-run', '--json')).stdout);
    const early = JSON.parse((await cli('walk', demand, '0x400000', '--after-run', '--steps', '1', '--json')).stdout);
    expect(full.walks[0].result).not.toEqual(early.walks[0].result);
    expect((await cli('walk', demand, '0x400000', '--steps', '5')).code).toBe(2);
  });
});

describe('options that would do nothing are refused', () => {
  it.each([
    { args: ['run', 'scenarios/lde.yaml', '--trace', '--under', 'vmm'], message: /--trace traces the bare run, and none is asked for/ },
    { args: ['run', 'scenarios/lde.yaml', '--geometry', 'sv32'], message: /--geometry .* does nothing without --compare/ },
    { args: ['run', 'scenarios/lde.yaml', '--trace-limit', '5'], message: /--trace-limit does nothing without --trace/ },
    { args: ['walk', 'scenarios/x-plus-3.yaml', '0x80', '--ptbr', '0x1000'], message: /--ptbr: scenario x-plus-3 has no paging hardware/ },
    { args: ['walk', 'scenarios/paging/x86-two-processes.yaml', '0x400000', '--ptbr', 'nosuch'], message: /--ptbr: 'nosuch' is neither an address nor a page table of x86-two-processes \(its tables: / },
    { args: ['walk', 'scenarios/vmm/two-vms.yaml', '0x80'], message: /walk translates one machine's addresses/ },
  ])('$args.2 $args.3 $args.4', async ({ args, message }) => {
    const r = await cli(...args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });
});

describe('output that can be diffed and piped', () => {
  it('run --json is byte-identical for the same input (timing only with --timing)', async () => {
    const a = await cli('run', 'scenarios/lde.yaml', '--under', 'all', '--json');
    const b = await cli('run', 'scenarios/lde.yaml', '--under', 'all', '--json');
    expect(a.code).toBe(0);
    expect(a.stdout).toBe(b.stdout);
    expect(a.stdout).not.toMatch(/"seconds"|"usPerExit"/);
    const t = JSON.parse((await cli('run', 'scenarios/lde.yaml', '--under', 'vmm', '--timing', '--json')).stdout);
    expect(t.runs[0].seconds).toBeGreaterThan(0);
    expect(t.runs[0].checks.efficiency.usPerExit).toBeGreaterThan(0);
  });

  it('the tables are the same for the same input, with no trailing spaces', async () => {
    const a = await cli('run', 'scenarios/lde.yaml', '--under', 'all');
    const b = await cli('run', 'scenarios/lde.yaml', '--under', 'all');
    expect(a.stdout).toBe(b.stdout);
    expect(a.stdout.replace(/^ping pong.*$/gm, '')).not.toMatch(/ +$/m);
    expect(a.stdout).toMatch(/holds \(\d+ accesses, \d+ windows\)/);
  });

  it('a truncated trace says how to keep more', async () => {
    const r = await cli('run', 'scenarios/lde.yaml', '--trace', '--trace-limit', '10');
    expect(r.stdout.replace(/^ping pong.*$/gm, '')).not.toMatch(/ +$/m);
    expect(r.stdout).toMatch(/\.\.\. trace truncated after 10 entries \(the run went on; --trace-limit N keeps more\)/);
  });

  it('--compare that compared nothing does not hold', async () => {
    const r = await cli('run', join(dir, 'loop.yaml'), '--steps', '10', '--compare', 'segment', '--json');
    const d = JSON.parse(r.stdout);
    expect(d.compare.stretches).toBe(0);
    expect(d.compare.holds).toBe(false);
    expect(d.ok).toBe(false);
    expect((await cli('run', join(dir, 'loop.yaml'), '--steps', '10', '--compare', 'segment')).stdout).toMatch(/nothing compared: no user stretch could be mapped/);
  });
});

describe('walk names', () => {
  it('takes labels of the programs as addresses and page-table names as --ptbr', async () => {
    const byLabel = JSON.parse((await cli('walk', 'scenarios/x-plus-3.yaml', 'x', '--json')).stdout);
    const byNumber = JSON.parse((await cli('walk', 'scenarios/x-plus-3.yaml', String(byLabel.walks[0].va), '--json')).stdout);
    expect(byLabel.walks).toEqual(byNumber.walks);
    const named = await cli('walk', 'scenarios/paging/x86-two-processes.yaml', '0x400000', '--ptbr', 'ptb', '--json');
    expect(named.code).toBe(0);
  });
});

describe('run takes several scenarios', () => {
  it('files, a glob and bundled names, with a summary line and the worst exit status', async () => {
    const r = await cli('run', 'x-plus-3', 'vmm/jrst', 'scenarios/bounds-*.yaml');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/scenario x-plus-3/);
    expect(r.stdout).toMatch(/scenario bounds-end/);
    expect(r.stdout.trimEnd().split('\n').pop()).toBe('4 scenarios: 4 ok, 0 failed, 0 with bad input');
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'machine: { memory: lots }\n');
    const mixed = await cli('run', 'x-plus-3', loop, bad, '--steps', '1000');
    expect(mixed.stdout.trimEnd().split('\n').pop()).toBe('3 scenarios: 1 ok, 1 failed, 1 with bad input');
    expect(mixed.stderr).toMatch(/bad\.yaml:1:20: machine\.memory/);
    expect(mixed.code).toBe(2);
    const json = JSON.parse((await cli('run', 'x-plus-3', loop, '--steps', '1000', '--json')).stdout);
    expect(json.summary).toEqual({ total: 2, ok: 1, failed: 1, badInput: 0 });
    expect(json.scenarios.map((s: { ok: boolean }) => s.ok)).toEqual([true, false]);
  });

  it('a name that is neither a file nor a bundled scenario → exit 2', async () => {
    const r = await cli('run', 'no-such-thing');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/'no-such-thing' is neither a file nor a bundled scenario/);
    expect((await cli('run', 'nothing/*.yaml')).stderr).toMatch(/no file matches 'nothing\/\*\.yaml'/);
  });
});

describe('a guest whose instruction set breaks Theorem 1', () => {
  it('is refused by every VMM, naming the instruction (exit 2)', async () => {
    const r = await cli('run', 'vmm/unsafe-lpsw', '--under', 'vmm');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/'lpsw' changes mode \(u -> s\) in mode u without trapping: Theorem 1's precondition .* fails/);
    const all = JSON.parse((await cli('run', 'vmm/unsafe-lpsw', '--under', 'all', '--json')).stdout);
    expect(all.skipped.map((k: { under: string }) => k.under)).toEqual(['vmm', 'hvm', 'vmm2', 'nested', 'shadow-eager', 'shadow-lazy']);
  });

  it('runs with --allow-unsafe, and the safety checker reports the breach from what ran', async () => {
    const d = JSON.parse((await cli('run', 'vmm/unsafe-lpsw', '--under', 'vmm', '--allow-unsafe', '--json')).stdout);
    const safety = d.runs[0].checks.safety;
    expect(safety).toMatchObject({ holds: false, level: 'bus', violations: 1 });
    // the kernel's lpsw ran directly: it stayed in the VM's memory, but dropped the real IE and narrowed the real limit
    expect(safety.first).toMatchObject({ kind: 'control', path: 'direct', retired: 1 });
    expect(safety.first.detail).toBe("direct: the guest changed the real machine's resource-control state without a trap (status 0x101 → 0x1, limit 0x4000 → 0x1000)");
    expect(d.ok).toBe(true); // the scenario states these verdicts
    expect((await cli('run', 'vmm/unsafe-lpsw', '--allow-unsafe')).code).toBe(2);
  });
});
