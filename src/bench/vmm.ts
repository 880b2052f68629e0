// Figures for `npm run bench`: the VMM's speed on a user-mode-dominated guest (the bench loop
// dropped into by a kernel) against bare, and its per-exit cost on a syscall-heavy guest.
// The guests' sources are scenarios/vmm/bench/*.s (also runnable as scenarios/vmm/bench-*.yaml).

import { readFileSync } from 'node:fs';
import type { Profile } from '../isa/profile.js';
import { classic } from '../isa/profiles/classic.js';
import { guestFromSources, inModesOf, type GuestImage } from '../vmm/guest.js';
import { runGuest, type GuestRun } from '../vmm/run.js';
import { median } from './median.js';

const BENCH_DIR = new URL('../../scenarios/vmm/bench/', import.meta.url);

/** The text of one of the bench guests' sources (scenarios/vmm/bench/`file`). */
export function benchSource(file: string): string {
  return readFileSync(new URL(file, BENCH_DIR), 'utf8');
}

/**
 * A bench guest: `kernel` at 0 (it drops into user mode at 0x8000), `user` at 0x8000 running r5
 * = `iterations` times, budget `perIteration` instructions each plus a margin.
 */
function benchGuest(name: string, kernel: string, user: string, iterations: number, perIteration: number, profile: Profile): GuestImage {
  return guestFromSources({
    name,
    profile,
    vmsize: 0x10000,
    programs: [
      { source: inModesOf(benchSource(kernel), profile), at: 0 },
      { source: benchSource(user), at: 0x8000 },
    ],
    psw: { pc: 0x80, status: 0, base: 0, limit: 0x10000, ptbr: 0, extra: 0 },
    regs: [0, 0, 0, 0, 0, iterations],
    budget: perIteration * iterations + 100,
  });
}

/** The bench loop (6 instructions per iteration) in user mode under a kernel that halts at its svc. */
export function benchLoopGuest(iterations: number, profile: Profile = classic): GuestImage {
  return benchGuest('bench-loop', 'loop-kernel.s', 'loop.s', iterations, 6, profile);
}

/** A process making a system call every 4 instructions, under a kernel that returns at once. */
export function syscallGuest(iterations: number, profile: Profile = classic): GuestImage {
  return benchGuest('bench-syscall', 'syscall-kernel.s', 'syscall.s', iterations, 8, profile);
}

/** Guest instructions per second of a run. */
export const ips = (r: GuestRun): number => r.retired / r.seconds;

/** Runs `a` and `b` alternately, `runs` times each, so that both see the same machine conditions; their runs in order. */
export function alternately(runs: number, a: () => GuestRun, b: () => GuestRun): { a: GuestRun[]; b: GuestRun[] } {
  const out = { a: [] as GuestRun[], b: [] as GuestRun[] };
  for (let i = 0; i < runs; i++) {
    out.a.push(a());
    out.b.push(b());
  }
  return out;
}

export interface VmmBench {
  /** guest instructions per second, bare and under the VMM (median of the runs) */
  readonly bareIps: number;
  readonly vmmIps: number;
  /** vmmIps / bareIps */
  readonly ratio: number;
  /** share of the loop guest's instructions executed directly */
  readonly directShare: number;
  readonly loopExitsPer1000: number;
  /** the syscall-heavy guest under the VMM */
  readonly syscall: {
    readonly retired: number;
    readonly exits: number;
    readonly exitsPer1000: number;
    readonly usPerExit: number;
    readonly actionsPerExit: number;
    readonly directShare: number;
  };
}


/**
 * Measures the VMM without checks (no events, no safety instrumentation): `instructions` guest
 * instructions of the loop guest bare and under the VMM, `runs` times each, and the syscall
 * guest for `syscalls` system calls `runs` times (µs per exit is the median). Deterministic counts; times are wall-clock.
 */
export function benchVmm(o: { instructions?: number; runs?: number; syscalls?: number } = {}): VmmBench {
  const runs = o.runs ?? 5;
  const loop = benchLoopGuest(Math.ceil((o.instructions ?? 20_000_000) / 6));
  const pair = alternately(runs, () => runGuest('bare', loop, { check: false }), () => runGuest('vmm', loop, { check: false }));
  const bare = pair.a.map(ips);
  const vmm = pair.b.map(ips);
  const last = pair.b[runs - 1];
  const syscalls = syscallGuest(o.syscalls ?? 100_000);
  const sysRuns = Array.from({ length: runs }, () => runGuest('vmm', syscalls, { check: false }).efficiency!);
  const sys = sysRuns[0];
  return {
    bareIps: median(bare),
    vmmIps: median(vmm),
    ratio: median(vmm) / median(bare),
    directShare: last.efficiency!.directShare,
    loopExitsPer1000: last.efficiency!.exitsPer1000,
    syscall: {
      retired: sys.retired,
      exits: sys.exits.total,
      exitsPer1000: sys.exitsPer1000,
      usPerExit: median(sysRuns.map((f) => f.usPerExit)),
      actionsPerExit: sys.actionsPerExit,
      directShare: sys.directShare,
    },
  };
}

export interface SafetyCost {
  /** per guest: seconds of a checked run without the bus checker and with it (medians), and their ratio */
  readonly loop: { readonly off: number; readonly bus: number; readonly cost: number };
  readonly syscall: { readonly off: number; readonly bus: number; readonly cost: number };
}

/**
 * What the trust-nothing safety checker costs a checked run (equivalence in lockstep, efficiency):
 * the loop guest (`instructions` instructions, nearly all direct) and the syscall guest
 * (`syscalls` calls, an exit every 4 instructions) under the VMM with safety 'off' and 'bus',
 * alternately, `runs` times each.
 */
export function benchSafety(o: { instructions?: number; runs?: number; syscalls?: number } = {}): SafetyCost {
  const runs = o.runs ?? 5;
  const pair = (g: GuestImage) => {
    const { a, b } = alternately(runs, () => runGuest('vmm', g, { safety: 'off' }), () => runGuest('vmm', g, { safety: 'bus' }));
    const off = median(a.map((r) => r.seconds));
    const bus = median(b.map((r) => r.seconds));
    return { off, bus, cost: bus / off };
  };
  return {
    loop: pair(benchLoopGuest(Math.ceil((o.instructions ?? 20_000_000) / 6))),
    syscall: pair(syscallGuest(o.syscalls ?? 100_000)),
  };
}
