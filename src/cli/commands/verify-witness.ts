// `verify --emit DIR` also writes the classifier's witnesses: each state a witness names (S, and
// for a behaviour witness φ(S) too) as a scenario file of one instruction that `shadowlab run
// FILE` reproduces — the words the instruction reads and writes, the registers, the PSW (flags
// and profile byte included), the control registers, the timer and the other modes' banked
// copies, a budget of 1, and an `expect` block
// with the state after it. A file is written only when running it gives that state (checked
// here, as `run` would); a witness whose state a scenario cannot state is listed as not
// emitted, with why. With paging on, the file also pages: the geometry, the state's TLB entries,
// and the table entries the step reads (its walks are accesses like any other).

import { Scalar, stringify } from 'yaml';
import { witnessSample, type Classification, type ClassifyOptions, type Witness, type WitnessClass } from '../../checker/classify/classify.js';
import { PAGING_TLB, pagingGeometry } from '../../checker/classify/paging.js';
import { machineConfig } from '../../checker/classify/states.js';
import { applyPhi } from '../../checker/classify/transforms.js';
import { ST_FLAGS_MASK, ST_FLAGS_SHIFT, ST_MODE_MASK, ST_PROFILE_SHIFT, STATUS_SWITCHES, SWITCH_NAMES } from '../../isa/arch.js';
import type { Profile } from '../../isa/profile.js';
import { checkpoint, restore, type MachineSnapshot } from '../../isa/snapshot.js';
import { CYCLE_DATA, type BusObserver } from '../../mmu/bus.js';
import type { TlbEntry } from '../../mmu/tlb.js';
import type { Geometry } from '../../paging/index.js';
import { checkExpectations } from '../../scenario/expect.js';
import { parseScenario } from '../../scenario/load.js';
import { runUnder } from '../../scenario/under.js';
import { witnessSummary, type OverrideSpec } from './classify.js';
import { makeDir, writeNew } from './verify-emit.js';

/** What emitting the witnesses gave: the files written, and each witness not emitted with why. */
export interface WitnessFiles {
  readonly written: readonly string[];
  readonly skipped: readonly string[];
}

const CLASSES: readonly WitnessClass[] = ['control', 'location', 'mode', 'substitution'];

/** Writes every witness of `c` (classified from `p` with `options`) into `dir` as scenarios of one instruction. */
export function emitWitnesses(dir: string, p: Profile, c: Classification, options: ClassifyOptions, overrides: readonly OverrideSpec[]): WitnessFiles {
  const written: string[] = [];
  const skipped: string[] = [];
  for (const i of c.instructions) {
    for (const k of CLASSES) {
      const w = i.witnesses[k];
      if (!w) continue;
      const name = `${c.profile}-witness-${i.name}-${k}`;
      const files = witnessScenarios(name, p, i.name, w, options, overrides, c);
      if (typeof files === 'string') skipped.push(`${name}: ${files}`);
      else {
        makeDir(dir);
        for (const f of files) written.push(writeNew(dir, f.name, f.text));
      }
    }
  }
  return { written, skipped };
}

/** Components a scenario can neither set nor expect. */
const UNSTATED = /^(timer\.pending|console)/;

/** The scenario texts of witness `w` of instruction `name` (one per state it names, files `base`-S and `base`-phiS), or why it cannot be one. */
function witnessScenarios(base: string, p: Profile, name: string, w: Witness, options: ClassifyOptions, overrides: readonly OverrideSpec[], c: Classification): { name: string; text: string }[] | string {
  const unstated = w.differences.find((d) => UNSTATED.test(d.component));
  if (unstated) return `it differs in ${unstated.component}, which a scenario cannot expect`;
  const geometry = c.paging ? pagingGeometry(c.paging.geometry) : undefined;
  const s = witnessSample(p, name, w, options).state;
  const twin = w.phi ? applyPhi(p, w.phi, s, 'size', geometry) : undefined;
  if (w.phi && !twin) return 'φ cannot be applied to its state again';
  const states: [string, MachineSnapshot][] = twin ? [['S', s], ['phiS', twin]] : [['S', s]];
  const out: { name: string; text: string }[] = [];
  for (const [label, x] of states) {
    const which = label === 'S' ? 'S' : 'φ(S)';
    const text = scenarioOf(p, x, geometry, overrides, `${base}-${label}`, `${p.name}: the classifier's ${w.class} witness for ${name}, state ${which} (seed ${c.seed}, sample ${w.sample}): ${witnessSummary(c, w)}`);
    const why = reproduces(text, `${base}-${label}.yaml`);
    if (why) return `state ${which}: ${why}`;
    out.push({ name: `${base}-${label}`, text });
  }
  return out;
}

/** `v` as an unsigned 32-bit number, written in hexadecimal in the YAML. */
function hex(v: number): Scalar<number> {
  const s = new Scalar(v >>> 0);
  s.format = 'HEX';
  return s;
}
const hexKey = (v: number) => `0x${(v >>> 0).toString(16)}`;

/** The scenario of state `x` running one instruction, expecting the state after it. */
function scenarioOf(p: Profile, x: MachineSnapshot, geometry: Geometry | undefined, overrides: readonly OverrideSpec[], name: string, description: string): string {
  const { after, touched } = observedStep(p, x, geometry);
  const paging = geometry ? { translation: 'paging', paging: { geometry: geometry.name, tlb: PAGING_TLB } } : { translation: 'segment' };
  const changedControl = (m: MachineSnapshot) => Object.fromEntries(p.controlRegisters.flatMap((r, i) => (m.control[i] === r.reset ? [] : [[r.name, hex(m.control[i])]])));
  const doc = {
    name,
    description,
    machine: { profile: p.name, memory: x.memory.size, ...paging, bounds: 'size', ...(overrides.length ? { overrides } : {}) },
    memory: blocks(touched.map((a) => [a, x.memory.read32(a)] as const)),
    psw: pswOf(p, x),
    registers: Object.fromEntries(x.regs.flatMap((v, r) => (v === 0 ? [] : [[`r${r}`, hex(v)]]))),
    ...(p.controlRegisters.length ? { control: changedControl(x) } : {}),
    timer: timerOf(x),
    ...(p.bankedRegisters.length ? { banks: banksOf(p, x, true) } : {}),
    ...(x.tlb ? { tlb: { entries: x.tlb.entries.map(tlbRow), victims: [...x.tlb.victims] } } : {}),
    steps: 1,
    expect: {
      end: 'budget',
      retired: 1,
      registers: Object.fromEntries(after.regs.map((v, r) => [`r${r}`, hex(v)])),
      psw: pswOf(p, after),
      ...(p.controlRegisters.length ? { control: Object.fromEntries(p.controlRegisters.map((r, i) => [r.name, hex(after.control[i])])) } : {}),
      memory: Object.fromEntries(touched.map((a) => [hexKey(a), hex(after.memory.read32(a))])),
      timer: timerOf(after),
      ...(p.bankedRegisters.length ? { banks: banksOf(p, after, false) } : {}),
      ...(after.tlb ? { tlb: after.tlb.entries.map(tlbRow) } : {}),
    },
  };
  return `# Emitted by \`shadowlab verify --emit\`: a classifier witness, the state it names running its one instruction.\n# Reproduce: shadowlab run THIS-FILE\n${stringify(doc, { lineWidth: 0 })}`;
}

/** The banked copies of `m` by 'mode.rN' — without the current mode's (its registers) when `others`. */
function banksOf(p: Profile, m: MachineSnapshot, others: boolean) {
  const n = p.bankedRegisters.length;
  const current = m.psw.status & ST_MODE_MASK;
  return Object.fromEntries(m.banks.flatMap((v, i) => (others && Math.floor(i / n) === current ? [] : [[`${p.modes[Math.floor(i / n)]}.r${p.bankedRegisters[i % n]}`, hex(v)]])));
}

/** A TLB entry as scenario fields. */
function tlbRow(e: TlbEntry) {
  return { slot: e.slot, vpn: hex(e.vpn), frame: hex(e.frame), perms: hex(e.perms), pageBits: e.pageBits };
}

/** The timer of `m` as scenario fields (the count only while it counts). */
function timerOf(m: MachineSnapshot) {
  return { reload: m.timer.reload, ...(m.timer.enabled ? { count: m.timer.count } : {}), enabled: m.timer.enabled };
}

/** The PSW of `m` as scenario fields. */
function pswOf(p: Profile, m: MachineSnapshot) {
  const st = m.psw.status;
  const switches = Object.fromEntries(SWITCH_NAMES.flatMap((k) => ((st & STATUS_SWITCHES[k]) !== 0 ? [[k, true]] : [])));
  return { pc: hex(m.psw.pc), mode: p.modes[st & ST_MODE_MASK], base: hex(m.psw.base), limit: hex(m.psw.limit), ptbr: hex(m.psw.ptbr), ...switches, flags: (st & ST_FLAGS_MASK) >>> ST_FLAGS_SHIFT, profileBits: (st >>> ST_PROFILE_SHIFT) & 0xff, extra: hex(m.psw.extra) };
}

/**
 * One step from state `x`, as the classifier takes it (executeOnce: restored, tracing, one
 * instruction), on an observed bus: the state after it, and the word addresses the step fetched,
 * read or wrote (table walks included), ascending.
 */
function observedStep(p: Profile, x: MachineSnapshot, geometry: Geometry | undefined): { after: MachineSnapshot; touched: number[] } {
  const m = restore(x, machineConfig(p, x.memory.size, geometry));
  const seen = new Set<number>();
  const recorder: BusObserver = {
    cpu: m,
    cycle: CYCLE_DATA,
    access: (a, n) => {
      for (let w = a - (a & 3); w < a + n; w += 4) seen.add(w);
    },
    window: () => false, // every access told
  };
  m.mem.store.observe(recorder);
  m.tracing = true;
  m.step();
  m.mem.store.observe(undefined);
  return { after: checkpoint(m), touched: [...seen].filter((a) => a + 4 <= x.memory.size).sort((a, b) => a - b) };
}

/** Runs of consecutive words as memory blocks. */
function blocks(words: readonly (readonly [number, number])[]): { at: Scalar<number>; words: Scalar<number>[] }[] {
  const out: { at: Scalar<number>; words: Scalar<number>[] }[] = [];
  let last = -8;
  for (const [a, v] of words) {
    if (a !== last + 4) out.push({ at: hex(a), words: [] });
    out[out.length - 1].words.push(hex(v));
    last = a;
  }
  return out;
}

/**
 * Why the scenario `text` does not reproduce its state after one step (undefined when it does):
 * run as `run` runs it, it must meet its own expectations — every register, the whole PSW,
 * every control register and every word the instruction touched, as the classifier's step left them.
 */
function reproduces(text: string, file: string): string | undefined {
  let failures;
  try {
    const s = parseScenario(text, file);
    failures = checkExpectations(s, runUnder(s, ['bare'])[0]);
  } catch (e) {
    return `the scenario would not run: ${(e as Error).message}`;
  }
  if (!failures.length) return undefined;
  const f = failures[0];
  return `run as a scenario it fails ${f.field} (expected ${f.expected}, got ${f.actual}): it depends on state a scenario cannot set`;
}
