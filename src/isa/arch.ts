// The architected constants of the lab machine: low-memory layout, PSW image, trap causes,
// error-code bits. Everything a guest program can observe about traps is fixed here.
//
// Low memory (physical; under a VMM, guest-physical):
//
//   0x00  MEM[0]  new PSW   (32 bytes) loaded on every trap
//   0x20  MEM[1]  old PSW   (32 bytes) stored on every trap
//   0x40  cause             (word)  TrapCause of the last trap
//   0x44  fault address     (word)  faulting virtual address of a memory trap, else 0
//   0x48  error code        (word)  ERR_* bits of a memory trap, else 0
//   0x4C  detail            (word)  svc number for svc, the opcode for instruction traps, else 0
//   0x50 .. 0x7F reserved (zero); programs conventionally start at 0x80
//
// The slot numbering is the lecture's (MEM[0] = new, MEM[1] = old); the 1974 paper numbers
// them the other way round.
//
// PSW image (8 little-endian words):
//
//   +0  PC
//   +4  status   31    28 27  24 23      16 15  13 12  11  10   9   8  7    4 3    0
//                +--------+------+----------+------+---+---+---+---+---+-------+------+
//                |  0     | NZCV | profile  |  0   |SUM|NXE|WP |PG |IE |   0   | mode |
//                +--------+------+----------+------+---+---+---+---+---+-------+------+
//   +8  B        segment base
//   +12 L        segment limit (size convention) or end address (end convention)
//   +16 PTBR     physical address of the root page table
//   +20 profile  a profile's PSW-resident word (0 in classic)
//   +24 0
//   +28 0
//
// mode 0 is the most privileged ("supervisor"); the profile's last mode is "user".
// A PSW whose mode is not one of the profile's, or whose reserved bits are set, is invalid:
// `lpsw` of it raises illegal-instruction; a trap to it is a double fault.

export const SLOT_NEW_PSW = 0x00;
export const SLOT_OLD_PSW = 0x20;
export const TRAP_CAUSE = 0x40;
export const TRAP_VADDR = 0x44;
export const TRAP_ERROR = 0x48;
export const TRAP_DETAIL = 0x4c;
export const LOW_MEMORY_END = 0x80;
export const PSW_BYTES = 32;

export const PSW_PC = 0;
export const PSW_STATUS = 4;
export const PSW_BASE = 8;
export const PSW_LIMIT = 12;
export const PSW_PTBR = 16;
export const PSW_PROFILE = 20;

export const ST_MODE_MASK = 0xf;
export const ST_IE = 1 << 8;
export const ST_PG = 1 << 9;
export const ST_WP = 1 << 10;
export const ST_NXE = 1 << 11;
export const ST_SUM = 1 << 12;
export const ST_PROFILE_SHIFT = 16;
export const ST_PROFILE_MASK = 0xff << ST_PROFILE_SHIFT;
export const ST_FLAGS_SHIFT = 24;
export const ST_FLAGS_MASK = 0xf << ST_FLAGS_SHIFT;
/** The PSW's on/off switches by the names scenario files and reports use. */
export const STATUS_SWITCHES = { ie: ST_IE, pg: ST_PG, wp: ST_WP, nxe: ST_NXE, sum: ST_SUM } as const;
export type SwitchName = keyof typeof STATUS_SWITCHES;
export const SWITCH_NAMES = Object.keys(STATUS_SWITCHES) as readonly SwitchName[];

/** Status bits a PSW may have set (besides the mode field, which is checked against the profile). */
export const ST_DEFINED = ST_MODE_MASK | ST_IE | ST_PG | ST_WP | ST_NXE | ST_SUM | ST_PROFILE_MASK | ST_FLAGS_MASK;

/** Trap causes. Profiles add their own from PROFILE_CAUSE_BASE up. */
export const enum Cause {
  None = 0,
  Privileged = 1,
  Illegal = 2,
  Bounds = 3,
  PageFault = 4,
  Svc = 5,
  Timer = 6,
  Alignment = 7,
  /** nested paging: stage 2 refused a guest-physical address (for the VMM, never the guest) */
  Stage2 = 8,
}
export const PROFILE_CAUSE_BASE = 16;

export const CORE_CAUSES: readonly { code: number; name: string; memory: boolean }[] = [
  { code: Cause.Privileged, name: 'privileged', memory: false },
  { code: Cause.Illegal, name: 'illegal', memory: false },
  { code: Cause.Bounds, name: 'bounds', memory: true },
  { code: Cause.PageFault, name: 'page-fault', memory: true },
  { code: Cause.Svc, name: 'svc', memory: false },
  { code: Cause.Timer, name: 'timer', memory: false },
  { code: Cause.Alignment, name: 'alignment', memory: true },
  { code: Cause.Stage2, name: 'stage2-fault', memory: true },
];

/** Instructions are two words: a header and a 32-bit immediate. */
export const INSTR_BYTES = 8;

/**
 * Instruction header word:
 *
 *   31        21 20 19  16 15  12 11   8 7      0
 *  +------------+--+------+------+------+--------+
 *  |  0         |A |  rt  |  rs  |  rd  | opcode |
 *  +------------+--+------+------+------+--------+
 *
 * A = 1: the memory operand is the absolute address `imm` (no base register).
 * Nonzero bits 31..21 make the instruction illegal.
 */
export const HDR_ABS = 1 << 20;
export const HDR_RESERVED = ~0x1fffff;

export function encodeHeader(op: number, rd: number, rs: number, rt: number, abs: boolean): number {
  return (op & 0xff) | ((rd & 15) << 8) | ((rs & 15) << 12) | ((rt & 15) << 16) | (abs ? HDR_ABS : 0);
}
