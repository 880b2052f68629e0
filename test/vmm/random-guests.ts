// Random guests for the VMM property tests: a kernel (trap vector, boot code, a trap handler
// that does random things and returns in one of several ways) and a user program, both written
// as assembly so that a shrunk counterexample prints as a program one can read and re-run.
// Hostile on purpose: forged lpsw images with huge bases and limits, bases past the end of the
// guest's memory, overwriting the trap vector, touching memory beyond the limit, looping
// forever, hammering svc, timer on and off, interrupts on in the kernel.

import fc from 'fast-check';
import { classic } from '../../src/isa/profiles/classic.js';
import type { Profile } from '../../src/isa/profile.js';
import type { BoundsConvention } from '../../src/mmu/segment.js';
import { guestFromSources, inModesOf, type GuestImage } from '../../src/vmm/guest.js';

/** Where the user program's image lies in guest-physical memory. */
const USER_IMAGE = 0x1000;

export interface RandomGuest {
  readonly vmsize: number;
  readonly bounds: BoundsConvention;
  readonly budget: number;
  /** the kernel source (vector at 0, boot at 0x80) */
  readonly kernel: string;
  /** the user program source (its address 0 is guest-physical USER_IMAGE) */
  readonly user: string;
  readonly regs: readonly number[];
  /** prints as the two programs (what fast-check shows for a counterexample) */
  [fc.toStringMethod](): string;
}

const pick = <T>(...xs: T[]) => fc.constantFrom(...xs);
const reg = (lo: number, hi: number) => fc.integer({ min: lo, max: hi }).map((r) => `r${r}`);
const userReg = reg(1, 8);
const kreg = reg(10, 12);

/** Addresses worth touching in a guest of `vmsize` bytes: low memory, limits, ends, wrap-arounds. */
function addresses(vmsize: number): fc.Arbitrary<number> {
  return fc.oneof(
    pick(0, 4, 0x20, 0x24, 0x40, 0x44, 0x3, 0x400, 0xffc, 0x1000, 0x1ff8, vmsize - 4, vmsize, vmsize + 0x1000, 0xfffffffc, 0xffffffe0),
    fc.integer({ min: 0, max: vmsize + 0x100 }).map((a) => a & ~3),
  );
}

/**
 * PSW images a kernel might load, as 8 words: sane ones, hostile ones (huge base or limit, a
 * base past the guest's memory, an unaligned base), and invalid ones (a reserved status bit,
 * a mode the profile lacks).
 */
function pswImage(vmsize: number, bounds: BoundsConvention): fc.Arbitrary<string> {
  const base = pick(0, 0x1000, 0x1004, vmsize - 0x100, vmsize, vmsize + 8, 0xfffff000, 0x7fffffff);
  const size = pick(0, 0x10, 0x400, 0x1000, vmsize, 0xffffffff);
  const status = pick(1, 1, 0x101, 0x101, 0, 0x100, 0x10, 3);
  return fc.record({ pc: pick(0, 8, 0x80, 0x40, 4, 0xfff8), status, base, size }).map(({ pc, status, base, size }) => {
    const limit = bounds === 'end' && size !== 0xffffffff ? Math.min(base + size, 0xffffffff) : size;
    return `.word ${pc}, ${status}, ${base}, ${limit}, 0, 0, 0, 0`;
  });
}

/** One user-mode action (a few lines), given a label-number source. */
function userAction(vmsize: number): fc.Arbitrary<(n: number) => string> {
  const addr = addresses(vmsize);
  const imm = fc.oneof(fc.integer({ min: -3, max: 300 }), addr);
  const line = (s: fc.Arbitrary<string>) => s.map((t) => () => t);
  return fc.oneof(
    { weight: 6, arbitrary: line(fc.tuple(pick('addi', 'xori', 'muli'), userReg, userReg, imm).map(([op, a, b, i]) => `${op} ${a}, ${b}, ${i}`)) },
    { weight: 4, arbitrary: line(fc.tuple(pick('add', 'sub', 'xor', 'sltu'), userReg, userReg, userReg).map(([op, a, b, c]) => `${op} ${a}, ${b}, ${c}`)) },
    { weight: 4, arbitrary: line(fc.tuple(userReg, imm).map(([a, i]) => `li ${a}, ${i}`)) },
    { weight: 4, arbitrary: line(fc.tuple(pick('ld', 'st', 'ldb', 'stb'), userReg, addr).map(([op, a, x]) => `${op} ${a}, ${x}`)) },
    { weight: 3, arbitrary: line(fc.tuple(pick('ld', 'st'), userReg, userReg).map(([op, a, b]) => `${op} ${a}, 0(${b})`)) },
    { weight: 4, arbitrary: line(pick(0, 1, 1, 7).map((n) => `svc ${n}`)) },
    { weight: 3, arbitrary: line(fc.tuple(pick('out r1, 0', 'out r2, 1', 'halt', 'settimer r1', 'gettimer r3', 'setptbr r4', 'tlbflush'), addr).map(([t]) => t)) },
    { weight: 2, arbitrary: line(fc.tuple(pick('lpsw', 'spsw'), addr).map(([op, x]) => `${op} ${x}`)) },
    { weight: 1, arbitrary: line(pick('.word 0xff, 0', '.word 0x80000021, 5')) },
    { weight: 2, arbitrary: fc.integer({ min: 1, max: 40 }).map((k) => (n: number) => `li r9, ${k}\nu${n}: addi r9, r9, -1\nbne r9, r0, u${n}`) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 20 }).map((k) => (n: number) => `li r9, ${k}\nu${n}: svc 1\naddi r9, r9, -1\nbne r9, r0, u${n}`) },
    { weight: 1, arbitrary: pick('jmp', 'jmp 0').map((t) => (n: number) => (t === 'jmp' ? `s${n}: jmp s${n}` : t)) },
  );
}

/** One kernel action (r10..r12 only; the trap record is at 0x40..0x4f, MEM[1] at 0x20). */
function kernelAction(vmsize: number): fc.Arbitrary<string> {
  const addr = addresses(vmsize);
  return fc.oneof(
    { weight: 4, arbitrary: pick(0x40, 0x44, 0x48, 0x4c).map((a) => `ld r10, ${a}\nout r10, 1`) },
    { weight: 2, arbitrary: pick('gettimer r10\nout r10, 1', 'spsw spare', "li r10, '.'\nout r10, 0") },
    { weight: 3, arbitrary: pick(0, 1, 7, 23, 50, 101).map((t) => `li r10, ${t}\nsettimer r10`) },
    { weight: 2, arbitrary: fc.tuple(pick(0, 4, 8, 12), pick(0, 1, 0x100, 0x101, 0xdead, 0x80, 0x2000, 0xffffffff)).map(([off, v]) => `li r10, ${v}\nst r10, ${off}`) },
    { weight: 2, arbitrary: fc.tuple(pick('ld', 'st', 'ldb'), kreg, addr).map(([op, r, a]) => `${op} ${r}, ${a}`) },
    { weight: 2, arbitrary: fc.tuple(pick(0x24, 0x28, 0x2c), pick(0x100, 0x1, 0x1000, 0xfffff000)).map(([off, v]) => `ld r10, ${off}\nxori r10, r10, ${v}\nst r10, ${off}`) },
    { weight: 1, arbitrary: pick('lpsw forged', 'halt', 'lpsw 0x44', 'lpsw 3') },
  );
}

const RETURNS = {
  resume: 'lpsw 0x20',
  skip: 'ld r10, 0x20\naddi r10, r10, 8\nst r10, 0x20\nlpsw 0x20',
  forged: 'lpsw forged',
  restart: 'lpsw upsw',
} as const;

/** A random guest (classic profile, segment machine) of 8 or 12 KiB, of either bounds convention unless given. */
export function randomGuest(convention?: BoundsConvention): fc.Arbitrary<RandomGuest> {
  const conventions = convention ? pick(convention) : pick<BoundsConvention>('size', 'size', 'end');
  return fc
    .record({ vmsize: pick(0x2000, 0x3000), bounds: conventions })
    .chain(({ vmsize, bounds }) =>
      fc.record({
        vmsize: fc.constant(vmsize),
        bounds: fc.constant(bounds),
        kernelIe: fc.boolean(),
        boot: fc.array(kernelAction(vmsize), { maxLength: 4 }),
        handler: fc.array(kernelAction(vmsize), { maxLength: 6 }),
        stopAfter: fc.integer({ min: 1, max: 25 }),
        ret: pick<keyof typeof RETURNS>('resume', 'resume', 'skip', 'skip', 'forged', 'restart'),
        upsw: fc.oneof({ weight: 3, arbitrary: fc.constant(`.psw pc=0, mode=u, ie=1, base=${USER_IMAGE}, limit=${bounds === 'end' ? USER_IMAGE + 0x1000 : 0x1000}`) }, { weight: 2, arbitrary: pswImage(vmsize, bounds) }),
        forged: pswImage(vmsize, bounds),
        user: fc.array(userAction(vmsize), { minLength: 1, maxLength: 14 }),
        userEnd: pick('svc 0', 'jmp 0', 'halt'),
        regs: fc.array(fc.oneof(fc.integer({ min: 0, max: 0x3000 }), fc.constant(0xfffffffc)), { minLength: 9, maxLength: 9 }),
        budget: pick(1500, 3000),
      }),
    )
    .map((r) => {
      const kernel = [
        '.org 0',
        `.psw pc=handler, mode=s, ie=${r.kernelIe ? 1 : 0}, limit=${r.vmsize}`,
        '.org 0x80',
        'boot:',
        ...r.boot,
        'lpsw upsw',
        'handler:',
        'ld r13, count\naddi r13, r13, 1\nst r13, count',
        `li r12, ${r.stopAfter}\nbeq r13, r12, done`,
        ...r.handler,
        RETURNS[r.ret],
        'done: ld r10, 0x40\nout r10, 1\nhalt',
        '.align 4',
        'count: .word 0',
        `upsw: ${r.upsw}`,
        `forged: ${r.forged}`,
        'spare: .space 32',
      ].join('\n');
      const user = ['.org 0', ...r.user.map((f, i) => f(i)), r.userEnd].join('\n');
      const regs = [0, ...r.regs];
      return {
        vmsize: r.vmsize,
        bounds: r.bounds,
        budget: r.budget,
        kernel,
        user,
        regs,
        [fc.toStringMethod]: () => `guest (${r.vmsize} bytes, ${r.bounds} convention, budget ${r.budget}, regs ${regs.join(',')})\n--- kernel @0\n${kernel}\n--- user @0x${USER_IMAGE.toString(16)}\n${user}\n`,
      };
    });
}

/**
 * `rg` with `line(i)` (the i-th insertion) after every line of its kernel's code — its data, from
 * `.align 4` on, left alone — and, with `user`, after every line of its process.
 */
export function withLines(rg: RandomGuest, line: (i: number) => string, user = false): RandomGuest {
  let n = 0;
  const insert = (code: string) => code.replace(/\n(?!\s*\.)/g, () => `\n${line(n++)}\n`);
  const [code, data] = rg.kernel.split('\n.align 4\n');
  return { ...rg, kernel: `${insert(code)}\n.align 4\n${data}`, ...(user ? { user: insert(rg.user) } : {}) };
}

/** `rg` for `profile`, whose supervisor and user modes (its first and last) may have other names than `s` and `u`. */
export function forProfile(rg: RandomGuest, profile: Profile): RandomGuest {
  return { ...rg, kernel: inModesOf(rg.kernel, profile), user: inModesOf(rg.user, profile) };
}

/** The guest image of a random guest, booting its kernel at 0x80 in supervisor mode (classic profile unless given). */
export function guestOf(rg: RandomGuest, name = 'random', profile: Profile = classic): GuestImage {
  return guestFromSources({
    name,
    profile,
    vmsize: rg.vmsize,
    bounds: rg.bounds,
    programs: [
      { source: rg.kernel, at: 0 },
      { source: rg.user, at: USER_IMAGE },
    ],
    psw: { pc: 0x80, status: 0, base: 0, limit: rg.vmsize, ptbr: 0, extra: 0 },
    regs: rg.regs,
    budget: rg.budget,
  });
}
