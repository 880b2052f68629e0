// `shadowlab verify`: the text, the JSON (deterministic for a seed), --emit files that `run`
// reproduces (never overwritten), a scenario's own guest first and its expect.theorems, bad
// input (exit 2).

import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from '../cli/helpers.js';

const JRST = new URL('../../scenarios/vmm/jrst.yaml', import.meta.url).pathname;

/** vmm/jrst with `theorems` in its expect block instead of its own (none: without one), in a fresh directory. */
function jrstWith(theorems: string | null): string {
  const dir = mkdtempSync(join(tmpdir(), 'verify-'));
  const file = join(dir, 'jrst.yaml');
  const without = readFileSync(JRST, 'utf8').replace(/\n {2}theorems: .*\n/, '\n');
  expect(without).not.toMatch(/theorems:/);
  writeFileSync(file, theorems === null ? without : without.replace(/\nexpect:\n/, `\nexpect:\n  theorems: ${theorems}\n`));
  return file;
}

describe('shadowlab verify', () => {
  it('prints the preconditions, the confirmations and a shrunk counterexample as assembly with both runs’ events', async () => {
    const r = await cli('verify', 'pdp10', '--runs', '10');
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('Theorem 1: a VMM can be built if every sensitive instruction is privileged\n  precondition fails: jrst is sensitive and not privileged');
    expect(r.stdout).toMatch(/counterexample under vmm: generated guest \d+, shrunk from \d+ lines to \d/);
    expect(r.stdout).toMatch(/; --- kernel @0\n/);
    expect(r.stdout).toMatch(/ {2}bare: +\S/);
    expect(r.stdout).toMatch(/ {2}under vmm: +\S/);
    expect(r.stdout).toMatch(/the states first differ after instruction \d+ \(pc 0x[0-9a-f]+: jrst 1, /);
    expect(r.stdout).toMatch(/Theorem 3: .*\n {2}precondition holds\n {2}confirmed under hvm: 10 runs, 10 equivalent, 10 safe/);
  }, 60_000);

  it('--json: schemaVersion, the classes, theorems t1..t3 with precondition, violators, confirmation, counterexample; the same seed gives the same JSON', async () => {
    const a = await cli('verify', 'ibm360', '--runs', '5', '--seed', '3', '--json');
    const b = await cli('verify', 'ibm360', '--runs', '5', '--seed', '3', '--json');
    expect(a.code).toBe(0);
    expect(a.stdout).toBe(b.stdout);
    const d = JSON.parse(a.stdout);
    expect(d.schemaVersion).toEqual(expect.any(Number));
    expect(d.instructions.find((i: { name: string }) => i.name === 'lra')).toMatchObject({ privileged: false, userSensitive: true });
    for (const k of ['t1', 't2', 't3']) expect(Object.keys(d.theorems[k])).toEqual(expect.arrayContaining(['precondition', 'violators', 'confirmation', 'counterexample']));
    expect(d.theorems.t3).toMatchObject({ precondition: false, violators: ['lra'], confirmation: null, counterexample: { kind: 'hvm' } });
  }, 60_000);

  it('--emit writes a counterexample that `run --under vmm` reproduces, and never overwrites', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'verify-emit-'));
    const r = await cli('verify', 'pdp10', '--runs', '10', '--emit', dir);
    expect(r.code).toBe(0);
    const files = readdirSync(dir).filter((f) => f.startsWith('pdp10-t1-'));
    expect(files).toEqual([expect.stringMatching(/^pdp10-t1-vmm-seed1974-guest\d+\.yaml$/)]);
    const file = join(dir, files[0]);
    expect(r.stdout).toContain(`emitted: ${file}`);
    const text = readFileSync(file, 'utf8');
    expect(text).toMatch(/# Reproduce: shadowlab run THIS-FILE --under vmm/);
    expect(text).toMatch(/verdicts:\n {4}vmm:\n {6}equivalence: false/);
    const run = await cli('run', file, '--under', 'vmm');
    expect(run.stderr).toBe('');
    expect(run.stdout).toContain('expectations: all met');
    expect(run.stdout).toMatch(/vmm: the states first differ after instruction \d+ \(pc 0x[0-9a-f]+: jrst 1, /);
    expect(run.code).toBe(0);
    const again = await cli('verify', 'pdp10', '--runs', '10', '--emit', dir);
    expect(again.code).toBe(0);
    expect(readdirSync(dir).filter((f) => f.startsWith('pdp10-t1-')).sort()).toEqual([files[0], files[0].replace('.yaml', '-2.yaml')].sort());
    expect(readFileSync(file, 'utf8')).toBe(text);
  }, 60_000);

  it("--emit writes the classifier's witnesses as scenarios of one instruction that `run` reproduces, and says which it cannot", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'verify-witnesses'));
    const r = await cli('verify', 'x86-lite', '--runs', '2', '--emit', dir, '--json');
    const d = JSON.parse(r.stdout);
    const witnesses = readdirSync(dir).filter((f) => f.includes('-witness-')).sort();
    expect(d.emitted.map((f: string) => f.slice(dir.length + 1)).filter((f: string) => f.includes('-witness-')).sort()).toEqual(witnesses);
    expect(witnesses).toEqual(expect.arrayContaining(['x86-lite-witness-sgdt-substitution-S.yaml', 'x86-lite-witness-sgdt-substitution-phiS.yaml', 'x86-lite-witness-popf-control-S.yaml', 'x86-lite-witness-settimer-control-S.yaml']));
    expect(d.notEmitted).toBeUndefined();
    for (const f of witnesses) {
      const run = await cli('run', join(dir, f));
      expect(run.stdout, f).toContain('expectations: all met');
      expect(run.code, f).toBe(0);
    }
    // sgdt reads GDTR: φ(S) states the VMM's value in its control block; without it the run reads the reset value
    const phi = readFileSync(join(dir, 'x86-lite-witness-sgdt-substitution-phiS.yaml'), 'utf8');
    expect(phi).toMatch(/\ncontrol:\n {2}gdtr: 0x7f000\n/);
    const stripped = join(dir, 'stripped.yaml');
    // the gdtr line goes; so does the block's header when nothing else is in it
    writeFileSync(stripped, phi.replace(/\n {2}gdtr: 0x7f000\n/, '\n').replace(/\ncontrol:\n(?! )/, '\n'));
    const failed = await cli('run', stripped);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toMatch(/│ registers\.r\d+ +│ 520192 \(0x7f000\) +│ 4096 \(0x1000\) +│/);
    // arm banks r13 and r14 per mode: the files state the other modes' copies; cps into irq shows irq's copies
    const armDir = mkdtempSync(join(tmpdir(), 'verify-arm'));
    const arm = JSON.parse((await cli('verify', 'arm', '--runs', '1', '--emit', armDir, '--json')).stdout);
    expect(arm.notEmitted).toBeUndefined();
    const armFiles = readdirSync(armDir).filter((f) => f.includes('-witness-'));
    expect(armFiles).toEqual(expect.arrayContaining(['arm-witness-cps-mode-S.yaml', 'arm-witness-cps-mode-phiS.yaml', 'arm-witness-mrs-substitution-S.yaml']));
    for (const f of armFiles) expect((await cli('run', join(armDir, f))).stdout, f).toContain('expectations: all met');
    const cps = readFileSync(join(armDir, 'arm-witness-msrs-mode-S.yaml'), 'utf8');
    expect(cps).toMatch(/\nbanks:\n( {2}\w+\.r1[34]: 0x[0-9a-f]+\n){4}/);
  }, 180_000);

  it('a scenario: its profile, its own guest first (vmm/jrst diverges itself), and expect.theorems checked', async () => {
    const ok = await cli('verify', jrstWith('{ t1: false, t2: false, t3: true }'), '--runs', '5');
    expect(ok.stdout).toContain("counterexample under vmm: the scenario's own guest");
    expect(ok.stdout).toContain('expectations: all met');
    expect(ok.code).toBe(0);
    const bad = await cli('verify', jrstWith('{ t1: true }'), '--runs', '5');
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain('theorems.t1: expected established, got not established');
    const none = await cli('verify', jrstWith(null), '--runs', '3');
    expect(none.stdout).toContain('expectations: none given for the theorems');
  }, 60_000);

  it.each([
    [['verify', 'vax'], /'vax' is neither a file nor a bundled scenario/],
    [['verify', 'pdp10', '--runs', '0'], /--runs: expected a whole number from 1 to 10000/],
    [['verify', 'pdp10', '--runs', '10001'], /--runs: expected a whole number from 1 to 10000/],
    [['verify', 'pdp10', '--seed', 'x'], /--seed: expected a whole number/],
    [['verify', jrstWith('{ t4: true }')], /theorems/],
    [['verify'], /missing required argument/],
  ])('%j exits 2 with a message', async (args, message) => {
    const r = await cli(...args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
  });
});
