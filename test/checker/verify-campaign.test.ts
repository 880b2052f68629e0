// Campaigns spread over worker threads and shards: --workers 1 and 2 print the same JSON, three
// shards merged print the JSON of the unsharded run (a search's first counterexample included),
// --override flips exactly the verdicts it should, and bad input exits 2 naming the option or file.
// The worker threads run the built dist/ (test/global-setup.ts builds it).

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from '../cli/helpers.js';
import { shards } from './shards.js';

describe('verify --workers and --shard', () => {
  it('--workers 2 prints the JSON of --workers 1, byte for byte', async () => {
    const one = await cli('verify', 'classic', '--runs', '12', '--seed', '5', '--json', '--workers', '1');
    const two = await cli('verify', 'classic', '--runs', '12', '--seed', '5', '--json', '--workers', '2');
    expect(one.code).toBe(0);
    expect(two.stdout).toBe(one.stdout);
    expect(JSON.parse(two.stdout).theorems.t1.confirmation).toMatchObject({ runs: 12, confirmed: true });
  }, 120_000);

  it('a search spread over workers finds the same first counterexample', async () => {
    const one = await cli('verify', 'x86-lite', '--runs', '10', '--json');
    const two = await cli('verify', 'x86-lite', '--runs', '10', '--json', '--workers', '2');
    expect(two.stdout).toBe(one.stdout);
    expect(JSON.parse(one.stdout).theorems.t1.counterexample).not.toBeNull();
  }, 120_000);

  it('three shards merged give the JSON and the text of one unsharded run', async () => {
    const whole = await cli('verify', 'classic', '--runs', '10', '--seed', '9', '--json');
    const files = await shards(3, 'classic', '--runs', '10', '--seed', '9');
    const merged = await cli('merge', files[2], files[0], files[1], '--json');
    expect(merged.stderr).toBe('');
    expect(merged.code).toBe(0);
    expect(merged.stdout).toBe(whole.stdout);
    const text = await cli('merge', ...files);
    expect(text.stdout).toBe((await cli('verify', 'classic', '--runs', '10', '--seed', '9')).stdout);
  }, 120_000);

  it('a sharded search merges to the lowest diverging guest, as the unsharded run finds it', async () => {
    const whole = await cli('verify', 'pdp10', '--runs', '12', '--json');
    const files = await shards(3, 'pdp10', '--runs', '12');
    const merged = await cli('merge', ...files, '--json');
    expect(merged.stdout).toBe(whole.stdout);
    const t1 = JSON.parse(whole.stdout).theorems.t1;
    expect(t1.counterexample.index).toBe(t1.search.runs - 1);
  }, 120_000);

  it('a scenario sharded: its own guest at position 0, merged as one run', async () => {
    const whole = await cli('verify', 'vmm/jrst', '--runs', '5', '--json');
    const files = await shards(2, 'vmm/jrst', '--runs', '5');
    expect((await cli('merge', ...files, '--json')).stdout).toBe(whole.stdout);
  }, 120_000);

  it('merge refuses shards of different runs, seeds or overrides, a missing or repeated shard, and what is not a shard', async () => {
    const a = await shards(2, 'pdp10', '--runs', '4');
    const seed = await shards(2, 'pdp10', '--runs', '4', '--seed', '3');
    const runs = await shards(2, 'pdp10', '--runs', '6');
    const ov = await shards(2, 'pdp10', '--runs', '4', '--override', 'jrst=u');
    const three = await shards(3, 'pdp10', '--runs', '4');
    const junk = join(mkdtempSync(join(tmpdir(), 'junk-')), 'x.json');
    writeFileSync(junk, '{"a": 1}');
    const cases: [string[], RegExp][] = [
      [[a[0], seed[1]], new RegExp(`${seed[1]}: its seed differs from ${a[0]}'s`)],
      [[a[0], runs[1]], new RegExp(`${runs[1]}: its runs differs`)],
      [[a[0], ov[1]], new RegExp(`${ov[1]}: its overrides differs`)],
      [[a[0]], /merge: shards 2\/2 missing/],
      [[a[0], a[0], a[1]], /shard 1\/2 again/],
      [[a[0], three[1]], new RegExp(`${three[1]}: shard 2/3, but .* is one of 2`)],
      [[a[0], junk], new RegExp(`${junk}: not the output of`)],
      [[a[0], '/nonexistent/shard.json'], /\/nonexistent\/shard\.json: cannot read it/],
    ];
    for (const [files, message] of cases) {
      const r = await cli('merge', ...files);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stdout).toBe('');
    }
  }, 120_000);

  it.each([
    [['verify', 'pdp10', '--shard', '3/2'], /--shard: expected k\/n, .* got '3\/2'/],
    [['verify', 'pdp10', '--shard', '0/2'], /--shard: expected k\/n, .* got '0\/2'/],
    [['verify', 'pdp10', '--shard', '1/0'], /--shard: expected k\/n, .* got '1\/0'/],
    [['verify', 'pdp10', '--shard', 'a/b'], /--shard: expected k\/n/],
    [['verify', 'pdp10', '--shard', '1/3', '--runs', '2'], /--shard: 3 shards of 2 runs/],
    [['verify', 'pdp10', '--shard', '1/2', '--emit', '/tmp'], /--emit does nothing with --shard/],
    [['verify', 'pdp10', '--workers', '0'], /--workers: expected a whole number from 1 to 64/],
    [['verify', 'pdp10', '--workers', '65'], /--workers: expected a whole number from 1 to 64/],
    [['verify', 'pdp10', '--runs', '0', '--shard', '1/2'], /--runs: expected a whole number from 1 to 10000/],
  ])('%j exits 2 with a message', async (args, message) => {
    const r = await cli(...args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
  });
});

describe('--override', () => {
  const classes = ['privileged', 'controlSensitive', 'behaviorSensitive', 'modeSensitive', 'locationSensitive', 'userSensitive', 'innocuous'] as const;
  type Row = Record<(typeof classes)[number], boolean> & { name: string };
  /** The instructions whose classes differ between two classify --json outputs, and how. */
  const changed = (a: { instructions: Row[] }, b: { instructions: Row[] }) =>
    a.instructions.flatMap((x) => {
      const y = b.instructions.find((i) => i.name === x.name)!;
      return classes.filter((k) => x[k] !== y[k]).map((k) => `${x.name}.${k}`);
    });

  it('pdp10 with jrst trapping in user mode: jrst becomes privileged and Theorem 1 holds, confirmed under vmm', async () => {
    const plain = JSON.parse((await cli('classify', 'pdp10', '--states', '40', '--json')).stdout);
    const r = await cli('classify', 'pdp10', '--states', '40', '--override', 'jrst=u', '--json');
    expect(r.code).toBe(0);
    const d = JSON.parse(r.stdout);
    expect(d.overrides).toEqual([{ instruction: 'jrst', trapsIn: ['u'] }]);
    expect(changed(plain, d)).toEqual(['jrst.privileged']);
    expect(d.theorems).toEqual({ t1: { precondition: true, violators: [] }, t3: { precondition: true, violators: [] } });
    const v = await cli('verify', 'pdp10', '--runs', '5', '--override', 'jrst=u');
    expect(v.code).toBe(0);
    expect(v.stdout).toContain('verify pdp10 (overridden: jrst traps in u)');
    expect(v.stdout).toMatch(/Theorem 1: .*\n {2}precondition holds\n {2}confirmed under vmm: 5 runs, 5 equivalent, 5 safe/);
  }, 120_000);

  it('x86-lite with pushf trapping in rings 1-3: pushf leaves both violator lists, no other instruction changes', async () => {
    const plain = JSON.parse((await cli('classify', 'x86-lite', '--states', '60', '--json')).stdout);
    const d = JSON.parse((await cli('classify', 'x86-lite', '--states', '60', '--override', 'pushf=r1,r2,r3', '--json')).stdout);
    expect(plain.theorems.t1.violators).toContain('pushf');
    expect(plain.theorems.t3.violators).toContain('pushf');
    expect(d.theorems.t1.violators).toEqual(plain.theorems.t1.violators.filter((m: string) => m !== 'pushf'));
    expect(d.theorems.t3.violators).toEqual(plain.theorems.t3.violators.filter((m: string) => m !== 'pushf'));
    expect(changed(plain, d).every((c) => c.startsWith('pushf.'))).toBe(true);
    expect(changed(plain, d)).toContain('pushf.privileged');
  }, 120_000);

  it('an override with no modes makes an instruction trap nowhere: lpsw stops being privileged', async () => {
    const d = JSON.parse((await cli('classify', 'classic', '--states', '40', '--override', 'lpsw=', '--json')).stdout);
    expect(d.instructions.find((i: Row) => i.name === 'lpsw').privileged).toBe(false);
    expect(d.theorems.t1.violators).toContain('lpsw');
  }, 120_000);

  it.each([
    [['classify', 'pdp10', '--override', 'jrst=x'], /--override 'jrst=x': profile pdp10 has no mode 'x' \(its modes: s, u\)/],
    [['classify', 'pdp10', '--override', 'foo=u'], /--override 'foo=u': profile pdp10 has no instruction 'foo'/],
    [['classify', 'pdp10', '--override', 'jrst=u,u'], /--override 'jrst=u,u': mode 'u' is named twice/],
    [['classify', 'pdp10', '--override', 'jrst=u', '--override', 'jrst=s'], /--override 'jrst=s': 'jrst' is overridden again \(contradicting/],
    [['classify', 'pdp10', '--override', 'jrst=u', '--override', 'jrst=u'], /--override 'jrst=u': 'jrst' is overridden again \(a duplicate/],
    [['classify', 'pdp10', '--override', 'jrst'], /--override 'jrst': expected MNEMONIC=MODE,MODE/],
    [['verify', 'x86-lite', '--override', 'pushf=r9'], /--override 'pushf=r9': profile x86-lite has no mode 'r9'/],
  ])('%j exits 2 with a message', async (args, message) => {
    const r = await cli(...args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
  });
});
