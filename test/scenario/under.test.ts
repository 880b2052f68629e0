// `run --under`: bare and VMM runs side by side with the checkers' verdicts; files listing VMs;
// their bad input.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bundledScenarioFiles } from '../../src/scenario/bundled.js';
import { cli } from '../cli/helpers.js';

const files = bundledScenarioFiles().map((f) => relative(process.cwd(), f));

async function runJson(...args: string[]) {
  const r = await cli('run', ...args, '--json');
  return { code: r.code, stderr: r.stderr, data: r.stdout ? JSON.parse(r.stdout) : undefined };
}

describe('every bundled scenario under --under all', () => {
  it.each(files)('%s meets its expectations and expected verdicts', async (file) => {
    const { code, data } = await runJson(file, '--under', 'all');
    const failed = data.runs.filter((r: { expectations: { ok: boolean } }) => !r.expectations.ok).map((r: { label: string; expectations: unknown }) => [r.label, r.expectations]);
    expect(failed).toEqual([]);
    expect(code).toBe(0);
  });
});

describe('--under on one guest', () => {
  it('lde: one column per kind, and the three verdicts in the documented shape', async () => {
    const { code, data } = await runJson('scenarios/lde.yaml', '--under', 'bare,vmm');
    expect(code).toBe(0);
    expect(data.runs.map((r: { under: string }) => r.under)).toEqual(['bare', 'vmm']);
    expect(data.runs[0].checks).toBeUndefined();
    expect(data.checks.equivalence.holds).toBe(true);
    expect(data.checks.safety.holds).toBe(true);
    expect(data.checks.efficiency.holds).toBe(true);
    expect(data.checks.efficiency.direct).toBeGreaterThan(0.99);
    expect(data.checks.efficiency.exitsPer1000).toBeGreaterThan(0);
    expect(data.runs[1].console).toBe(data.runs[0].console);
    expect(data.runs[1].retired).toBe(data.runs[0].retired);
  });

  it('pdp10 JRST 1: the VMM diverges from bare (expected), the hybrid VMM does not', async () => {
    const { code, data } = await runJson('scenarios/vmm/jrst.yaml', '--under', 'vmm,hvm');
    expect(code).toBe(0);
    const [vmm, hvm] = data.runs;
    expect(vmm.checks.equivalence.holds).toBe(false);
    expect(vmm.checks.equivalence.firstDifference.field).toMatch(/memory|psw|console|regs/);
    expect(vmm.console).not.toBe('Ku[101]=1\n');
    expect(hvm.checks.equivalence.holds).toBe(true);
    expect(hvm.console).toBe('Ku[101]=1\n');
    expect(data.checks.equivalence.holds).toBe(false);
  });

  it('an unexpected verdict fails the run (exit 1)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shadowlab-under-'));
    const file = join(dir, 'jrst-claims.yaml');
    const text = (await import('node:fs')).readFileSync('scenarios/vmm/jrst.yaml', 'utf8').replace(/ {2}verdicts:[\s\S]*$/, '');
    writeFileSync(file, text);
    const r = await cli('run', file, '--under', 'vmm');
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/verdicts\.vmm\.equivalence\s*│\s*holds\s*│\s*fails/);
  });

  it('--under all skips the kinds that cannot run a scenario, saying why', async () => {
    const { code, data } = await runJson('scenarios/paging/four-level.yaml', '--under', 'all');
    expect(code).toBe(0);
    expect(data.runs.map((r: { under: string }) => r.under)).toEqual(['bare', 'nested', 'shadow-eager', 'shadow-lazy']);
    expect(data.skipped.map((s: { under: string }) => s.under)).toEqual(['vmm', 'hvm', 'vmm2']);
    expect(data.skipped[0].reason).toMatch(/the segment VMM hosts segment guests; a paging guest runs under nested/);
  });

  it('a 4 GiB guest leaves the VMM no room: every VMM kind is skipped, with the reason', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shadowlab-big-'));
    const file = join(dir, 'big.yaml');
    writeFileSync(file, 'machine: { memory: 4 GiB }\nprograms:\n  - { at: 0, source: ".org 0x80\\nhalt" }\n');
    const { code, data } = await runJson(file, '--under', 'all');
    expect(code).toBe(0);
    expect(data.skipped.map((s: { reason: string }) => s.reason)).toEqual([
      expect.stringMatching(/more than 4 GiB/),
      expect.stringMatching(/more than 4 GiB/),
      expect.stringMatching(/more than 4 GiB/),
      expect.stringMatching(/nested and shadow paging host guests whose translation is paging/),
      expect.stringMatching(/nested and shadow paging host guests whose translation is paging/),
      expect.stringMatching(/nested and shadow paging host guests whose translation is paging/),
    ]);
    expect((await cli('run', file, '--under', 'vmm')).code).toBe(2);
  });

  it('asking for a kind that cannot run the scenario is bad input (exit 2)', async () => {
    expect((await cli('run', 'scenarios/paging/four-level.yaml', '--under', 'vmm')).code).toBe(2);
    expect((await cli('run', 'scenarios/bounds-end.yaml', '--under', 'vmm2')).stderr).toMatch(/end convention/);
    expect((await cli('run', 'scenarios/lde.yaml', '--under', 'qemu')).code).toBe(2);
  });
});

describe('files that list VMs', () => {
  it('two VMs with different kernels: one column per VM, each equivalent to its bare run', async () => {
    const { code, data } = await runJson('scenarios/vmm/two-vms.yaml');
    expect(code).toBe(0);
    expect(data.runs.map((r: { label: string }) => r.label)).toEqual(['lde (vmm)', 'ticks (vmm)']);
    expect(data.host.vms).toEqual([
      { name: 'lde', addr0: 0x4000, vmsize: 0x10000 },
      { name: 'ticks', addr0: 0x18000, vmsize: 0x4000 },
    ]);
    for (const r of data.runs) {
      expect(r.checks.equivalence.holds).toBe(true);
      expect(r.checks.safety.holds).toBe(true);
    }
  });

  it('a looping VM is stopped by its budget while the other finishes', async () => {
    const { code, data } = await runJson('scenarios/vmm/looping-vm.yaml');
    expect(code).toBe(0);
    expect(data.runs.map((r: { end: string }) => r.end)).toEqual(['budget', 'halted']);
    expect(data.runs[1].console).toContain('all processes done');
  });

  it('runs bare and under the hybrid VMM too', async () => {
    const { code, data } = await runJson('scenarios/vmm/two-vms.yaml', '--under', 'bare,hvm');
    expect(code).toBe(0);
    expect(data.runs.map((r: { label: string }) => r.label)).toEqual(['lde (bare)', 'ticks (bare)', 'lde (hvm)', 'ticks (hvm)']);
  });

  const dir = mkdtempSync(join(tmpdir(), 'shadowlab-vms-'));
  const lde = resolve('scenarios/lde.yaml');
  const ticks = resolve('scenarios/vmm/ticks.yaml');
  let hosts = 0;
  const host = (body: string) => {
    const file = join(dir, `h${hosts++}.yaml`);
    writeFileSync(file, body);
    return file;
  };

  it.each([
    { name: 'a VM larger than the machine', body: `machine: { memory: 32 KiB }\nvms:\n  - scenario: ${lde}\n`, message: /needs more memory than the machine's 0x8000 bytes/ },
    { name: 'overlapping VMs', body: `machine: { memory: 256 KiB }\nvms:\n  - { scenario: ${lde}, addr0: 64 KiB }\n  - { scenario: ${ticks}, addr0: 96 KiB }\n`, message: /overlaps VM 0/ },
    { name: 'a VM inside the VMM reserve', body: `machine: { memory: 256 KiB }\nvms:\n  - { scenario: ${lde}, addr0: 0 }\n`, message: /lies in the VMM's reserve/ },
    { name: 'a VM not frame-aligned', body: `machine: { memory: 256 KiB }\nvms:\n  - { scenario: ${lde}, addr0: 0x4800 }\n`, message: /not a multiple of 4096/ },
    { name: 'a missing guest scenario', body: `machine: { memory: 256 KiB }\nvms:\n  - scenario: nowhere.yaml\n`, message: /:3:15: vms\.0\.scenario: 'nowhere\.yaml': cannot read it \(no such file\)/ },
    { name: 'guest fields in the host file', body: `machine: { memory: 256 KiB }\nsteps: 5\nvms:\n  - scenario: ${lde}\n`, message: /:2:8: steps: 'steps' belongs in each VM's own scenario/ },
    { name: 'a host machine field the guests decide', body: `machine: { memory: 256 KiB, profile: pdp10 }\nvms:\n  - scenario: ${lde}\n`, message: /machine\.profile: the host's profile follows its guests/ },
    { name: 'two VMs with one name', body: `machine: { memory: 256 KiB }\nvms:\n  - scenario: ${lde}\n  - scenario: ${lde}\n`, message: /two VMs are named 'lde'/ },
    { name: 'an override expecting an unknown trap cause', body: `machine: { memory: 256 KiB }\nvms:\n  - { scenario: ${lde}, expect: { traps: { nmi: 1 } } }\n`, message: /vms\.0\.expect\.traps\.nmi: unknown trap cause 'nmi'/ },
  ])('$name → exit 2 with a located message', async ({ body, message }) => {
    const r = await cli('run', host(body));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it('vmm2 runs one guest only (exit 2)', async () => {
    const r = await cli('run', 'scenarios/vmm/two-vms.yaml', '--under', 'vmm2');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/vmm2 runs one guest/);
  });
});
