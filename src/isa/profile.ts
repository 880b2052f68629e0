// A profile is an instruction set as data: its modes, instructions, extra trap causes,
// control registers, banked registers, address-region hook, and V — the part of the state a
// VMM may set differently from what the guest believes (docs/machine.md).
//
// The machine compiles a profile into dispatch tables once (see `compileProfile`): which opcodes
// exist, in which modes each traps as privileged, and which have `exec` semantics.

import { CORE_CAUSES } from './arch.js';
import { PROFILE_OP_BASE, type InstructionDef } from './instructions.js';
import type { Machine } from './machine.js';

export interface CauseDef {
  readonly code: number;
  readonly name: string;
  /** a memory trap (records fault address and error code) */
  readonly memory: boolean;
}

export interface ControlRegisterDef {
  readonly name: string;
  readonly reset: number;
}

/**
 * Result of a region hook: a physical address (>= 0) for an unmapped region,
 * REGION_TRANSLATE to go through the machine's translation, or REGION_FAULT after the hook
 * has set the machine's fault (via `m.regionFault(...)`).
 */
export const REGION_TRANSLATE = -1;
export const REGION_FAULT = -2;
export type RegionHook = (m: Machine, va: number, size: number, access: number) => number;

export interface Profile {
  readonly name: string;
  readonly summary: string;
  /** Mode names, most privileged first. The last one is "user". At most 16. */
  readonly modes: readonly string[];
  readonly instructions: readonly InstructionDef[];
  /** Causes the profile adds to the core ones (codes >= PROFILE_CAUSE_BASE). */
  readonly causes: readonly CauseDef[];
  readonly controlRegisters: readonly ControlRegisterDef[];
  /** Registers banked per mode (a copy per mode, swapped on mode changes), e.g. ARM r13/r14. */
  readonly bankedRegisters: readonly number[];
  /** Called before translation on every access when present (MIPS KSEG, say). */
  readonly region?: RegionHook;
  /** V: for each virtual mode, the real mode a VMM runs it in (trap-and-emulate deprivileging). */
  readonly realModeOf: readonly number[];
}

/** Per-opcode tables the step loop reads. */
export interface CompiledProfile {
  readonly profile: Profile;
  /** per opcode: bit m (m < 16) set = traps with privileged-instruction in mode m; OP_UNDEFINED */
  readonly opInfo: Int32Array;
  readonly exec: (InstructionDef['exec'] | undefined)[];
  readonly byOp: (InstructionDef | undefined)[];
  readonly byMnemonic: ReadonlyMap<string, InstructionDef>;
  readonly causes: ReadonlyMap<number, CauseDef>;
  readonly causeByName: ReadonlyMap<string, CauseDef>;
  readonly userMode: number;
}

/** opInfo bit of an opcode the profile does not define (illegal instruction). */
export const OP_UNDEFINED = 1 << 16;

/** Builds the dispatch tables of `p`; throws on duplicate opcodes or mnemonics (a broken profile). */
export function compileProfile(p: Profile): CompiledProfile {
  if (p.modes.length < 1 || p.modes.length > 16) throw new Error(`compileProfile: ${p.name} has ${p.modes.length} modes`);
  const opInfo = new Int32Array(256).fill(OP_UNDEFINED);
  const exec: (InstructionDef['exec'] | undefined)[] = new Array(256).fill(undefined);
  const byOp: (InstructionDef | undefined)[] = new Array(256).fill(undefined);
  const byMnemonic = new Map<string, InstructionDef>();
  const allButSupervisor = ((1 << p.modes.length) - 1) & ~1;
  for (const d of p.instructions) {
    if (byOp[d.op]) throw new Error(`compileProfile: ${p.name} defines opcode ${d.op} twice`);
    if (byMnemonic.has(d.mnemonic)) throw new Error(`compileProfile: ${p.name} defines ${d.mnemonic} twice`);
    if ((d.op >= PROFILE_OP_BASE) !== (d.exec !== undefined)) {
      throw new Error(`compileProfile: ${p.name}'s ${d.mnemonic} (opcode ${d.op}): opcodes below ${PROFILE_OP_BASE} run in the step loop, opcodes from ${PROFILE_OP_BASE} up need exec semantics`);
    }
    byOp[d.op] = d;
    byMnemonic.set(d.mnemonic, d);
    opInfo[d.op] = d.trapsIn ? modeMask(p, d.trapsIn) : d.supervisorOnly ? allButSupervisor : 0;
    exec[d.op] = d.exec;
  }
  const causes = new Map<number, CauseDef>();
  for (const c of [...CORE_CAUSES, ...p.causes]) causes.set(c.code, c);
  const causeByName = new Map([...causes.values()].map((c) => [c.name, c]));
  return { profile: p, opInfo, exec, byOp, byMnemonic, causes, causeByName, userMode: p.modes.length - 1 };
}

function modeMask(p: Profile, names: readonly string[]): number {
  let mask = 0;
  for (const n of names) {
    const i = p.modes.indexOf(n);
    if (i < 0) throw new Error(`compileProfile: ${p.name} has no mode ${n}`);
    mask |= 1 << i;
  }
  return mask;
}

/** An override of one instruction's behaviour, as a scenario states it. */
export interface InstructionOverride {
  readonly mnemonic: string;
  /** modes in which the instruction traps with privileged-instruction (replaces the profile's) */
  readonly trapsIn: readonly string[];
}

/**
 * `p` with some instructions' privilege behaviour replaced. Throws Error naming the first
 * unknown mnemonic or mode (callers at the edge turn that into a located message).
 */
export function withOverrides(p: Profile, overrides: readonly InstructionOverride[]): Profile {
  if (overrides.length === 0) return p;
  const byName = new Map(overrides.map((o) => [o.mnemonic, o]));
  for (const o of overrides) {
    if (!p.instructions.some((d) => d.mnemonic === o.mnemonic)) throw new Error(`profile ${p.name} has no instruction '${o.mnemonic}'`);
    for (const m of o.trapsIn) if (!p.modes.includes(m)) throw new Error(`profile ${p.name} has no mode '${m}' (modes: ${p.modes.join(', ')})`);
  }
  return {
    ...p,
    instructions: p.instructions.map((d) => {
      const o = byName.get(d.mnemonic);
      return o ? { ...d, trapsIn: o.trapsIn } : d;
    }),
  };
}
