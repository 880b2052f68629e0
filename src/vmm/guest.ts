// A guest: the machine it believes it has (configuration with memorySize = vmsize), how to put
// its programs into guest-physical memory, its initial PSW and registers, and its budget of
// guest instructions retired. The same image runs bare, under the VMM, under the hybrid VMM and
// under the VMM-in-assembly, so every run of it starts from the same state.

import { assemble } from '../asm/index.js';
import { ST_MODE_MASK } from '../isa/arch.js';
import { Machine, type MachineConfig, type Psw } from '../isa/machine.js';
import type { Profile } from '../isa/profile.js';
import { Access } from '../mmu/fault.js';
import type { MemoryImage, PhysicalMemory } from '../mmu/memory.js';
import type { BoundsConvention } from '../mmu/segment.js';
import { PagingUnit } from '../mmu/paging-unit.js';
import type { TlbConfig } from '../mmu/tlb.js';
import type { Geometry } from '../paging/index.js';

export interface GuestImage {
  readonly name: string;
  /** the guest's machine: profile, memorySize = vmsize, translation, bounds, and its paging hardware (a pager factory) when it pages */
  readonly config: MachineConfig;
  /** writes the guest's programs and data into guest-physical memory (a window of vmsize bytes) */
  load(mem: PhysicalMemory): void;
  readonly psw: Psw;
  /** r0..r15 at the start (missing ones are 0) */
  readonly regs: readonly number[];
  /** guest instructions retired before the run is stopped ('budget') */
  readonly budget: number;
  /** its paging hardware as data (geometry, TLB), when it pages: what a nested-paging VMM sizes its host by */
  readonly paging?: { readonly geometry: Geometry; readonly tlb: TlbConfig };
}

/**
 * A fresh bare machine in the guest's initial state (memory loaded, registers and PSW set): the
 * reference every VMM run is compared with, for any guest (paging guests included). Throws
 * RangeError for a guest no machine can start (a budget that is not a count, an initial PSW mode
 * the profile does not have).
 */
export function bareMachine(g: GuestImage): Machine {
  const why = startProblem(g);
  if (why) throw new RangeError(`guest '${g.name}': ${why}`);
  const m = new Machine(g.config);
  g.load(m.mem);
  m.regs.set(g.regs.slice(0, 16));
  m.loadPsw(g.psw);
  return m;
}

/**
 * Why this VMM cannot host `g` with its `memory` strategy, or undefined: a translation the
 * strategy does not virtualize (segment: base and bounds; nested: paging), a trap that does not
 * switch address space (segment only: the paging strategies host it), a profile it cannot host
 * (one mode, an address-region hook that would hand a real mode physical addresses, a virtual
 * mode run in real supervisor mode), a budget that is not a count, an initial PSW that a trap
 * could not load.
 */
export function guestProblem(g: GuestImage, memory: 'segment' | 'nested' = 'segment'): string | undefined {
  const c = g.config;
  const p = c.profile;
  const translation = c.translation ?? 'segment';
  if (memory === 'segment' && translation !== 'segment') return `translation '${translation}' (the segment VMM hosts segment guests; a paging guest runs under nested or shadow-eager)`;
  if (memory === 'nested' && (translation !== 'paging' || !g.paging)) return `translation '${translation}' (nested and shadow paging host guests whose translation is paging)`;
  if (memory === 'segment' && c.trapSwitchesAddressSpace === false) return 'trapSwitchesAddressSpace = false: the real machine would keep the guest\'s segment on a trap, so the VMM would have to live inside it (address space compression is built for shadow paging only)';
  if (p.modes.length < 2) return `profile ${p.name} has one mode; a VMM needs a user mode to run the guest deprivileged`;
  const escape = regionEscape(p);
  if (escape) return escape;
  if (p.realModeOf.some((m) => m === 0)) return `profile ${p.name} runs a virtual mode in real supervisor mode (realModeOf ${p.realModeOf.join(', ')}): only the VMM may`;
  return startProblem(g);
}

/**
 * `source`, written for the classic modes (`mode=s`, `mode=u` in its `.psw` lines), for
 * `profile`: its supervisor (first) and user modes (the first of userModes, else the last) stand in, whatever their names.
 */
export function inModesOf(source: string, profile: Profile): string {
  const user = profile.userModes?.[0] ?? profile.modes[profile.modes.length - 1];
  return source.replace(/mode=s\b/g, `mode=${profile.modes[0]}`).replace(/mode=u\b/g, `mode=${user}`);
}

/** The probe machine's memory: enough for a physical answer at the start of any block. */
const PROBE_MEMORY = 4096;

/**
 * Why `p`'s address-region hook could reach past the VMM's confinement, or undefined: asked in
 * every real mode the VMM runs guests in (realModeOf) at every block of its grain, the hook must
 * never answer with a physical address (those bypass base and bounds, and paging); a hook
 * without a grain cannot be asked about every address. The answer comes from running the hook.
 */
export function regionEscape(p: Profile): string | undefined {
  const hook = p.region;
  if (!hook) return undefined;
  const grain = p.regionGrain;
  if (!grain) return `profile ${p.name} has an address-region hook without a grain: it cannot be asked about every address, so base and bounds alone cannot be shown to confine it`;
  const probe = new Machine({ profile: p, memorySize: PROBE_MEMORY });
  for (const real of new Set(p.realModeOf)) {
    probe.loadPsw({ pc: 0, status: real, base: 0, limit: PROBE_MEMORY, ptbr: 0, extra: 0 });
    for (let va = 0; va < 2 ** 32; va += grain) {
      if (hook(probe, va, 4, Access.Read) >= 0) return `profile ${p.name}'s address-region hook gives real mode ${p.modes[real]} physical addresses at 0x${va.toString(16)}: the VMM runs guests in that mode, and base and bounds would not confine them`;
    }
  }
  return undefined;
}

/** Why no machine can start `g`, or undefined: a budget that is not a count, an initial mode the profile lacks. */
function startProblem(g: GuestImage): string | undefined {
  if (!Number.isInteger(g.budget) || g.budget < 0) return `budget ${g.budget} is not a non-negative integer`;
  if ((g.psw.status & ST_MODE_MASK) >= g.config.profile.modes.length) return `initial PSW mode ${g.psw.status & ST_MODE_MASK} is not a mode of ${g.config.profile.name}`;
  return undefined;
}

/** Throws RangeError naming the guest and the reason when this VMM cannot host it. */
export function checkGuest(g: GuestImage): void {
  const why = guestProblem(g);
  if (why) throw new RangeError(`guest '${g.name}': ${why}`);
}

/**
 * Copies `image` into `mem` (the guest's memory, same size): every non-zero byte, at any size up
 * to 4 GiB, in time proportional to the frames the image holds (not to its size).
 */
export function copyImage(image: MemoryImage, mem: PhysicalMemory): void {
  mem.copyFrom(image);
}

/**
 * The guest whose initial state is `m`'s current state (memory, registers, PSW) — e.g. a
 * scenario's machine as `buildMachine` returns it. `m` may go on; the guest keeps an image.
 */
export function guestFromMachine(name: string, m: Machine, budget: number): GuestImage {
  const image = m.mem.image();
  const c = m.config;
  return {
    name,
    config: { profile: m.profile, memorySize: c.memorySize, translation: c.translation, bounds: c.bounds, trapSwitchesAddressSpace: c.trapSwitchesAddressSpace, ...(c.pager ? { pager: c.pager } : {}) },
    load: (mem) => copyImage(image, mem),
    psw: m.psw(),
    regs: Array.from(m.regs),
    budget,
    ...(m.pager instanceof PagingUnit ? { paging: { geometry: m.pager.geometry, tlb: { entries: m.pager.tlb.entries, ways: Math.max(1, m.pager.tlb.ways) } } } : {}),
  };
}

export interface ProgramSource {
  readonly source: string;
  /** guest-physical address of the program's address 0 */
  readonly at: number;
}

export interface GuestSpec {
  readonly name: string;
  readonly profile: Profile;
  readonly vmsize: number;
  readonly bounds?: BoundsConvention;
  readonly programs: readonly ProgramSource[];
  readonly psw: Psw;
  readonly regs?: readonly number[];
  readonly budget: number;
}

/** A guest assembled from sources. Throws AsmError (with line numbers) for bad source. */
export function guestFromSources(spec: GuestSpec): GuestImage {
  const chunks = spec.programs.flatMap((p) => assemble(p.source, { profile: spec.profile, file: `${spec.name}@0x${p.at.toString(16)}` }).chunks.map((c) => ({ at: p.at + c.address, bytes: c.bytes })));
  return {
    name: spec.name,
    config: { profile: spec.profile, memorySize: spec.vmsize, translation: 'segment', bounds: spec.bounds ?? 'size' },
    load: (mem) => chunks.forEach((c) => mem.writeBytes(c.at, c.bytes)),
    psw: spec.psw,
    regs: spec.regs ?? [],
    budget: spec.budget,
  };
}
