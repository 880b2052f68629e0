// The VMM's transformations φ (relocation, deprivileging, control substitution), as snapshot → snapshot functions, built from the
// profile's V with the VMM's own construction functions (src/vmm/construction.ts) — never a
// separate table:
//
//   relocation     the guest's physical memory placed at addr0 = delta in a larger real memory
//                  whose first delta bytes are the VMM's (a fixed filler), B' = delta + B and L'
//                  as composeSegment gives them (location-sensitivity); under paging, the same
//                  virtual image in other frames: guest frames permuted into a real memory delta
//                  bytes larger, tables, PTBR and TLB entries rewritten to match (paging.ts)
//   deprivileging  the mode replaced by realModeOf[M] (realStatus with no forced bits), the
//                  visible registers carried into that mode's registers: the banked copies of M
//                  and M' trade places, so the visible ones are M''s; never a status write that
//                  would swap banks (mode-sensitivity)
//   substitution   one part of V replaced by what the VMM installs: the status bits it forces
//                  on (realStatusOn, IE by default), those it forces off (realStatusOff), or a
//                  control register's `real` value (control substitution)

import { ST_IE, ST_MODE_MASK } from '../../isa/arch.js';
import type { MachineSnapshot } from '../../isa/snapshot.js';
import type { Profile } from '../../isa/profile.js';
import { FRAME_SIZE, imageOfFrames, type MemoryImage } from '../../mmu/memory.js';
import type { BoundsConvention } from '../../mmu/segment.js';
import type { Geometry } from '../../paging/index.js';
import { composeSegment, realStatus } from '../../vmm/construction.js';
import { permuted, type FrameMoves } from './paging.js';

/** A transformation as data: enough to apply it again (witness replay) and to name it. */
export type Phi =
  | { readonly kind: 'relocation'; readonly delta: number; readonly frames?: readonly number[] }
  | { readonly kind: 'deprivileging' }
  | { readonly kind: 'substitution'; readonly part: 'status-on' | 'status-off' }
  | { readonly kind: 'substitution'; readonly part: 'control'; readonly index: number };

/** Which behaviour class a transformation tests. */
export type PhiClass = 'location' | 'mode' | 'substitution';

export function phiClass(phi: Phi): PhiClass {
  return phi.kind === 'relocation' ? 'location' : phi.kind === 'deprivileging' ? 'mode' : 'substitution';
}

/**
 * The control substitutions `p` admits: the status bits V forces on (IE when realStatusOn is
 * absent) and off, when any, and each control register with a `real` value.
 */
export function substitutions(p: Profile): Phi[] {
  const out: Phi[] = [];
  if ((p.realStatusOn ?? ST_IE) !== 0) out.push({ kind: 'substitution', part: 'status-on' });
  if ((p.realStatusOff ?? 0) !== 0) out.push({ kind: 'substitution', part: 'status-off' });
  p.controlRegisters.forEach((c, index) => {
    if (c.real !== undefined) out.push({ kind: 'substitution', part: 'control', index });
  });
  return out;
}

/** `phi` in words, with the values V installs (`modes`: the profile's mode names). */
export function describePhi(p: Profile, phi: Phi, mode?: number): string {
  const hex = (v: number) => `0x${(v >>> 0).toString(16)}`;
  switch (phi.kind) {
    case 'relocation':
      if (phi.frames) return `relocation: the same virtual image in other frames (frame ${phi.frames.slice(0, 3).map((f, i) => `${i} -> ${f}`).join(', ')}, ...; tables, PTBR and TLB rewritten to match)`;
      return `relocation: the same contents at base + ${hex(phi.delta)}`;
    case 'deprivileging':
      return mode === undefined ? 'deprivileging (realModeOf)' : `deprivileging: mode ${p.modes[mode]} -> ${p.modes[p.realModeOf[mode]]}`;
    default:
      if (phi.part === 'control') return `control substitution: ${p.controlRegisters[phi.index].name} = ${hex(p.controlRegisters[phi.index].real!)} (its real value)`;
      if (phi.part === 'status-on') return `control substitution: status bits ${hex(p.realStatusOn ?? ST_IE)} forced on (realStatusOn)`;
      return `control substitution: status bits ${hex(p.realStatusOff ?? 0)} forced off (realStatusOff)`;
  }
}

/**
 * φ(s), or undefined where φ changes nothing (a mode the VMM runs as itself, a substitution of
 * values the state already holds) — such a twin is no evidence either way. A relocation with
 * `frames` is the paging one, over `geometry`'s tables.
 */
export function applyPhi(p: Profile, phi: Phi, s: MachineSnapshot, bounds: BoundsConvention, geometry?: Geometry, moves?: FrameMoves): MachineSnapshot | undefined {
  switch (phi.kind) {
    case 'relocation':
      if (phi.frames) {
        if (!geometry) throw new Error('applyPhi: a paging relocation needs the geometry');
        return permuted(geometry, s, phi.frames, phi.delta, fillerFrame, moves);
      }
      return relocated(s, phi.delta, bounds);
    case 'deprivileging':
      return deprivileged(p, s);
    default: {
      const t = substituted(p, phi, s);
      return t === s ? undefined : t;
    }
  }
}

/**
 * The relocated twin: guest-physical memory at `delta` in a real memory `delta` bytes larger
 * (the first `delta` bytes the VMM's filler), the segment composed as the VMM composes it.
 */
function relocated(s: MachineSnapshot, delta: number, bounds: BoundsConvention): MachineSnapshot {
  const vmsize = s.memory.size;
  const { base, limit } = composeSegment(s.psw.base, s.psw.limit, { addr0: delta, vmsize }, bounds);
  return { ...s, psw: { ...s.psw, base, limit }, memory: shiftedImage(s.memory, delta) };
}

/** The real memory the relocated twin sees: `image` at `delta` (frame-aligned), the VMM's filler below it. */
function shiftedImage(image: MemoryImage, delta: number): MemoryImage {
  if (delta % FRAME_SIZE !== 0) throw new Error(`relocated: delta 0x${delta.toString(16)} is not a multiple of ${FRAME_SIZE}`);
  const shift = delta / FRAME_SIZE;
  const frames: [number, Int32Array][] = [];
  for (let fn = 0; fn < shift; fn++) frames.push([fn, fillerFrame(fn)]);
  const seen = new Set<number>();
  for (const [lo] of image.presentRanges()) {
    const fn = Math.floor(lo / FRAME_SIZE);
    if (seen.has(fn)) continue;
    seen.add(fn);
    frames.push([fn + shift, image.frameAt(fn * FRAME_SIZE)!]);
  }
  return imageOfFrames(image.size + delta, frames);
}

const fillers: Int32Array[] = [];

/** The VMM's own memory under a relocated guest: a fixed pattern, never written (images share it; a thawed copy copies before writing). */
export function fillerFrame(fn: number): Int32Array {
  if (!fillers[fn]) {
    const f = new Int32Array(FRAME_SIZE / 4);
    for (let i = 0; i < f.length; i++) f[i] = Math.imul((fn * FRAME_SIZE + 4 * i) ^ 0x564d4d21, 0x9e3779b1);
    fillers[fn] = f;
  }
  return fillers[fn];
}

/** The deprivileged twin: mode M -> realModeOf[M], visible registers kept, the banked copies of M and M' traded. */
function deprivileged(p: Profile, s: MachineSnapshot): MachineSnapshot | undefined {
  const from = s.psw.status & ST_MODE_MASK;
  const to = p.realModeOf[from];
  if (to === from) return undefined;
  const status = realStatus(s.psw.status, { realModeOf: p.realModeOf, realStatusOn: 0, realStatusOff: 0 });
  const n = p.bankedRegisters.length;
  const banks = [...s.banks];
  for (let j = 0; j < n; j++) {
    banks[to * n + j] = s.banks[from * n + j];
    banks[from * n + j] = s.banks[to * n + j];
  }
  return { ...s, psw: { ...s.psw, status }, banks };
}

/** The twin with one part of V installed; `s` itself when it already holds V's values there. */
function substituted(p: Profile, phi: Extract<Phi, { kind: 'substitution' }>, s: MachineSnapshot): MachineSnapshot {
  if (phi.part === 'control') {
    const real = p.controlRegisters[phi.index].real! | 0;
    if (s.control[phi.index] === real) return s;
    const control = [...s.control];
    control[phi.index] = real;
    return { ...s, control };
  }
  const identity = p.modes.map((_, i) => i);
  const v = phi.part === 'status-on' ? { realStatusOn: p.realStatusOn ?? ST_IE, realStatusOff: 0 } : { realStatusOn: 0, realStatusOff: p.realStatusOff ?? 0 };
  const status = realStatus(s.psw.status, { realModeOf: identity, ...v });
  return status === s.psw.status ? s : { ...s, psw: { ...s.psw, status } };
}
