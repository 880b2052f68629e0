// MIPS32-like: three modes — kernel, supervisor, user — and the address map of the MIPS32
// architecture, whose segments a mode may or may not reach whatever the page tables say:
//
//   kuseg  0x00000000–0x7fffffff  mapped      kernel, supervisor, user
//   kseg0  0x80000000–0x9fffffff  unmapped    kernel only; physical = va − 0x80000000
//   kseg1  0xa0000000–0xbfffffff  unmapped    kernel only; physical = va − 0xa0000000
//   ksseg  0xc0000000–0xdfffffff  mapped      kernel, supervisor
//   kseg3  0xe0000000–0xffffffff  mapped      kernel only
//
// "Mapped" is this machine's own translation (base and bounds, or paging); an access a mode may
// not make is an address error (MIPS AdEL / AdES: one cause here, its error code saying read,
// write or fetch); an unmapped access past physical memory is a bus error (IBE / DBE). The
// privileged instructions are the classic machine's, trapping in supervisor and user mode (as
// MIPS's coprocessor-0 instructions do without CU0). A VMM runs every virtual mode in real user
// mode, where kseg0/1 are out of reach: a deprivileged kernel that lives in kseg0, as MIPS
// kernels do, traps on every fetch (docs/profiles/mips.md).

import type { Access } from '../../mmu/fault.js';
import { PROFILE_CAUSE_BASE } from '../arch.js';
import { CLASSIC_INSTRUCTIONS } from '../instructions.js';
import type { ProfileCpu } from '../cpu.js';
import { REGION_TRANSLATE, type Profile } from '../profile.js';

export const ADDRESS_ERROR = PROFILE_CAUSE_BASE;
export const BUS_ERROR = PROFILE_CAUSE_BASE + 1;

/** One segment of the address map: which modes reach it, and its physical base when unmapped. */
interface Segment {
  readonly name: string;
  /** bit m set: mode m may access it (0 kernel, 1 supervisor, 2 user) */
  readonly modes: number;
  /** unmapped: physical = va − unmappedFrom (absent: the machine's translation) */
  readonly unmappedFrom?: number;
}

const KUSEG: Segment = { name: 'kuseg', modes: 0b111 };
/** The map by va >>> 29 (512 MiB blocks). */
export const MIPS_SEGMENTS: readonly Segment[] = [
  KUSEG,
  KUSEG,
  KUSEG,
  KUSEG,
  { name: 'kseg0', modes: 0b001, unmappedFrom: 0x80000000 },
  { name: 'kseg1', modes: 0b001, unmappedFrom: 0xa0000000 },
  { name: 'ksseg', modes: 0b011 },
  { name: 'kseg3', modes: 0b001 },
];

/** The region hook: address error for a mode the segment refuses, the unmapped segments' physical address (bus error past memory), else translate. */
function mipsRegion(m: ProfileCpu, va: number, n: number, access: Access): number {
  const seg = MIPS_SEGMENTS[va >>> 29];
  if (((seg.modes >> m.mode) & 1) === 0) return m.regionFault(va, ADDRESS_ERROR, access);
  if (seg.unmappedFrom === undefined) return REGION_TRANSLATE;
  const pa = va - seg.unmappedFrom;
  return pa + n <= m.mem.size ? pa : m.regionFault(va, BUS_ERROR, access);
}

export const mips: Profile = {
  name: 'mips',
  summary: 'kernel, supervisor and user modes; kseg0/kseg1 unmapped and kernel-only, ksseg supervisor, kseg3 kernel-only (MIPS32 address map)',
  modes: ['kernel', 'supervisor', 'user'],
  instructions: CLASSIC_INSTRUCTIONS,
  causes: [
    { code: ADDRESS_ERROR, name: 'address-error', memory: true },
    { code: BUS_ERROR, name: 'bus-error', memory: true },
  ],
  controlRegisters: [],
  bankedRegisters: [],
  region: mipsRegion,
  regionGrain: 2 ** 29,
  realModeOf: [2, 2, 2],
};
