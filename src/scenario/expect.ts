// Checking a scenario's `expect:` block against a run's final state.

import { ST_FLAGS_MASK, ST_FLAGS_SHIFT, ST_MODE_MASK, ST_PROFILE_SHIFT, STATUS_SWITCHES, SWITCH_NAMES } from '../isa/arch.js';
import type { MachineSnapshot } from '../isa/snapshot.js';
import type { TlbEntry } from '../mmu/tlb.js';
import { bankIndex, controlIndex, registerIndex } from './build.js';
import { resolveAddress, resolveValue, type Scenario } from './load.js';
import type { RunEnd } from '../isa/run.js';
import type { GuestChecks, VmmKind } from '../vmm/index.js';
import type { TheoremKey, TheoremVerdict } from '../checker/verify/verify.js';

export interface ExpectationFailure {
  /** dotted path in the scenario's expect block, e.g. "registers.r1" */
  readonly field: string;
  readonly expected: string;
  readonly actual: string;
}

/** What a run produced that expectations look at. */
export interface RunOutcome {
  readonly end: RunEnd;
  /** the budget of instructions retired the run had */
  readonly budget: number;
  readonly retired: number;
  readonly final: MachineSnapshot;
  readonly traps: Readonly<Record<string, number>>;
}

const hex = (v: number) => `0x${(v >>> 0).toString(16)}`;
const same32 = (a: number, b: number) => a >>> 0 === b >>> 0;

/**
 * Every way `outcome` differs from the scenario's expectations (empty when it meets them).
 * A run that used up its budget fails unless `end: budget` is expected.
 */
export function checkExpectations(s: Scenario, outcome: RunOutcome): ExpectationFailure[] {
  const e = s.spec.expect ?? {};
  const out: ExpectationFailure[] = [];
  const fail = (field: string, expected: string, actual: string) => out.push({ field, expected, actual });
  const wantEnd = e.end ?? (outcome.end === 'budget' ? 'halted or double-fault' : outcome.end);
  if (wantEnd !== outcome.end) fail('end', wantEnd, outcome.end === 'budget' ? `budget (${outcome.budget} instructions retired without stopping)` : outcome.end);
  if (e.retired !== undefined && e.retired !== outcome.retired) fail('retired', String(e.retired), String(outcome.retired));
  const f = outcome.final;
  /** Each word `entries` names (a value or a symbol) against what `got` reads of the final state. */
  const words = (field: string, entries: Readonly<Record<string, number | string>> | undefined, got: (name: string) => number) => {
    for (const [name, v] of Object.entries(entries ?? {})) {
      const want = resolveValue(v, s.symbols);
      const actual = got(name);
      if (!same32(want, actual)) fail(`${field}.${name}`, `${want >>> 0} (${hex(want)})`, `${actual >>> 0} (${hex(actual)})`);
    }
  };
  words('registers', e.registers, (name) => f.regs[registerIndex(name)]);
  for (const [field, want, got] of pswChecks(s, f)) if (!same32(want, got)) fail(`psw.${field}`, describe(field, want, s), describe(field, got, s));
  const t = e.timer ?? {};
  for (const k of ['reload', 'count', 'enabled'] as const) if (t[k] !== undefined && t[k] !== f.timer[k]) fail(`timer.${k}`, String(t[k]), String(f.timer[k]));
  words('banks', e.banks, (name) => f.banks[bankIndex(s, name)]);
  if (e.tlb) {
    const text = (es: readonly TlbEntry[]) => [...es].sort((a, b) => a.slot - b.slot).map((x) => `slot ${x.slot}: vpn 0x${x.vpn.toString(16)} frame 0x${x.frame.toString(16)} perms 0x${x.perms.toString(16)} page 2^${x.pageBits}`).join('; ') || 'empty';
    const want = text(e.tlb);
    const got = text(f.tlb?.entries ?? []);
    if (want !== got) fail('tlb', want, got);
  }
  words('control', e.control, (name) => f.control[controlIndex(s, name)]);
  for (const [key, v] of Object.entries(e.memory ?? {})) {
    const pa = resolveAddress(key, s.symbols)!;
    const want = resolveValue(v, s.symbols);
    const got = pa + 4 <= f.memory.size ? f.memory.read32(pa) : NaN;
    if (!same32(want, got)) fail(`memory.${key}`, `${want >>> 0} (${hex(want)})`, Number.isNaN(got) ? 'outside memory' : `${got >>> 0} (${hex(got)})`);
  }
  if (e.console !== undefined && e.console !== f.console) fail('console', JSON.stringify(e.console), JSON.stringify(f.console));
  for (const [cause, n] of Object.entries(e.traps ?? {})) {
    const got = outcome.traps[cause] ?? 0;
    if (got !== n) fail(`traps.${cause}`, String(n), String(got));
  }
  return out;
}

/** [field, expected, actual] for every PSW field the expectation names. */
function pswChecks(s: Scenario, f: MachineSnapshot): [string, number, number][] {
  const p = s.spec.expect?.psw;
  if (!p) return [];
  const rows: [string, number | undefined, number][] = [
    ['pc', p.pc === undefined ? undefined : resolveValue(p.pc, s.symbols), f.psw.pc],
    ['mode', p.mode === undefined ? undefined : s.profile.modes.indexOf(p.mode), f.psw.status & ST_MODE_MASK],
    ['base', p.base, f.psw.base],
    ['limit', p.limit, f.psw.limit],
    ['ptbr', p.ptbr === undefined ? undefined : resolveValue(p.ptbr, s.symbols), f.psw.ptbr],
    ['extra', p.extra === undefined ? undefined : resolveValue(p.extra, s.symbols), f.psw.extra],
    ['flags', p.flags, (f.psw.status & ST_FLAGS_MASK) >>> ST_FLAGS_SHIFT],
    ['profileBits', p.profileBits, (f.psw.status >>> ST_PROFILE_SHIFT) & 0xff],
  ];
  for (const k of SWITCH_NAMES) rows.push([k, p[k] === undefined ? undefined : p[k] ? 1 : 0, (f.psw.status & STATUS_SWITCHES[k]) !== 0 ? 1 : 0]);
  return rows.filter((r): r is [string, number, number] => r[1] !== undefined);
}

function describe(field: string, v: number, s: Scenario): string {
  if (field === 'mode') return s.profile.modes[v] ?? String(v);
  if (field in STATUS_SWITCHES) return v ? 'true' : 'false';
  return `${v >>> 0} (${hex(v)})`;
}

const VERDICTS = ['equivalence', 'safety', 'efficiency'] as const;

/**
 * Whether the scenario expects the guest under `kind` to end as bare does (the default): it
 * expects equivalence, and not one within TLB nondeterminism (where the run may legitimately end
 * in another state).
 */
export function expectsBareEnd(s: Scenario, kind: VmmKind): boolean {
  const want = s.spec.expect?.verdicts?.[kind];
  return (want?.equivalence ?? true) && !(want?.tlbNondeterminism ?? false);
}

/**
 * Verdicts that differ from the scenario's `expect.verdicts` for `kind` (a verdict not stated
 * there must hold).
 */
export function checkVerdicts(s: Scenario, kind: VmmKind, checks: GuestChecks): ExpectationFailure[] {
  const want = s.spec.expect?.verdicts?.[kind] ?? {};
  const failures = VERDICTS.filter((v) => (want[v] ?? true) !== checks[v].holds).map((v) => ({
    field: `verdicts.${kind}.${v}`,
    expected: (want[v] ?? true) ? 'holds' : 'fails',
    actual: checks[v].holds ? 'holds' : 'fails',
  }));
  const tlb = checks.equivalence.tlbNondeterminism;
  if ((want.tlbNondeterminism ?? false) !== (tlb !== undefined)) {
    const says = (yes: boolean) => (yes ? 'diverged within TLB nondeterminism' : 'followed the bare TLB throughout');
    failures.push({ field: `verdicts.${kind}.tlbNondeterminism`, expected: says(want.tlbNondeterminism ?? false), actual: `${says(tlb !== undefined)}${tlb ? ` (first at instruction ${tlb.first.retired})` : ''}` });
  }
  return failures;
}

/** Theorems whose `verify` verdict differs from the scenario's `expect.theorems` (a theorem not stated there is not checked). */
export function checkTheorems(s: Scenario, theorems: Readonly<Record<TheoremKey, TheoremVerdict>>): ExpectationFailure[] {
  const want = s.spec.expect?.theorems ?? {};
  const says = (yes: boolean) => (yes ? 'established' : 'not established');
  return (['t1', 't2', 't3'] as const)
    .filter((k) => want[k] !== undefined && want[k] !== theorems[k].established)
    .map((k) => ({ field: `theorems.${k}`, expected: says(want[k]!), actual: says(theorems[k].established) }));
}
