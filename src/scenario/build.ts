// Building the machine a scenario describes: memory contents, programs, PSW and registers.

import { STATUS_SWITCHES, ST_FLAGS_SHIFT, ST_PROFILE_SHIFT, SWITCH_NAMES, type SwitchName } from '../isa/arch.js';
import { Machine, type MachineConfig, type Psw } from '../isa/machine.js';
import { tlbSets } from '../mmu/tlb.js';
import type { PswFields } from './schema.js';
import { blockAddress, resolveValue, type Scenario } from './model.js';
import { DEFAULT_PC, defaultLimit } from './placement.js';
import { buildTables, pagerFactory } from './paging.js';
import { InputError } from './errors.js';

/** The machine configuration of a scenario (without building anything). */
export function machineConfig(s: Scenario): MachineConfig {
  const m = s.spec.machine;
  return {
    profile: s.profile,
    memorySize: m.memory,
    translation: m.translation,
    bounds: m.bounds,
    trapSwitchesAddressSpace: m.trapSwitchesAddressSpace,
    pager: s.paging && pagerFactory(s.paging),
  };
}

/**
 * A fresh machine loaded with the scenario's programs, memory blocks, page tables, PSW and
 * registers. Throws InputError (located) when a declared mapping cannot be built.
 */
export function buildMachine(s: Scenario): Machine {
  const m = new Machine(machineConfig(s));
  for (const p of s.programs) {
    for (const c of p.asm.chunks) m.mem.writeBytes(p.at + c.address - p.org, c.bytes);
  }
  for (const b of s.spec.memory) {
    const at = blockAddress(b, s.paging);
    if (b.words) b.words.forEach((w, i) => m.mem.write32(at + 4 * i, resolveValue(w, s.symbols)));
    else m.mem.writeBytes(at, hexBytes(b.bytes!));
  }
  if (s.paging) {
    const problems = buildTables(s.spec, s.paging, m.mem);
    if (problems.length) throw new InputError(problems.map((p) => s.locate(p.path, p.message)));
  }
  m.loadPsw(initialPsw(s));
  // the registers are the initial mode's (loading the PSW first swaps in that mode's banked copies)
  for (const [name, v] of Object.entries(s.spec.registers)) m.regs[registerIndex(name)] = resolveValue(v, s.symbols);
  for (const [name, v] of Object.entries(s.spec.banks)) m.banks[bankIndex(s, name)] = resolveValue(v, s.symbols);
  for (const [name, v] of Object.entries(s.spec.control)) m.control[controlIndex(s, name)] = resolveValue(v, s.symbols);
  const tlb = s.spec.tlb;
  if (tlb && m.pager) m.pager.restoreTlb({ entries: tlb.entries, victims: tlb.victims ?? new Array<number>(tlbSets(s.paging!.tlb)).fill(0) });
  const t = s.spec.timer;
  if (t) {
    m.timerReload = t.reload ?? 0;
    m.timerEnabled = t.enabled ?? false;
    m.timerCount = t.count ?? m.timerReload;
  }
  return m;
}

/** The scenario's initial PSW, with defaults pc 0x80, mode 0, base 0, limit = the memory from the base on. */
export function initialPsw(s: Scenario): Psw {
  const p = s.spec.psw;
  return {
    pc: resolveValue(p.pc ?? DEFAULT_PC, s.symbols) >>> 0,
    status: statusOf(p, s.profile.modes),
    base: p.base ?? 0,
    limit: p.limit ?? defaultLimit(s.spec),
    ptbr: p.ptbr === undefined ? 0 : resolveValue(p.ptbr, s.symbols) >>> 0,
    extra: p.extra === undefined ? 0 : resolveValue(p.extra, s.symbols),
  };
}

/** The status word for PSW fields (mode by name, switches as booleans, the flags and the profile byte as numbers). */
export function statusOf(p: Pick<PswFields, 'mode' | SwitchName | 'flags' | 'profileBits'>, modes: readonly string[]): number {
  const fields = Math.max(0, modes.indexOf(p.mode ?? modes[0])) | ((p.flags ?? 0) << ST_FLAGS_SHIFT) | ((p.profileBits ?? 0) << ST_PROFILE_SHIFT);
  return SWITCH_NAMES.reduce((status, k) => (p[k] ? status | STATUS_SWITCHES[k] : status), fields);
}

/** The index in Machine.banks (and a snapshot's banks) of banked copy 'mode.rN' (checked when the scenario loaded). */
export function bankIndex(s: Scenario, name: string): number {
  const [mode, reg] = name.split('.');
  const p = s.profile;
  return p.modes.indexOf(mode) * p.bankedRegisters.length + p.bankedRegisters.indexOf(Number(reg.slice(1)));
}

/** The index of control register `name` of the scenario's profile (checked when the scenario loaded). */
export function controlIndex(s: Scenario, name: string): number {
  return s.profile.controlRegisters.findIndex((r) => r.name === name);
}

/** r0..r15, sp (r15), lr (r14), in either case → index. Caller has validated the name. */
export function registerIndex(name: string): number {
  const n = name.toLowerCase();
  if (n === 'sp') return 15;
  if (n === 'lr') return 14;
  return Number(n.slice(1));
}

function hexBytes(text: string): number[] {
  const digits = text.replace(/\s+/g, '');
  const out: number[] = [];
  for (let i = 0; i + 1 < digits.length; i += 2) out.push(parseInt(digits.slice(i, i + 2), 16));
  return out;
}
