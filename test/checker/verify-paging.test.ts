// verify with paging on: classes from the classifier's paging mode, paging guests (the kernel
// builds its tables and turns paging on) run bare and under nested, shadow-eager and shadow-lazy.
// The verdicts are what the runs give: on classic all three kinds confirm every run (guest 2
// unmaps its own page while its TLB still holds it: nested paging once diverged there, when the
// emulated lpsw walked afresh; scenario nested/stale-emulated keeps that case); VMM hooks broken on
// purpose and an override that makes invlpg unprivileged turn the verdicts. Then the
// CLI: determinism, --workers, --shard and merge, --emit reproduced by run, a paging scenario
// taking the paging path, bad input. The worker threads run the built dist/ (global setup).

import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { generateGuest, guestImage, kernelSource } from '../../src/checker/verify/generate.js';
import { paletteOf } from '../../src/checker/verify/palette.js';
import { runAs, verify, type KindVerdict } from '../../src/checker/verify/verify.js';
import { classify } from '../../src/checker/classify/classify.js';
import { withOverrides } from '../../src/isa/profile.js';
import { classic } from '../../src/isa/profiles/classic.js';
import { x86vt } from '../../src/isa/profiles/x86-lite.js';
import { runGuest } from '../../src/vmm/run.js';
import { ShadowMemory } from '../../src/vmm/shadow-memory.js';
import { cli } from '../cli/helpers.js';
import { shards } from './shards.js';

const RUNS = 20;
const PAGING = 'x86-32';

afterEach(() => vi.restoreAllMocks());

const byKind = (under: readonly KindVerdict[] | undefined, kind: string) => under!.find((k) => k.kind === kind)!;

describe('verify --paging: the verdicts the runs give', () => {
  it('paging guests: the kernel writes its tables, sets PTBR and turns paging on; the process runs in its own table; bare runs end and no guest is refused by the paging kinds', () => {
    const palette = paletteOf(classic, classify(classic, { paging: PAGING, states: 20 }));
    for (let i = 0; i < 5; i++) {
      const plan = generateGuest(palette, 1974, i);
      expect(plan.paging).toBe(PAGING);
      const src = kernelSource(plan, classic);
      expect(src).toMatch(/^\.psw pc=handler, mode=s, pg=1, ptbr=0x4000$/m);
      expect(src).toMatch(/setptbr r10\nlpsw kpsw\npaged:/);
      expect(src).toMatch(/^upsw: \.psw pc=0, mode=u, ie=1, pg=1, ptbr=0x6000$/m);
      const g = guestImage(plan, classic);
      expect(g.config.translation).toBe('paging');
      expect(runGuest('bare', g).retired).toBeGreaterThan(0);
      for (const kind of ['nested', 'shadow-eager', 'shadow-lazy'] as const) expect(runAs(kind, g).checks).toBeDefined();
    }
  }, 60_000);

  it('classic: Theorem 1 holds and nested, shadow-eager and shadow-lazy confirm every run; vmm2 and hvm refuse paging guests', () => {
    const v = verify(classic, { paging: PAGING, runs: RUNS });
    expect(v.paging).toBe(PAGING);
    expect(v.classification.translation).toBe('paging');
    const t1 = v.theorems.t1;
    expect(t1).toMatchObject({ precondition: true, violators: [], established: true, counterexample: null });
    expect(t1.under!.map((k) => k.kind)).toEqual(['nested', 'shadow-eager', 'shadow-lazy']);
    for (const kind of ['nested', 'shadow-eager', 'shadow-lazy']) {
      expect(byKind(t1.under, kind)).toMatchObject({ established: true, counterexample: null, confirmation: { runs: RUNS, equivalent: RUNS, safe: RUNS, refused: 0, untrappedSoftware: 0, confirmed: true } });
    }
    expect(v.theorems.t2).toMatchObject({ precondition: true, kind: 'vmm2', confirmation: null, established: false });
    expect(v.theorems.t2.note).toMatch(/^vmm2 cannot host these guests: translation 'paging'/);
    expect(v.theorems.t3).toMatchObject({ precondition: true, kind: 'hvm', confirmation: null, established: false });
    expect(v.theorems.t3.note).toMatch(/^hvm cannot host these guests: translation 'paging'/);
  }, 120_000);

  it('x86-vt: Theorem 1 holds with paging on too, and nested, shadow-eager and shadow-lazy confirm every run — the guest rings run in the non-root rings, where the critical instructions exit', () => {
    const v = verify(x86vt, { paging: PAGING, runs: 10 });
    expect(v.theorems.t1).toMatchObject({ precondition: true, violators: [], established: true, counterexample: null });
    for (const kind of ['nested', 'shadow-eager', 'shadow-lazy']) {
      expect(byKind(v.theorems.t1.under, kind)).toMatchObject({ established: true, confirmation: { runs: 10, equivalent: 10, safe: 10, refused: 0, untrappedSoftware: 0, confirmed: true } });
    }
  }, 120_000);

  it('sabotage: shadow paging that no longer empties its spaces after an emulated write or invalidation turns shadow-eager from confirmed to a counterexample', () => {
    vi.spyOn(ShadowMemory.prototype, 'afterEmulate').mockImplementation(() => {});
    const v = verify(classic, { paging: PAGING, runs: RUNS });
    const eager = byKind(v.theorems.t1.under, 'shadow-eager');
    expect(eager.confirmation!.confirmed).toBe(false);
    expect(eager.confirmation!.equivalent).toBeLessThan(RUNS);
    expect(eager.counterexample).toMatchObject({ kind: 'shadow-eager', source: 'generated' });
    expect(eager.counterexample!.divergence).toBeDefined();
  }, 120_000);

  it('sabotage: invlpg made unprivileged (an override) — sensitive and not privileged, so Theorem 1 is no longer established; the search runs under all three kinds', () => {
    const p = withOverrides(classic, [{ mnemonic: 'invlpg', trapsIn: [] }]);
    const v = verify(p, { paging: PAGING, runs: RUNS });
    const t1 = v.theorems.t1;
    expect(t1).toMatchObject({ precondition: false, violators: ['invlpg'], established: false, confirmation: null });
    expect(t1.under!.map((k) => [k.kind, k.search?.runs, k.search?.refused])).toEqual([
      ['nested', RUNS, 0],
      ['shadow-eager', RUNS, 0],
      ['shadow-lazy', RUNS, 0],
    ]);
    expect(v.theorems.t2.note).toMatch(/Theorem 1's precondition fails/);
  }, 120_000);
});

describe('shadowlab verify --paging', () => {
  const args = ['classic', '--paging', '--runs', '6', '--json'];

  it('--json: the same seed gives the same JSON; paging, theorems.t1.under per kind; --workers 2 prints the JSON of one worker', async () => {
    const a = await cli('verify', ...args);
    const b = await cli('verify', ...args);
    expect(a.stderr).toBe('');
    expect(a.code).toBe(0);
    expect(b.stdout).toBe(a.stdout);
    const d = JSON.parse(a.stdout);
    expect(d).toMatchObject({ schemaVersion: expect.any(Number), paging: PAGING, runs: 6, ok: true });
    expect(d.theorems.t1.under.map((k: KindVerdict) => [k.kind, k.confirmation!.runs])).toEqual([
      ['nested', 6],
      ['shadow-eager', 6],
      ['shadow-lazy', 6],
    ]);
    const two = await cli('verify', ...args, '--workers', '2');
    expect(two.stdout).toBe(a.stdout);
  }, 180_000);

  it('three shards merged give the JSON and the text of one unsharded run', async () => {
    const whole = await cli('verify', ...args);
    const files = await shards(3, 'classic', '--paging', '--runs', '6');
    expect((await cli('merge', files[1], files[2], files[0], '--json')).stdout).toBe(whole.stdout);
    expect((await cli('merge', ...files)).stdout).toBe((await cli('verify', 'classic', '--paging', '--runs', '6')).stdout);
    const segment = await shards(3, 'classic', '--runs', '6');
    const mixed = await cli('merge', files[0], segment[1], files[2]);
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toMatch(/its paging differs/);
  }, 180_000);

  it('--emit writes the paging counterexamples (pdp10: jrst 1 under each kind) as scenarios that `run --under <kind>` reproduces', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'paging-emit-'));
    const r = await cli('verify', 'pdp10', '--paging', '--runs', '3', '--emit', dir);
    expect(r.code).toBe(0); // Theorem 1's precondition fails, and a counterexample shows it: as expected
    const files = readdirSync(dir).filter((f) => f.includes('-t1-')).sort();
    expect(files).toEqual(['pdp10-t1-nested-seed1974-guest1.yaml', 'pdp10-t1-shadow-eager-seed1974-guest1.yaml', 'pdp10-t1-shadow-lazy-seed1974-guest1.yaml']);
    // the classifier's witnesses page too: the geometry, the state's TLB entries, the table entries the step reads
    expect(r.stdout).not.toContain('not emitted');
    const witness = readFileSync(join(dir, 'pdp10-witness-jrst-control-S.yaml'), 'utf8');
    expect(witness).toMatch(/translation: paging\n {2}paging:\n {4}geometry: x86-32\n/);
    expect(witness).toMatch(/\ntlb:\n {2}entries:\n {4}- slot: \d+\n/);
    const replay = await cli('run', join(dir, 'pdp10-witness-jrst-control-S.yaml'));
    expect(replay.stdout).toContain('expectations: all met');
    const text = readFileSync(join(dir, files[0]), 'utf8');
    expect(text).toMatch(/^# Emitted by `shadowlab verify pdp10 --paging x86-32 --seed 1974 --runs 3`/);
    expect(text).toMatch(/translation: paging\n {2}paging:\n {4}geometry: x86-32/);
    const run = await cli('run', join(dir, files[0]), '--under', 'nested');
    expect(run.stderr).toBe('');
    expect(run.stdout).toContain('expectations: all met');
    expect(run.stdout).toMatch(/nested: the states first differ after instruction \d+ \(pc 0x[0-9a-f]+: jrst 1, 0x[0-9a-f]+\)/);
    expect(run.code).toBe(0);
  }, 180_000);

  it('a scenario whose machine pages takes the paging path, its own guest first; a bad --paging geometry exits 2', async () => {
    const r = await cli('verify', 'shadow/remap-invlpg', '--runs', '2', '--json');
    const d = JSON.parse(r.stdout);
    expect(d).toMatchObject({ input: { scenario: expect.stringMatching(/remap-invlpg\.yaml$/) }, paging: PAGING });
    for (const k of d.theorems.t1.under) expect(k.confirmation).toMatchObject({ runs: 2, equivalent: 2, safe: 2 });
    expect(d.theorems.t3.note).toMatch(/^hvm cannot host these guests/);
    const bad = await cli('verify', 'classic', '--paging', 'tiny');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--paging: geometry 'tiny' has 32-byte pages/);
    const unknown = await cli('verify', 'classic', '--paging', 'x86-64');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/--paging: unknown geometry 'x86-64'/);
  }, 180_000);
});
