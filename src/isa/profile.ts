// A profile is an instruction set as data: its modes, instructions, extra trap causes,
// control registers, banked registers, address-region hook, and V — the part of the state a
// VMM may set differently from what the guest believes (docs/machine.md).
//
// The machine compiles a profile into dispatch tables once (see `compileProfile`): which opcodes
// exist, in which modes each traps as privileged, and which have `exec` semantics.

import { CORE_CAUSES } from './arch.js';
import { PROFILE_OP_BASE, type InstructionDef } from './instructions.js';
import type { ProfileCpu } from './cpu.js';
import type { Access } from '../mmu/fault.js';

export interface CauseDef {
  readonly code: number;
  readonly name: string;
  /** a memory trap (records fault address and error code) */
  readonly memory: boolean;
}

export interface ControlRegisterDef {
  readonly name: string;
  readonly reset: number;
  /**
   * V for this register: the value a VMM installs on the real machine while a guest runs (its
   * own, as a VMM keeps its descriptor tables in x86's GDTR). Absent: the guest's own value,
   * carried to the real machine at every resume and back at every exit.
   */
  readonly real?: number;
  /**
   * Program state, not resource control: a register any mode may load, under the profile's own
   * checks, as x86's segment registers. It is carried like the others, but changing it is not a
   * change of R (a VMM need not trap its writes). Absent: resource control.
   */
  readonly program?: boolean;
  /**
   * Written by the machine's own trap entry (Profile.onTrap: ARM's SPSR of the mode a trap
   * enters). A VMM never takes it back from the real machine, whose trap into the VMM wrote it;
   * a guest running deprivileged cannot (else it would be resource control it changed, an escape).
   */
  readonly trapWritten?: boolean;
}

/**
 * Result of a region hook: a physical address (>= 0) for an unmapped region,
 * REGION_TRANSLATE to go through the machine's translation, or REGION_FAULT after the hook
 * has set the machine's fault (via `m.regionFault(...)`).
 */
export const REGION_TRANSLATE = -1;
export const REGION_FAULT = -2;
export type RegionHook = (m: ProfileCpu, va: number, size: number, access: Access) => number;

export interface Profile {
  readonly name: string;
  readonly summary: string;
  /** Mode names, most privileged first. The last one is "user". At most 16. */
  readonly modes: readonly string[];
  /**
   * The modes page permissions (U/S) and error codes treat as user (absent: the last mode alone;
   * every other mode is a supervisor there, as x86 rings 0-2 are).
   */
  readonly userModes?: readonly string[];
  /** Assembler spellings of this profile for its instructions, e.g. x86's `int` for `svc` (added to the shared ones). */
  readonly aliases?: Readonly<Record<string, { readonly mnemonic: string; readonly operands: readonly string[] }>>;
  readonly instructions: readonly InstructionDef[];
  /** Causes the profile adds to the core ones (codes >= PROFILE_CAUSE_BASE). */
  readonly causes: readonly CauseDef[];
  readonly controlRegisters: readonly ControlRegisterDef[];
  /** Registers banked per mode (a copy per mode, swapped on mode changes), e.g. ARM r13/r14. */
  readonly bankedRegisters: readonly number[];
  /** Called before translation on every access when present (MIPS KSEG, say). */
  readonly region?: RegionHook;
  /**
   * With `region`: the hook answers alike for every address of an aligned block of this many
   * bytes (a power of two, at least 4 KiB) in one mode, and its physical answers are linear
   * within a block — so the CPU may keep its one-page translation windows (they are dropped on
   * every mode change). Absent: the hook is asked on every access.
   */
  readonly regionGrain?: number;
  /**
   * Called at trap entry, after the new PSW is loaded, with the status word the trap left: what
   * else the profile's trap does (ARM saves it in the entered mode's SPSR). Absent: nothing.
   */
  readonly onTrap?: (m: ProfileCpu, oldStatus: number) => void;
  /** V: for each virtual mode, the real mode a VMM runs it in (trap-and-emulate deprivileging). */
  readonly realModeOf: readonly number[];
  /**
   * V for the rest of the status word: the bits a VMM forces on in the real PSW while a guest
   * runs (absent: IE alone — the real timer's interrupts are the VMM's, whatever the guest's
   * interrupt enable; the guest's own is kept in its virtual PSW).
   */
  readonly realStatusOn?: number;
  /** V: the status bits a VMM forces off in the real PSW (absent: none), as x86 VMMs run guests with IOPL 0. */
  readonly realStatusOff?: number;
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
  /** bit m set: mode m is a user mode for page permissions and error codes (Profile.userModes) */
  readonly userMask: number;
}

/** Whether mode `mode` of `cp` is a user mode for page permissions and error codes. */
export function isUserMode(cp: CompiledProfile, mode: number): boolean {
  return ((cp.userMask >>> mode) & 1) !== 0;
}

/** opInfo bit of an opcode the profile does not define (illegal instruction). */
export const OP_UNDEFINED = 1 << 16;

/** Compiled profiles by profile object (profiles are immutable data; a machine is made per run). */
const compiledProfiles = new WeakMap<Profile, CompiledProfile>();

/**
 * The dispatch tables of `p`, built once per profile object; throws on duplicate opcodes or
 * mnemonics (a broken profile). The tables are shared: nobody writes them.
 */
export function compileProfile(p: Profile): CompiledProfile {
  let c = compiledProfiles.get(p);
  if (c === undefined) compiledProfiles.set(p, (c = buildTables(p)));
  return c;
}

function buildTables(p: Profile): CompiledProfile {
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
  const userMask = modeMask(p, p.userModes ?? [p.modes[p.modes.length - 1]]);
  return { profile: p, opInfo, exec, byOp, byMnemonic, causes, causeByName, userMode: p.modes.length - 1, userMask };
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

/** What is wrong with override `index` (its field, and which of its modes), and what would make it valid. */
export interface OverrideProblem {
  readonly index: number;
  readonly field: 'instruction' | 'trapsIn';
  /** for trapsIn: the position of the mode named */
  readonly mode?: number;
  readonly message: string;
}

/**
 * Every problem with `overrides` for profile `p`: an instruction the profile lacks, a mode it
 * lacks, a mode named twice in one override, and an instruction overridden twice — the same way
 * (a duplicate) or not (a contradiction); either way one override per instruction is what is valid.
 */
export function overrideProblems(p: Profile, overrides: readonly InstructionOverride[]): OverrideProblem[] {
  const out: OverrideProblem[] = [];
  const first = new Map<string, number>();
  overrides.forEach((o, index) => {
    if (!p.instructions.some((d) => d.mnemonic === o.mnemonic)) {
      out.push({ index, field: 'instruction', message: `profile ${p.name} has no instruction '${o.mnemonic}' (its instructions: ${p.instructions.map((d) => d.mnemonic).join(', ')})` });
    } else if (first.has(o.mnemonic)) {
      const j = first.get(o.mnemonic)!;
      const same = [...overrides[j].trapsIn].sort().join() === [...o.trapsIn].sort().join();
      out.push({ index, field: 'instruction', message: `'${o.mnemonic}' is overridden again (${same ? 'a duplicate of' : 'contradicting'} override ${j}); give each instruction one override` });
    } else first.set(o.mnemonic, index);
    o.trapsIn.forEach((m, mode) => {
      if (!p.modes.includes(m)) out.push({ index, field: 'trapsIn', mode, message: `profile ${p.name} has no mode '${m}' (its modes: ${p.modes.join(', ')})` });
      else if (o.trapsIn.indexOf(m) !== mode) out.push({ index, field: 'trapsIn', mode, message: `mode '${m}' is named twice; name each mode once` });
    });
  });
  return out;
}

/**
 * `p` with some instructions' privilege behaviour replaced. Throws Error with the first of
 * overrideProblems (callers at the edge report them all, located).
 */
export function withOverrides(p: Profile, overrides: readonly InstructionOverride[]): Profile {
  if (overrides.length === 0) return p;
  const problems = overrideProblems(p, overrides);
  if (problems.length) throw new Error(`override ${problems[0].index}: ${problems[0].message}`);
  const byName = new Map(overrides.map((o) => [o.mnemonic, o]));
  return {
    ...p,
    instructions: p.instructions.map((d) => {
      const o = byName.get(d.mnemonic);
      return o ? { ...d, trapsIn: o.trapsIn } : d;
    }),
  };
}
