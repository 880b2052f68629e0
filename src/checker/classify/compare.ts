// States compared whole (behaviour-sensitivity compares them so, docs/classify.md): every register, every mode's banked copies, flags, PC,
// mode and the rest of the status word, B, L, PTBR, the PSW's profile word, control registers,
// the timer, the machine's run status, console, the valid TLB entries and all of memory — and
// R, the resource-control part of that state (what control-sensitivity looks at), on its own.
//
// The TLB is compared as which translations are cached, modulo fills: a fill (and the eviction
// it makes, and a refill of the same page) is never a difference — whether an access hits or
// walks is nondeterminism, not sensitivity. R changes when a valid entry is dropped; two
// results differ where both cache a page differently, or where one has dropped a page the state
// before cached.

import { ST_FLAGS_MASK, ST_MODE_MASK } from '../../isa/arch.js';
import type { MachineSnapshot } from '../../isa/snapshot.js';
import type { TlbEntry, TlbState } from '../../mmu/tlb.js';

/** One component in which two states differ, with both values. */
export interface Difference {
  /** e.g. "regs.3", "mode", "status", "memory[0x1f00]", "control.gdtr", "banks.irq.r13" */
  readonly component: string;
  readonly a: number | string | boolean;
  readonly b: number | string | boolean;
}

/** Names the parts of a snapshot: the profile's modes, control registers and banked registers. */
export interface StateNames {
  readonly modes: readonly string[];
  readonly control: readonly string[];
  /** per control register: whether it is resource control (a profile may mark one program state, as x86's segment registers) */
  readonly resource: readonly boolean[];
  readonly banked: readonly number[];
}

/**
 * R, the resource-control state, as a flat record: the mode, B, L, PTBR, the status bits other than the mode and
 * the condition flags (interrupt enable, paging switches, the profile's bits), the PSW's profile
 * word, the timer's reload and enable (its count and pending tick are the tick's, which does not
 * count), every control register but those the profile marks program state. R's valid TLB
 * entries are compared apart (tlbDrops).
 */
export function resourceControl(s: MachineSnapshot, names: StateNames): Record<string, number | boolean | string> {
  const r: Record<string, number | boolean | string> = {
    mode: s.psw.status & ST_MODE_MASK,
    base: s.psw.base,
    limit: s.psw.limit,
    ptbr: s.psw.ptbr,
    'status.control': (s.psw.status & ~ST_MODE_MASK & ~ST_FLAGS_MASK) >>> 0,
    extra: s.psw.extra,
    'timer.reload': s.timer.reload,
    'timer.enabled': s.timer.enabled,
  };
  s.control.forEach((v, i) => {
    if (names.resource[i]) r[`control.${names.control[i]}`] = v;
  });
  return r;
}

/** The components of R in which `a` (before) and `b` (after) differ: the record's, and each TLB entry dropped. */
export function controlDifferences(a: MachineSnapshot, b: MachineSnapshot, names: StateNames): Difference[] {
  const dropped = tlbDrops(a.tlb, b.tlb).map((e) => ({ component: tlbName(e), a: cached(e), b: 'dropped' }));
  return [...recordDifferences(resourceControl(a, names), resourceControl(b, names)), ...dropped];
}

const tlbName = (e: TlbEntry) => `tlb[0x${e.vpn.toString(16)}]`;
const cached = (e: TlbEntry) => `frame 0x${e.frame.toString(16)} perms 0x${e.perms.toString(16)}${e.pageBits === 12 ? '' : ` page 2^${e.pageBits}`}`;

function byPage(t: TlbState | undefined): Map<number, TlbEntry> {
  return new Map((t?.entries ?? []).map((e) => [e.vpn, e]));
}

/**
 * The valid entries of `before` that `after` no longer caches, where no fill took the slot: a
 * drop (invalidation, flush, a PTBR or switch change). An eviction by a fill and a refill of the
 * same page are fills.
 */
export function tlbDrops(before: TlbState | undefined, after: TlbState | undefined): TlbEntry[] {
  const was = byPage(before);
  const now = byPage(after);
  const filled = new Set((after?.entries ?? []).filter((e) => !was.has(e.vpn)).map((e) => e.slot));
  return (before?.entries ?? []).filter((e) => !now.has(e.vpn) && !filled.has(e.slot));
}

/**
 * The TLB differences of two results: a page both cache differently, and — given the state
 * `before` them — a page `before` cached that one of them has dropped. A page only one of them
 * cached, `before` not, is a fill and no difference.
 */
function tlbDifferences(a: TlbState | undefined, b: TlbState | undefined, before: TlbState | undefined): Difference[] {
  const x = byPage(a);
  const y = byPage(b);
  const was = byPage(before);
  const out: Difference[] = [];
  for (const vpn of [...new Set([...x.keys(), ...y.keys()])].sort((i, j) => i - j)) {
    const e = x.get(vpn);
    const f = y.get(vpn);
    const shown = (t: TlbEntry | undefined) => (t ? cached(t) : 'not cached');
    if (e && f ? shown(e) !== shown(f) : was.has(vpn)) out.push({ component: tlbName((e ?? f)!), a: shown(e), b: shown(f) });
  }
  return out;
}

function recordDifferences(x: Record<string, number | boolean | string>, y: Record<string, number | boolean | string>): Difference[] {
  return Object.keys(x)
    .filter((k) => x[k] !== y[k])
    .map((k) => ({ component: k, a: x[k], b: y[k] }));
}

/**
 * Every component in which two whole states differ (memory: the first differing byte), in a
 * fixed order; the TLB modulo fills, with `before` the state both results came from (without it
 * a page only one of them caches is taken for a fill).
 */
export function stateDifferences(a: MachineSnapshot, b: MachineSnapshot, names: StateNames, before?: MachineSnapshot): Difference[] {
  const out: Difference[] = [];
  const put = (component: string, x: number | string | boolean, y: number | string | boolean) => {
    if (x !== y) out.push({ component, a: x, b: y });
  };
  put('status', a.status, b.status);
  put('pc', a.psw.pc, b.psw.pc);
  put('mode', a.psw.status & ST_MODE_MASK, b.psw.status & ST_MODE_MASK);
  put('flags', (a.psw.status & ST_FLAGS_MASK) >>> 0, (b.psw.status & ST_FLAGS_MASK) >>> 0);
  put('status.control', (a.psw.status & ~ST_MODE_MASK & ~ST_FLAGS_MASK) >>> 0, (b.psw.status & ~ST_MODE_MASK & ~ST_FLAGS_MASK) >>> 0);
  put('base', a.psw.base, b.psw.base);
  put('limit', a.psw.limit, b.psw.limit);
  put('ptbr', a.psw.ptbr, b.psw.ptbr);
  put('extra', a.psw.extra, b.psw.extra);
  a.regs.forEach((v, i) => put(`regs.r${i}`, v, b.regs[i]));
  const n = names.banked.length;
  a.banks.forEach((v, i) => put(`banks.${names.modes[Math.floor(i / n)]}.r${names.banked[i % n]}`, v, b.banks[i]));
  a.control.forEach((v, i) => put(`control.${names.control[i]}`, v, b.control[i]));
  put('timer.reload', a.timer.reload, b.timer.reload);
  put('timer.count', a.timer.count, b.timer.count);
  put('timer.enabled', a.timer.enabled, b.timer.enabled);
  put('timer.pending', a.timer.pending, b.timer.pending);
  put('console', a.console, b.console);
  out.push(...tlbDifferences(a.tlb, b.tlb, before?.tlb));
  put('memory.size', a.memory.size, b.memory.size);
  if (a.memory.size === b.memory.size) {
    const at = a.memory.firstDifference(b.memory);
    if (at >= 0) out.push({ component: `memory[0x${at.toString(16)}]`, a: a.memory.read8(at), b: b.memory.read8(at) });
  }
  return out;
}
