// The pure steps of the construction (src/vmm/construction.ts), checked against the machine's
// own relocation rule rather than against restated formulas.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Cause, ST_IE, ST_MODE_MASK } from '../../src/isa/arch.js';
import { compileProfile } from '../../src/isa/profile.js';
import { classic } from '../../src/isa/profiles/classic.js';
import { ERR_FETCH, ERR_USER, ERR_WRITE } from '../../src/mmu/fault.js';
import { relocate, type BoundsConvention } from '../../src/mmu/segment.js';
import { composeSegment, exitKind, guestError, hostLayout, reachable, realStatus, realTimerCount, VMM_RESERVE } from '../../src/vmm/construction.js';
import { fcParams } from './params.js';

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const edgy = (max: number) => fc.oneof(u32, fc.integer({ min: 0, max }), fc.constantFrom(0, 1, max - 1, max, max + 1, 0xfffffffc, 0xffffffff));

describe('composeSegment (step 4)', () => {
  const cases = fc.record({
    vmsize: fc.integer({ min: 0x80, max: 0x20000 }),
    addr0Frames: fc.integer({ min: 1, max: 64 }),
    slack: fc.integer({ min: 0, max: 0x10000 }),
    bounds: fc.constantFrom<BoundsConvention>('size', 'end'),
    vb: edgy(0x20000),
    vl: edgy(0x20000),
    va: edgy(0x20000),
    n: fc.constantFrom(1, 4, 8, 32),
  });

  it('allows exactly the guest-legal accesses, each at addr0 + its guest-physical address', () => {
    fc.assert(
      fc.property(cases, ({ vmsize, addr0Frames, slack, bounds, vb, vl, va, n }) => {
        const addr0 = addr0Frames * 4096;
        const hostSize = addr0 + vmsize + slack;
        const guestPa = relocate(va, n, vb, vl, bounds === 'end', vmsize);
        const { base, limit } = composeSegment(vb, vl, { addr0, vmsize }, bounds);
        const hostPa = relocate(va, n, base, limit, bounds === 'end', hostSize);
        expect(hostPa).toBe(guestPa < 0 ? -1 : guestPa + addr0);
        const r = reachable(base, limit, bounds, hostSize);
        if (r.hi > r.lo) expect(r.lo >= addr0 && r.hi <= addr0 + vmsize).toBe(true);
      }),
      fcParams(2000),
    );
  });

  it('is not a formula that any composition passes: the unclamped L\' = vL fails it', () => {
    const naive = (vb: number, vl: number, a: { addr0: number }) => ({ base: a.addr0 + vb, limit: vl });
    const guestPa = relocate(0x1ffc, 4, 0x1000, 0x2000, false, 0x2000);
    const { base, limit } = naive(0x1000, 0x2000, { addr0: 0x4000 });
    expect(guestPa).toBe(-1);
    expect(relocate(0x1ffc, 4, base, limit, false, 0x10000)).toBe(0x6ffc);
  });

  it('gives a base past the guest memory a zero limit and no overflow', () => {
    expect(composeSegment(0xfffff000, 0xffffffff, { addr0: 0x10000, vmsize: 0x2000 }, 'size')).toEqual({ base: 0x10000, limit: 0 });
    expect(composeSegment(0x2000, 0x10, { addr0: 0x10000, vmsize: 0x2000 }, 'end')).toEqual({ base: 0x10000, limit: 0 });
  });
});

describe('hostLayout (steps 2-3)', () => {
  it('puts the VMs after the reserve, frame-aligned and disjoint', () => {
    const l = hostLayout([0x2000, 0x1234, 0x10000]);
    expect(l.reserve).toBe(VMM_RESERVE);
    expect(l.allocations.map((a) => a.addr0)).toEqual([0x1000, 0x3000, 0x5000]);
    expect(l.memorySize).toBe(0x15000);
  });

  it('rejects VMs below the low-memory area or beyond 4 GiB', () => {
    expect(() => hostLayout([0x40])).toThrow(/below the 128-byte/);
    expect(() => hostLayout([2 ** 32 - 2048])).toThrow(/more than 4 GiB/);
  });
});

describe('realStatus, exitKind, guestError, realTimerCount', () => {
  it('runs both virtual modes in the profile’s real mode with interrupts on, other bits kept', () => {
    for (const v of [0, 1, 0x0f010000 | 1, 0x200]) {
      const r = realStatus(v, classic);
      expect(r & ST_MODE_MASK).toBe(classic.realModeOf[v & ST_MODE_MASK]);
      expect(r & ST_IE).toBe(ST_IE);
      expect(r & ~(ST_MODE_MASK | ST_IE)).toBe(v & ~(ST_MODE_MASK | ST_IE));
    }
  });

  it('takes the real timer as the VMM’s own, an svc (the instruction completed, in any mode) as a trap to deliver, and every fault as an instruction to run on the virtual CPU', () => {
    expect(exitKind(Cause.Timer)).toBe('timer');
    expect(exitKind(Cause.Svc)).toBe('deliver');
    for (const c of [Cause.Privileged, Cause.Bounds, Cause.Illegal, Cause.Alignment, Cause.PageFault]) expect(exitKind(c)).toBe('execute');
  });

  it('gives a delivered memory trap the virtual mode’s user bit and leaves other causes alone', () => {
    const cp = compileProfile(classic);
    expect(guestError(Cause.Bounds, ERR_USER | ERR_WRITE, 0, cp)).toBe(ERR_WRITE);
    expect(guestError(Cause.Alignment, ERR_USER | ERR_FETCH, 1, cp)).toBe(ERR_USER | ERR_FETCH);
    expect(guestError(Cause.Svc, 0, 1, cp)).toBe(0);
    expect(guestError(Cause.Privileged, ERR_USER | ERR_WRITE, 1, cp)).toBe(0); // a stale record never leaks through
  });

  it('stops the guest at its virtual timer only when that expiry would be delivered', () => {
    const on = { enabled: true, pending: false, count: 7 };
    expect(realTimerCount(100, on, ST_IE)).toBe(7);
    expect(realTimerCount(5, on, ST_IE)).toBe(5);
    expect(realTimerCount(100, on, 0)).toBe(100);
    expect(realTimerCount(100, { ...on, pending: true }, ST_IE)).toBe(100);
    expect(realTimerCount(100, { ...on, enabled: false }, ST_IE)).toBe(100);
  });
});
