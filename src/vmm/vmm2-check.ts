// The checks of a vmm2 run that read what vmm.s did: its trap log against the innermost guest's
// bare run (advanced from trap to trap, nothing kept), level-2 confinement observed at every
// resume of level 1 in virtual user mode, and the innermost guest's efficiency figures.

import { Cause } from '../isa/arch.js';
import { liveScalars, snapshot, type MachineSnapshot, type ViewScalars } from '../isa/snapshot.js';
import { BareReference } from './bare.js';
import { compareSnapshots, type Divergence, type EfficiencyFigures, type EquivalenceVerdict } from './checks.js';
import { reachable } from './construction.js';
import type { GuestEvent } from './events.js';
import type { GuestImage } from './guest.js';
import type { ResumeObserver } from './monitor.js';
import type { TrapRecord, Vmm2Table } from './vmm2-table.js';

/** The first field in which a trap-log record differs from the bare guest's state `s` at its trap event `e`, or undefined. */
function compareRecord(e: GuestEvent, s: ViewScalars, r: TrapRecord): { field: string; bare: unknown; actual: unknown } | undefined {
  const t = s.lastTrap!;
  const rows: [string, unknown, unknown][] = [
    ['retired', e.retired, r.retired],
    ['cause', t.cause, r.cause],
    ['vaddr', t.vaddr, r.vaddr],
    ['error', t.error, r.error],
    ['detail', t.detail, r.detail],
    ['doubleFault', e.kind === 'double-fault', r.doubleFault],
    ...(['pc', 'status', 'base', 'limit', 'ptbr', 'extra'] as const).map((k): [string, unknown, unknown] => [`psw.${k}`, s.psw[k], r.psw[k]]),
    ...(['reload', 'count', 'enabled', 'pending'] as const).map((k): [string, unknown, unknown] => [`timer.${k}`, s.timer[k], r.timer[k]]),
    ...s.regs.map((v, i): [string, unknown, unknown] => [`regs.${i}`, v, r.regs[i]]),
  ];
  const d = rows.find(([, a, b]) => a !== b);
  return d && { field: d[0], bare: d[1], actual: d[2] };
}

/**
 * Equivalence of vmm2 with the bare run of `inner`: the bare machine is advanced from trap to
 * trap and each compared with the trap log's record, then the end, the instructions retired
 * and the final view. Only the bare machine's current state is held.
 */
export function innerEquivalence(inner: GuestImage, t: Vmm2Table, final: MachineSnapshot): EquivalenceVerdict {
  const ref = new BareReference(inner);
  let agreed = 0;
  const fail = (index: number, d: Omit<Divergence, 'index' | 'retired' | 'agreed'>, retired: number): EquivalenceVerdict => ({ holds: false, compared: index, first: { index, retired, agreed, ...d } });
  let i = 0;
  let e = ref.next();
  for (; e && e.kind !== 'end'; e = ref.next()) {
    if (e.kind !== 'trap' && e.kind !== 'double-fault') continue;
    const d = i < t.log.length ? compareRecord(e, liveScalars(ref.m), t.log[i]) : undefined;
    if (d) return fail(i, { field: `trapLog[${i}].${d.field}`, bare: d.bare, actual: d.actual, bareEvent: { ...e, snapshot: snapshot(ref.m) } }, e.retired);
    if (i < t.log.length) agreed = e.retired;
    i++;
  }
  const m = ref.m;
  const end = m.machineStatus === 'running' ? 'budget' : m.machineStatus;
  if (i !== t.logged) return fail(Math.min(i, t.logged), { field: 'trapLog.length', bare: i, actual: t.logged }, m.retired);
  if (end !== t.end) return fail(i, { field: 'end', bare: end, actual: t.end }, m.retired);
  if (m.retired !== t.retired) return fail(i, { field: 'retired', bare: m.retired, actual: t.retired }, m.retired);
  const bareFinal = snapshot(m);
  const d = compareSnapshots(bareFinal, final);
  if (d) return fail(i, { field: d.field, bare: d.a, actual: d.b, bareEvent: { kind: 'end', retired: m.retired, snapshot: bareFinal }, actualEvent: { kind: 'end', retired: t.retired, snapshot: final } }, m.retired);
  return { holds: true, compared: Math.min(i, t.log.length) + 1 };
}

/**
 * Level-2 resource control, observed at level 1: at every resume of VM1 in virtual user mode
 * (the innermost guest about to run), the segment vmm.s composed must reach only
 * [ADDR0, ADDR0 + vmsize) of VM1's memory.
 */
export class InnerConfinement {
  resumes = 0;
  readonly violations: string[] = [];
  constructor(
    private readonly lo: number,
    private readonly hi: number,
  ) {}

  readonly observe: ResumeObserver = (_vm, vcpu) => {
    if (vcpu.mode === 0) return;
    this.resumes++;
    const r = reachable(vcpu.base, vcpu.limit, 'size', vcpu.mem.size);
    if (r.hi > r.lo && (r.lo < this.lo || r.hi > this.hi) && this.violations.length < 20) {
      this.violations.push(`level-1 segment B=0x${vcpu.base.toString(16)} L=0x${vcpu.limit.toString(16)} reaches [0x${r.lo.toString(16)}, 0x${r.hi.toString(16)}) outside the guest's [0x${this.lo.toString(16)}, 0x${this.hi.toString(16)})`);
    }
  };
}

/**
 * The innermost guest's efficiency: its instructions not emulated by vmm.s ran directly on the
 * real machine (level 1 runs them in virtual user mode, which the TypeScript VMM never
 * emulates). µs per exit is an estimate: the run's wall time less the innermost guest's share
 * of the real machine's direct time, per innermost exit.
 */
export function innerFigures(t: Vmm2Table, outer: EfficiencyFigures, seconds: number): EfficiencyFigures {
  const total = t.exits.timer + t.exits.emulate + t.exits.reflect;
  const direct = t.retired - t.emulated;
  const innerDirectSeconds = outer.direct ? (outer.directSeconds * direct) / outer.direct : 0;
  return {
    retired: t.retired,
    direct,
    software: t.emulated,
    directShare: t.retired ? direct / t.retired : 1,
    untrappedSoftware: Math.max(0, t.emulated - t.exits.emulate),
    exits: { ...t.exits, repair: 0, total },
    exitsPer1000: t.retired ? (total * 1000) / t.retired : 0,
    interrupts: t.counts[Cause.Timer],
    usPerExit: total ? ((seconds - innerDirectSeconds) * 1e6) / total : 0,
    vmmSeconds: seconds - innerDirectSeconds,
    directSeconds: innerDirectSeconds,
    actionsPerExit: total ? (outer.retired - t.retired) / total : 0,
  };
}
