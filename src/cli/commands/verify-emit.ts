// `verify --emit DIR`: each generated counterexample as a scenario file that `shadowlab run FILE
// --under KIND` reproduces — the guest's two programs, its registers and budget, and an `expect`
// block with what the bare run does (how it ends, its console) and the verdicts the VMM run got
// (equivalence fails). Existing files are never overwritten: a taken name gets -2, -3, ...

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { PAGING_TLB } from '../../checker/classify/paging.js';
import { guestImage, KERNEL_PC, kernelHome, modesOf, USER_BASE, vmsizeOf } from '../../checker/verify/generate.js';
import { runAs, type Counterexample } from '../../checker/verify/verify.js';
import type { Profile } from '../../isa/profile.js';
import { count } from '../format.js';
import { UsageError } from '../../scenario/errors.js';
import type { Scenario } from '../../scenario/load.js';
import { runGuest } from '../../vmm/run.js';
import { kindsOfVerdict, type VerifyData } from './verify.js';

/** Most files one name may take suffixes for. */
const MAX_SUFFIX = 1000;

/** Writes every generated counterexample of `d` (verified on `p`) into `dir`; returns the paths written. */
export function emitCounterexamples(dir: string, d: VerifyData, p: Profile, s: Scenario | undefined): string[] {
  const found = Object.values(d.theorems).flatMap((t) => kindsOfVerdict(t).flatMap((k) => (k.counterexample?.plan ? [[t.theorem, k.counterexample] as const] : [])));
  if (!found.length) return [];
  makeDir(dir);
  return found.map(([theorem, c]) => writeNew(dir, `${d.profile}-${theorem}-${c.kind}-seed${d.seed}-guest${c.index}`, scenarioText(d, theorem, c, p, s)));
}

/** Creates `dir` (and its parents) when missing; UsageError naming --emit when it cannot. */
export function makeDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new UsageError(`--emit: cannot create the directory '${dir}': ${(e as Error).message}`);
  }
}

/** Writes `text` to DIR/NAME.yaml, or NAME-2.yaml ... when taken; returns the path. */
export function writeNew(dir: string, name: string, text: string): string {
  for (let n = 1; n <= MAX_SUFFIX; n++) {
    const path = join(dir, `${name}${n === 1 ? '' : `-${n}`}.yaml`);
    try {
      writeFileSync(path, text, { flag: 'wx' });
      return path;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new UsageError(`--emit: cannot write '${path}': ${(e as Error).message}`);
    }
  }
  throw new UsageError(`--emit: ${dir} already holds ${MAX_SUFFIX} files named ${name}*.yaml`);
}

/** The scenario file of counterexample `c` (with the bare run's end and console, and the VMM run's verdicts). */
export function scenarioText(d: VerifyData, theorem: string, c: Counterexample, p: Profile, s: Scenario | undefined): string {
  const plan = c.plan!;
  const image = guestImage(plan, p, `${d.profile}-${theorem}`);
  const bare = runGuest('bare', image);
  const checks = runAs(c.kind, image).checks!;
  const regs = Object.fromEntries(plan.regs.flatMap((v, r) => (v === 0 ? [] : [[`r${r}`, v]])));
  const given = d.overrides ?? [];
  const overrides = [...(s?.spec.machine.overrides ?? []).filter((o) => !given.some((g) => g.instruction === o.instruction)), ...given];
  const home = kernelHome(p);
  const doc = {
    name: `${d.profile}-${theorem}-counterexample`,
    description: `${d.profile}: a generated guest (seed ${d.seed}, guest ${c.index}, shrunk to ${count(c.lines, 'line')}) that behaves differently under ${c.kind} than bare`,
    machine: {
      memory: vmsizeOf(plan),
      profile: s?.spec.machine.profile ?? d.profile,
      ...(overrides.length ? { overrides } : {}),
      ...(plan.paging ? { translation: 'paging', paging: { geometry: plan.paging, tlb: { ...PAGING_TLB } } } : {}),
    },
    programs: [
      { name: 'kernel', at: 0, ...(home ? { org: home } : {}), source: `${c.kernel!}\n` },
      { name: 'process', at: USER_BASE, source: `${c.user!}\n` },
    ],
    psw: { pc: home + KERNEL_PC, mode: modesOf(p).kernel, limit: vmsizeOf(plan) },
    ...(Object.keys(regs).length ? { registers: regs } : {}),
    steps: plan.budget,
    expect: {
      end: bare.end,
      console: bare.console,
      verdicts: { [c.kind]: { equivalence: checks.equivalence.holds, safety: checks.safety.holds, efficiency: checks.efficiency.holds } },
    },
  };
  const why = c.instruction ? `# The states first differ after instruction ${c.instruction.retired + 1}${c.instruction.text ? ` (${c.instruction.text})` : ''}: ${c.instruction.difference}.\n` : '';
  const header = `# Emitted by \`shadowlab verify ${'scenario' in d.input ? d.input.scenario : d.profile}${given.map((o) => ` --override ${o.instruction}=${o.trapsIn.join(',')}`).join('')}${d.paging ? ` --paging ${d.paging}` : ''} --seed ${d.seed} --runs ${d.runs}\`: Theorem ${theorem.slice(1)}'s counterexample.\n${why}# Reproduce: shadowlab run THIS-FILE --under ${c.kind}\n`;
  return header + stringify(doc, { lineWidth: 0 });
}
