// The real machine a VMM runs on, and whether it can confine its guests (Theorem 1's
// precondition, checked by experiment).
//
// One real machine hosts every VM, so its instruction set is one profile: the VMs' profiles
// must be the same instruction set, and where they disagree about where an instruction traps
// (scenario overrides), the real machine traps it wherever any of them does. A VM whose own
// machine does not trap an instruction the real machine traps gets it emulated (monitor.ts), so
// no VM's weakened profile weakens the real machine unless every VM weakens it the same way.
//
// Whether the real machine can confine a guest is decided by running instructions, not by
// reading labels: every opcode that does not trap in a real mode the VMM runs guests in is
// executed on a few generated machine states in that mode, and any change to the
// resource-control state R (mode, base, limit, PTBR, paging switches, the timer's reload and
// enable, IE, profile status bits and PSW word, control registers but program ones) is an escape
// — except a move to a less privileged real mode the VMM itself runs guests in, which gives the
// guest nothing (the equivalence checker sees whether the VMM follows it).

import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { PSW_BYTES, ST_IE, ST_MODE_MASK, ST_NXE, ST_PG, ST_PROFILE_MASK, ST_SUM, ST_WP, encodeHeader } from '../isa/arch.js';
import { Machine, type Psw } from '../isa/machine.js';
import { compileProfile, type Profile } from '../isa/profile.js';
import type { BoundsConvention } from '../mmu/segment.js';
import { guestRealModes, isDemotion } from './construction.js';

/** An instruction that changed R in a real guest mode without trapping, with the state that showed it. */
export interface Escape {
  readonly mnemonic: string;
  readonly op: number;
  /** the real mode it ran in */
  readonly realMode: number;
  /** the first part of R it changed, e.g. 'mode', 'base', 'timer.reload' */
  readonly field: string;
  readonly before: number | boolean;
  readonly after: number | boolean;
  /** the instruction and the machine state it ran on */
  readonly witness: { readonly header: number; readonly imm: number; readonly psw: Psw; readonly regs: readonly number[] };
}

/** Generated machine states per opcode and mode (each with different registers, operands and images). */
const TRIALS = 12;
const SEED = 0x5afe;
/** The experiment's machine: 64 KiB, the instruction at virtual PC_AT, PSW images at IMAGES. */
const MEMORY = 0x10000;
const PC_AT = 0x100;
const IMAGES = 0x1000;

/** Per opcode, the modes in which `p` traps it (bit m = mode m), as the machine compiles it. */
function trapMasks(p: Profile): Int32Array {
  const all = (1 << p.modes.length) - 1;
  return compileProfile(p).opInfo.map((info) => info & all);
}

/**
 * Why `profiles` cannot share one real machine, or undefined: they must be the same instruction
 * set (name, modes, causes, registers, region hook, V, and every instruction's opcode, operands
 * and semantics), differing at most in where instructions trap.
 */
export function hardwareProblem(profiles: readonly Profile[]): string | undefined {
  const [p, ...rest] = profiles;
  for (const q of rest) {
    if (q === p) continue;
    const same =
      q.name === p.name &&
      q.modes.join() === p.modes.join() &&
      q.realModeOf.join() === p.realModeOf.join() &&
      q.bankedRegisters.join() === p.bankedRegisters.join() &&
      JSON.stringify(q.causes) === JSON.stringify(p.causes) &&
      JSON.stringify(q.controlRegisters) === JSON.stringify(p.controlRegisters) &&
      q.region === p.region &&
      q.instructions.length === p.instructions.length;
    if (!same) return `profiles ${p.name} and ${q.name} are different machines; the VMs share one real machine`;
    const other = q.instructions.find((d, i) => {
      const e = p.instructions[i];
      return d.mnemonic !== e.mnemonic || d.op !== e.op || d.exec !== e.exec || d.operands.join() !== e.operands.join();
    });
    if (other) return `profile ${q.name}'s '${other.mnemonic}' is not the same instruction in every VM; the VMs share one real machine`;
  }
  return undefined;
}

/**
 * The real machine's profile for VMs of `profiles` (hardwareProblem must hold none): the first
 * profile itself when they trap alike, else with each instruction trapping in every mode in
 * which any of them traps it.
 */
export function realProfile(profiles: readonly Profile[]): Profile {
  const p = profiles[0];
  const known = realProfiles.get(p)?.find((e) => e.of.length === profiles.length && e.of.every((q, i) => q === profiles[i]));
  if (known) return known.real;
  const real = unionProfile(profiles);
  realProfiles.set(p, [...(realProfiles.get(p) ?? []), { of: [...profiles], real }]);
  return real;
}

/** Real profiles already built, by their first VM's profile (so that their escapes are found once). */
const realProfiles = new WeakMap<Profile, { of: readonly Profile[]; real: Profile }[]>();

/** realProfile's construction: `profiles[0]` when they trap alike, else the union of their trap modes. */
function unionProfile(profiles: readonly Profile[]): Profile {
  const p = profiles[0];
  const masks = profiles.map(trapMasks);
  const union = masks.reduce((u, m) => u.map((bits, op) => bits | m[op]));
  if (union.every((bits, op) => bits === masks[0][op])) return p;
  return {
    ...p,
    instructions: p.instructions.map((d) => ({ ...d, trapsIn: p.modes.filter((_, i) => (union[d.op] & (1 << i)) !== 0) })),
  };
}

const escapesByProfile = new WeakMap<Profile, Map<BoundsConvention, readonly Escape[]>>();

/**
 * The instructions of `p` that change R in a real mode the VMM runs guests in (p.realModeOf)
 * without trapping, each with one witness; empty when Theorem 1's precondition holds. Decided
 * by executing every such opcode on TRIALS seeded machine states (memoized per profile).
 */
export function realModeEscapes(p: Profile, bounds: BoundsConvention = 'size'): readonly Escape[] {
  const known = escapesByProfile.get(p)?.get(bounds);
  if (known) return known;
  const cp = compileProfile(p);
  const out: Escape[] = [];
  for (const realMode of new Set(p.realModeOf)) {
    for (const d of p.instructions) {
      if ((cp.opInfo[d.op] & (1 << realMode)) !== 0) continue;
      const e = escapeOf(p, bounds, d.op, realMode);
      if (e) out.push({ ...e, mnemonic: d.mnemonic });
    }
  }
  const byBounds = escapesByProfile.get(p) ?? new Map<BoundsConvention, readonly Escape[]>();
  byBounds.set(bounds, out);
  escapesByProfile.set(p, byBounds);
  return out;
}

/**
 * Runs opcode `op` on TRIALS generated states in `realMode`; the change to R it makes, if any —
 * of all trials, the one to the earliest part of R in resourceControl's order (mode first).
 */
function escapeOf(p: Profile, bounds: BoundsConvention, op: number, realMode: number): Omit<Escape, 'mnemonic'> | undefined {
  const rng = xoroshiro128plus(SEED ^ (op << 8) ^ realMode);
  let best: { rank: number; escape: Omit<Escape, 'mnemonic'> } | undefined;
  for (let t = 0; t < TRIALS; t++) {
    const m = trialMachine(p, bounds, realMode, op, t, (lo, hi) => uniformInt(rng, lo, hi));
    const before = resourceControl(m);
    const witness = { header: m.load32(m.base + PC_AT), imm: m.load32(m.base + PC_AT + 4), psw: m.psw(), regs: Array.from(m.regs) };
    m.run(1, true);
    const trapped = m.trapCounts.some((n) => n !== 0) || m.machineStatus === 'double-fault';
    if (trapped || m.retired !== 1) continue;
    const after = resourceControl(m);
    const fields = Object.keys(before);
    const rank = fields.findIndex((k) => before[k] !== after[k] && !(k === 'mode' && isDemotion(guestRealModes(p), before[k] as number, after[k] as number)));
    if (rank < 0 || (best && best.rank <= rank)) continue;
    const field = fields[rank];
    best = { rank, escape: { op, realMode, field, before: before[field], after: after[field], witness } };
  }
  return best?.escape;
}

/**
 * A machine of `p` in `mode` about to execute opcode `op` at virtual PC_AT, trial `t`: random
 * operand fields, registers that point at (or near) PSW images which differ from the current
 * PSW in every part of R, a running timer, random control registers.
 */
function trialMachine(p: Profile, bounds: BoundsConvention, mode: number, op: number, t: number, int: (lo: number, hi: number) => number): Machine {
  const m = new Machine({ profile: p, memorySize: MEMORY, translation: 'segment', bounds });
  const base = int(0, 3) * 0x1000;
  const size = 0x8000;
  const images = Array.from({ length: 16 }, (_, i) => IMAGES + i * PSW_BYTES);
  images.forEach((va) => m.writePswImage(base + va, randomPsw(p, int)));
  const pointerish = (i: number) => [images[i], 0, -1, int(0, 0xffff) * 4, int(1, 64)][t % 5 === 4 ? int(0, 4) : 0];
  for (let r = 0; r < 16; r++) m.regs[r] = pointerish(r);
  const abs = t % 2 === 1;
  const imm = abs ? images[int(0, 15)] : [0, int(1, 0xffff), images[0]][t % 3];
  m.store32(base + PC_AT, encodeHeader(op, int(0, 15), int(0, 15), int(0, 15), abs));
  m.store32(base + PC_AT + 4, imm);
  m.control.forEach((_, i) => (m.control[i] = int(0, 0x7fffffff)));
  m.loadPsw({ pc: PC_AT, status: mode | (int(0, 1) ? ST_IE : 0), base, limit: bounds === 'size' ? size : base + size, ptbr: int(1, 0xffff) * 4, extra: 0 });
  m.timerReload = int(100, 1000);
  m.timerCount = 500;
  m.timerEnabled = true;
  return m;
}

/** A valid PSW unlike the trial's current one: any mode, switches flipped, other base, limit, PTBR and word. */
function randomPsw(p: Profile, int: (lo: number, hi: number) => number): Psw {
  const switches = [ST_IE, ST_PG, ST_WP, ST_NXE, ST_SUM].reduce((s, bit) => s | (int(0, 1) ? bit : 0), 0);
  return { pc: PC_AT + 8, status: int(0, p.modes.length - 1) | switches | (int(0, 255) << 16), base: int(0, 0xffff) * 16 + 0x10000, limit: int(1, 0xffff) * 16, ptbr: int(0x10000, 0xfffff) * 4, extra: int(1, 0x7fffffff) };
}

/**
 * R as a flat record, most telling part first: what a guest running directly must never change
 * (program registers, such as x86's segment registers, are the guest's own state).
 */
function resourceControl(m: Machine): Record<string, number | boolean> {
  const st = m.status;
  const r: Record<string, number | boolean> = {
    mode: st & ST_MODE_MASK,
    base: m.base,
    limit: m.limit,
    ptbr: m.ptbr,
    ie: (st & ST_IE) !== 0,
    pg: (st & ST_PG) !== 0,
    wp: (st & ST_WP) !== 0,
    nxe: (st & ST_NXE) !== 0,
    sum: (st & ST_SUM) !== 0,
    'status.profile': (st & ST_PROFILE_MASK) >>> 16,
    extra: m.pswExtra,
    'timer.reload': m.timerReload,
    'timer.enabled': m.timerEnabled,
    'timer.pending': m.timerPending,
  };
  m.profile.controlRegisters.forEach((c, i) => {
    if (!c.program) r[`control.${c.name}`] = m.control[i];
  });
  return r;
}

/** One line naming an escape and what it changed (modes by the profile's names `modes`), for refusals and reports. */
export function describeEscape(e: Escape, modes: readonly string[]): string {
  const show = (v: number | boolean) => (typeof v === 'boolean' ? String(v) : e.field === 'mode' ? (modes[v] ?? String(v)) : `0x${(v >>> 0).toString(16)}`);
  return `'${e.mnemonic}' changes ${e.field} (${show(e.before)} -> ${show(e.after)}) in mode ${modes[e.realMode] ?? e.realMode} without trapping`;
}
