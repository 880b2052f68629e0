// vmm2 — Theorem 2 by running it: the VMM written in the lab's assembly (scenarios/vmm/vmm.s)
// runs as a guest of the TypeScript VMM and itself runs the guest. Nothing at the inner level
// calls back into TypeScript: this harness only builds the level-1 guest image (the assembly
// VMM, its configuration symbols, the innermost guest's initial state in its table, the
// innermost guest's memory at ADDR0) and, after the run, reads that table and the trap log
// back out of level-1 memory to compare with the innermost guest's bare run.
//
//   real machine ── TypeScript VMM (monitor.ts)
//                     └─ VM1: vmm.s, in virtual supervisor mode, memory [0, ADDR0 + vmsize)
//                          └─ VM2: the guest, memory [ADDR0, ADDR0 + vmsize) of VM1
//
// Points compared (equivalence):
//   1. every trap delivered to the innermost guest (and a double fault), in order: instructions
//      retired, cause, fault address, error code, detail, double-fault flag, the vPSW after it,
//      the virtual timer (reload, count, enabled, pending) and the 16 registers — from the
//      assembly VMM's trap log vs the bare run's trap events, the bare machine advanced to each
//      in turn (no snapshots kept);
//   2. at the end, the whole virtual view (compareViews): registers, vPSW, timer, status,
//      console (VM1's console: the assembly VMM prints only what the guest's `out`s print),
//      traps delivered and the last one's record, and all guest-physical memory;
//   3. how the run ended and the instructions retired.
// Plus: level 1 (vmm.s running the guest) under the TypeScript VMM vs the same on bare
// hardware, event by event (the monitor's lockstep checker); safety of VM1 on the real machine; and at every
// resume of VM1 in virtual user mode, its composed segment confined to [ADDR0, ADDR0 + vmsize).

import { readFileSync } from 'node:fs';
import { assemble, type AsmResult } from '../asm/index.js';
import {
  Cause,
  HDR_ABS,
  HDR_RESERVED,
  SLOT_OLD_PSW,
  ST_DEFINED,
  ST_IE,
  ST_MODE_MASK,
  TRAP_CAUSE,
  TRAP_DETAIL,
  TRAP_ERROR,
  TRAP_VADDR,
} from '../isa/arch.js';
import { writePsw } from '../isa/machine.js';
import { compileProfile, type CompiledProfile, type Profile } from '../isa/profile.js';
import { trapsByName } from '../isa/run.js';
import { ERR_USER, ERR_WRITE } from '../mmu/fault.js';
import { FRAME_SIZE, type PhysicalMemory } from '../mmu/memory.js';
import { efficiencyVerdict, safetyVerdict, summarizeEquivalence, type GuestChecks } from './checks.js';
import { checkGuest, type GuestImage } from './guest.js';
import { reserveIntact } from './host.js';
import { Monitor, vmFigures, type Vm } from './monitor.js';
import { InnerConfinement, innerEquivalence, innerFigures } from './vmm2-check.js';
import { innerSnapshot, LOG_RECORD, readTable, VMM2_LOG, type Vmm2Details, type Vmm2Table } from './vmm2-table.js';
import type { GuestRun, RunOptions } from './results.js';

export { VMM2_LOG, type Vmm2Details, type TrapRecord } from './vmm2-table.js';

export interface Vmm2Options {
  /** trap-log records kept (default 1024) */
  readonly logCapacity?: number;
  /** the assembly VMM's source (default scenarios/vmm/vmm.s) */
  readonly source?: string;
  /** level-1 instruction budget (default: vmm2Allowance, enough for any guest of the budget) */
  readonly outerBudget?: number;
}

/**
 * A bound on the level-1 instructions vmm.s executes per exit of its guest, from the trap to the
 * `lpsw` that resumes the guest. Its longest path — an emulated `lpsw` whose image fails
 * translation at its last word (entry, decode, eight translated words, the fault reflected and
 * logged), then a pending virtual timer reflected and logged at `resume`, then the composition,
 * timer programming and register reload — is about 650 instructions (vmm.s has no loop but the
 * eight-word translation); 1000 leaves room for small edits. test/vmm/vmm2.test.ts measures
 * the most any exit of its guests takes against it.
 */
export const VMM2_EXIT_COST = 1000;

/**
 * The level-1 budget that lets vmm.s run a guest to its own budget of `budget` instructions:
 * the guest's instructions themselves (they retire at level 1 too), plus VMM2_EXIT_COST for
 * boot and per exit. Exits: every exit of the guest into vmm.s retires one of its instructions
 * (an emulation), delivers a trap to it (a reflection, a faulting emulation, its virtual timer)
 * or ends it; between two retired instructions at most two traps are delivered (a fault or an
 * svc, then a timer tick: a second fault before anything retires is a double fault, which ends
 * the run, and a tick needs an instruction retired), so a run of `budget` instructions has at
 * most 3·budget + 4 exits (the end, and a run timer capped at 2^30 instructions, included).
 */
export function vmm2Allowance(budget: number): number {
  return budget + (3 * budget + 5) * VMM2_EXIT_COST;
}

/** Trap-log records Vmm2Details shows (the comparison reads them all). */
const TRAP_LOG_SHOWN = 8;


const DEFAULT_SOURCE = new URL('../../scenarios/vmm/vmm.s', import.meta.url);

/** The symbols the assembly VMM expects (its header lists them), from the architecture and the profile. */
export function vmm2Symbols(cp: CompiledProfile, inner: { addr0: number; vmsize: number; budget: number; logCapacity: number }): Record<string, number> {
  const op = (m: string) => {
    const d = cp.byMnemonic.get(m);
    if (!d) throw new RangeError(`vmm2: profile ${cp.profile.name} has no '${m}'`);
    return d.op;
  };
  const p = cp.profile;
  return {
    ADDR0: inner.addr0,
    VMSIZE: inner.vmsize,
    BUDGET: inner.budget,
    LOG: VMM2_LOG,
    LOGCAP: inner.logCapacity,
    REAL_MODE_S: p.realModeOf[0],
    REAL_MODE_U: p.realModeOf[p.modes.length - 1],
    NMODES: p.modes.length,
    C_PRIV: Cause.Privileged,
    C_ILLEGAL: Cause.Illegal,
    C_BOUNDS: Cause.Bounds,
    C_PAGE: Cause.PageFault,
    C_SVC: Cause.Svc,
    C_TIMER: Cause.Timer,
    C_ALIGN: Cause.Alignment,
    ST_IE,
    ST_MODE: ST_MODE_MASK,
    ST_UNDEF: ~ST_DEFINED >>> 0,
    T_CAUSE: TRAP_CAUSE,
    T_VADDR: TRAP_VADDR,
    T_ERROR: TRAP_ERROR,
    T_DETAIL: TRAP_DETAIL,
    MEM1: SLOT_OLD_PSW,
    OP_LPSW: op('lpsw'),
    OP_SPSW: op('spsw'),
    OP_HALT: op('halt'),
    OP_SETTIMER: op('settimer'),
    OP_GETTIMER: op('gettimer'),
    OP_OUT: op('out'),
    OP_SETPTBR: op('setptbr'),
    OP_GETPTBR: op('getptbr'),
    OP_INVLPG: op('invlpg'),
    OP_TLBFLUSH: op('tlbflush'),
    HDR_ABS,
    HDR_RESERVED: HDR_RESERVED >>> 0,
    ERR_USER,
    ERR_WRITE,
  };
}

/** The level-1 guest: vmm.s assembled for `inner`, with `inner` loaded at ADDR0 and in its table. */
export interface Vmm2Image {
  readonly guest: GuestImage;
  readonly asm: AsmResult;
  readonly addr0: number;
  readonly logCapacity: number;
}

/** The instructions vmm.s emulates for its guest's supervisor mode (its `emulate` dispatch). */
export const VMM2_EMULATES: readonly string[] = ['lpsw', 'spsw', 'halt', 'settimer', 'gettimer', 'out', 'setptbr', 'getptbr', 'invlpg', 'tlbflush'];

/**
 * Why the assembly VMM cannot run `inner` (beyond guestProblem), or undefined. vmm.s composes the
 * size convention for a two-mode profile of core causes; it emulates every privileged trap its
 * guest takes in supervisor mode, knowing VMM2_EMULATES only, and reflects everything else —
 * so an instruction that traps in supervisor mode, or traps in user mode without being one it
 * emulates, would be run wrongly; and a `halt` that does not trap in user mode would stop the
 * real machine behind its back.
 */
export function vmm2Problem(inner: GuestImage): string | undefined {
  const c = inner.config;
  const p = c.profile;
  if ((c.bounds ?? 'size') !== 'size') return 'it uses the end convention; vmm.s composes the size convention';
  if (p.modes.length !== 2) return `it has ${p.modes.length} modes; vmm.s handles two`;
  if (p.bankedRegisters.length > 0) return `profile ${p.name} banks registers; vmm.s saves and restores the 16 visible ones only`;
  if (p.region) return `profile ${p.name} has an address-region hook; vmm.s composes base and bounds only`;
  if (p.causes.length > 0) return `profile ${p.name} adds trap causes; vmm.s gives guest-terms error codes for the core memory causes only`;
  const cp = compileProfile(p);
  for (const d of p.instructions) {
    const traps = cp.opInfo[d.op];
    if ((traps & 1) !== 0) return `'${d.mnemonic}' traps in supervisor mode: vmm.s emulates every privileged trap of its guest's kernel, so it would run '${d.mnemonic}' instead of reflecting the trap`;
    if ((traps & 2) !== 0 && !VMM2_EMULATES.includes(d.mnemonic)) return `'${d.mnemonic}' traps in user mode, and vmm.s cannot emulate it when the guest's kernel runs it (it emulates ${VMM2_EMULATES.join(', ')})`;
  }
  const missing = VMM2_EMULATES.find((m) => !cp.byMnemonic.has(m));
  if (missing) return `profile ${p.name} has no '${missing}', which vmm.s uses`;
  const halt = cp.byMnemonic.get('halt')!;
  if ((cp.opInfo[halt.op] & 2) === 0) return `'halt' does not trap in user mode: the guest's halt would stop the real machine, and vmm.s would never see it`;
  return undefined;
}

/** vmm.s as shipped, read once. */
let shippedSource: string | undefined;
function defaultSource(): string {
  shippedSource ??= readFileSync(DEFAULT_SOURCE, 'utf8');
  return shippedSource;
}

/** Assembled VMMs by profile, then by source and symbols (at most ASSEMBLED_KEPT per profile, oldest dropped). */
const assembled = new WeakMap<Profile, Map<string, AsmResult>>();
const ASSEMBLED_KEPT = 32;

/**
 * `source` assembled for `profile` with the harness's symbols for `layout` — the same source,
 * profile and symbols give the same image, so it is assembled once (a campaign builds one per
 * guest, twice: to ask whether it can run and to run it). The result is only read.
 */
function assembledVmm(profile: Profile, source: string, layout: { addr0: number; vmsize: number; budget: number; logCapacity: number }): AsmResult {
  const key = `${layout.addr0}:${layout.vmsize}:${layout.budget}:${layout.logCapacity}:${source}`;
  let byKey = assembled.get(profile);
  if (!byKey) assembled.set(profile, (byKey = new Map()));
  let asm = byKey.get(key);
  if (!asm) {
    asm = assemble(source, { profile, file: 'vmm.s', symbols: vmm2Symbols(compileProfile(profile), layout) });
    if (byKey.size >= ASSEMBLED_KEPT) byKey.delete(byKey.keys().next().value!);
    byKey.set(key, asm);
  }
  return asm;
}

/**
 * Builds the level-1 guest running `inner` under the assembly VMM. Throws RangeError for an
 * inner guest the assembly VMM does not cover (classic-shaped two-mode profile, size convention)
 * and AsmError for a broken source.
 */
export function vmm2Image(inner: GuestImage, o: Vmm2Options = {}): Vmm2Image {
  checkGuest(inner);
  const why = vmm2Problem(inner);
  if (why) throw new RangeError(`vmm2: guest '${inner.name}': ${why}`);
  const c = inner.config;
  const logCapacity = o.logCapacity ?? 1024;
  const addr0 = Math.ceil((VMM2_LOG + logCapacity * LOG_RECORD) / FRAME_SIZE) * FRAME_SIZE;
  const vmsize = c.memorySize;
  const asm = assembledVmm(c.profile, o.source ?? defaultSource(), { addr0, vmsize, budget: inner.budget, logCapacity });
  const end = asm.symbols.get('vmm_end')!;
  if (end > VMM2_LOG) throw new RangeError(`vmm2: vmm.s ends at 0x${end.toString(16)}, past its trap log at 0x${VMM2_LOG.toString(16)}`);
  const sym = (name: string) => asm.symbols.get(name)!;
  const memorySize = addr0 + vmsize;
  const guest: GuestImage = {
    name: `vmm.s(${inner.name})`,
    config: { profile: c.profile, memorySize, translation: 'segment', bounds: 'size' },
    load: (mem: PhysicalMemory) => {
      for (const ch of asm.chunks) mem.writeBytes(ch.address, ch.bytes);
      const p = inner.psw;
      writePsw(p, (i, w) => {
        if (i < 6) mem.write32(sym('V_PSW') + 4 * i, w); // vmm.s keeps the six used words
      });
      for (let r = 0; r < 16; r++) mem.write32(sym('V_REGS') + 4 * r, inner.regs[r] ?? 0);
      inner.load(mem.window(addr0, vmsize));
    },
    psw: { pc: sym('boot'), status: 0, base: 0, limit: memorySize, ptbr: 0, extra: 0 },
    regs: [],
    budget: o.outerBudget ?? vmm2Allowance(inner.budget),
  };
  return { guest, asm, addr0, logCapacity };
}

/**
 * Runs `inner` under vmm.s under the TypeScript VMM. With `check` (default), compares with the
 * bare run at the points listed in this file's header and checks safety at both levels.
 */
export function runVmm2(inner: GuestImage, options: RunOptions & Vmm2Options = {}): GuestRun {
  const check = options.check !== false;
  const img = vmm2Image(inner, options);
  const vmsize = inner.config.memorySize;
  const confinement = new InnerConfinement(img.addr0, img.addr0 + vmsize);
  const monitor = new Monitor([img.guest], {
    kind: 'vmm',
    events: check,
    safety: options.safety ?? (check ? 'bus' : 'off'),
    allowUnsafe: options.allowUnsafe === true,
    ...(options.quantum === undefined ? {} : { quantum: options.quantum }),
    observer: confinement.observe,
    innerGuests: [{ lo: img.addr0, hi: img.addr0 + vmsize }],
  });
  const t0 = performance.now();
  monitor.run();
  const seconds = (performance.now() - t0) / 1000;
  const vm = monitor.vms[0];
  const table = readTable(vm.vcpu.mem, img.asm.symbols, img.logCapacity);
  const final = innerSnapshot(table, vm.vcpu, vm.vcpu.mem.window(img.addr0, vmsize));
  const efficiency = innerFigures(table, vmFigures(vm), seconds);
  const run: GuestRun = {
    kind: 'vmm2',
    name: inner.name,
    end: table.end === 'running' ? 'budget' : table.end,
    retired: table.retired,
    final,
    events: { trap: table.logged - (table.end === 'double-fault' ? 1 : 0), 'double-fault': table.end === 'double-fault' ? 1 : 0, console: 0, halt: table.end === 'halted' ? 1 : 0, end: 1 },
    instructions: {},
    traps: trapsByName(table.counts, vm.vcpu.compiled),
    console: vm.vcpu.console,
    seconds,
    efficiency,
    vmm2: vmm2Details(img, vm, table, confinement),
  };
  if (!check) return run;
  const checks: GuestChecks = {
    equivalence: innerEquivalence(inner, table, final),
    safety: safetyVerdict(monitor.safety.report(), vm.id, reserveIntact(monitor.host, monitor.layout)),
    efficiency: efficiencyVerdict(efficiency, 'vmm2', options.minDirect),
  };
  return { ...run, checks };
}

/** What the inner level did, as plain bounded data; when checking, level 1's own equivalence with its bare run. */
function vmm2Details(img: Vmm2Image, vm: Vm, t: Vmm2Table, confinement: InnerConfinement): Vmm2Details {
  const exits = t.exits.timer + t.exits.emulate + t.exits.reflect;
  const outer = vm.exits.timer + vm.exits.emulate + vm.exits.reflect;
  const level1 = vm.equivalence();
  return {
    level1: { name: img.guest.name, end: vm.end ?? 'budget', retired: vm.vcpu.retired, memorySize: img.guest.config.memorySize, addr0: img.addr0 },
    ...(level1 ? { level1Equivalence: summarizeEquivalence(level1) } : {}),
    innerExits: exits,
    innerEmulated: t.emulated,
    vmmInstructionsPerExit: exits ? (vm.vcpu.retired - t.retired) / exits : 0,
    outerExits: outer,
    trapLog: { logged: t.logged, kept: t.log.length, truncated: t.logged > t.log.length, first: t.log.slice(0, TRAP_LOG_SHOWN) },
    innerResumes: confinement.resumes,
    innerViolations: confinement.violations,
    allowance: { outerBudget: img.guest.budget, exitCost: VMM2_EXIT_COST },
  };
}

