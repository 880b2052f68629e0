// `shadowlab classify`: the table, the JSON (deterministic for a seed), the exhaustive mode's
// bounds, and bad input (exit 2).

import { describe, expect, it } from 'vitest';
import { cli } from '../cli/helpers.js';

describe('shadowlab classify', () => {
  it('prints one row per instruction, the preconditions and the paper\'s user-sensitive definition', async () => {
    const r = await cli('classify', 'pdp10', '--states', '40');
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/│ jrst +│ - +│ yes +│ - +│ - +│ - +│ - +│ 'jrst \d+, 0x[0-9a-f]+' in s changes R: mode s vs u/);
    expect(r.stdout).toMatch(/│ add +│ - +│ - .*no witness in 40 states \(40 without a trap\)/);
    expect(r.stdout).toContain('Theorem 1: a VMM can be built if every sensitive instruction is privileged — precondition fails: jrst is not privileged');
    expect(r.stdout).toContain('Theorem 3: a hybrid VMM can be built if every user-sensitive instruction is privileged — precondition holds');
    expect(r.stdout).toContain("The PDP-10's JRST 1 is the example");
  });

  it('--json: schemaVersion, instructions[] with the class fields and a witness, theorems.t1 / t3; the same seed gives the same JSON', async () => {
    const a = await cli('classify', 'ibm360', '--states', '30', '--seed', '7', '--json');
    const b = await cli('classify', 'ibm360', '--states', '30', '--seed', '7', '--json');
    expect(a.code).toBe(0);
    expect(a.stdout).toBe(b.stdout);
    const d = JSON.parse(a.stdout);
    expect(d.schemaVersion).toEqual(expect.any(Number));
    const lra = d.instructions.find((i: { name: string }) => i.name === 'lra');
    expect(Object.keys(lra)).toEqual(expect.arrayContaining(['name', 'privileged', 'controlSensitive', 'behaviorSensitive', 'modeSensitive', 'locationSensitive', 'userSensitive', 'witness']));
    expect(lra.witness).toMatchObject({ class: 'location', mode: 'u', phi: { kind: 'relocation' } });
    expect(d.theorems).toEqual({ t1: { precondition: false, violators: ['lra'] }, t3: { precondition: false, violators: ['lra'] } });
    const other = JSON.parse((await cli('classify', 'ibm360', '--states', '30', '--seed', '8', '--json')).stdout);
    expect(other.theorems).toEqual(d.theorems);
    expect(JSON.stringify(other)).not.toBe(JSON.stringify(d));
  });

  it('--exhaustive states its bounds', async () => {
    const r = await cli('classify', 'pdp10', '--exhaustive', '--json');
    expect(r.code).toBe(0);
    const d = JSON.parse(r.stdout);
    expect(d.exhaustive).toMatchObject({ modes: ['s', 'u'], registers: ['r1', 'r2'] });
    expect(d.exhaustive.values.length).toBeGreaterThan(3);
    expect(d.theorems.t1.violators).toEqual(['jrst']);
  });

  it('--paging --exhaustive states its paging bounds', async () => {
    const r = await cli('classify', 'pdp10', '--paging', '--exhaustive');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/every state of a tiny configuration .*; paging fixed: \d+ of the 12 pages mapped .* the TLB filled by read at 0x100, read at 0x1000, write at 0x1000 in the state's mode/);
    expect(r.stdout).toMatch(/Theorem 1: .* precondition fails: jrst is not privileged/);
  });

  it('--paging classifies with paging on and names the geometry', async () => {
    const r = await cli('classify', 'classic', '--paging', '--states', '30', '--json');
    expect(r.code).toBe(0);
    const d = JSON.parse(r.stdout);
    expect(d).toMatchObject({ translation: 'paging', paging: { geometry: 'x86-32', tlbEntries: 16, tlbWays: 4 } });
    expect(d.instructions.find((i: { name: string }) => i.name === 'tlbflush').controlSensitive).toBe(true);
  });

  it.each([
    [['classify', 'classic', '--paging', 'tiny'], /--paging: geometry 'tiny' has 32-byte pages/],
    [['classify', 'classic', '--paging', 'vax'], /--paging: unknown geometry 'vax'/],
    [['classify', 'vax'], /unknown profile 'vax' \(profiles: classic, pdp10/],
    [['classify', 'arm', '--states', '0'], /--states: expected a whole number from 1 to 100000/],
    [['classify', 'arm', '--states', '100001'], /--states: expected a whole number from 1 to 100000/],
    [['classify', 'arm', '--seed', '-1'], /--seed: expected a whole number/],
    [['classify', 'arm', '--seed', '1e3'], /--seed: expected a whole number/],
    [['classify', 'arm', '--exhaustive', '--states', '5'], /--states does nothing with --exhaustive/],
    [['classify'], /missing required argument/],
  ])('%j exits 2 with a message', async (args, message) => {
    const r = await cli(...args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
  });
});
