import { describe, expect, it } from 'vitest';
import { Tlb } from '../../src/mmu/tlb.js';

const vpnsOf = (t: Tlb) => t.validEntries().map((e) => e.vpn);

describe('Tlb', () => {
  it('refuses entries that are not a whole number of sets', () => {
    expect(() => new Tlb({ entries: 6, ways: 4 }, 12)).toThrow(/^Tlb: 6 entries in 4 ways/);
    expect(() => new Tlb({ entries: 4, ways: 0 }, 12)).toThrow(/^Tlb: /);
  });

  it('hits after a fill and counts hits and misses', () => {
    const t = new Tlb({ entries: 4, ways: 2 }, 12);
    expect(t.lookup(7)).toBe(-1);
    const i = t.fill(7, 0x5000, 3, 12);
    expect(t.lookup(7)).toBe(i);
    expect([t.frames[i], t.perms[i], t.hits, t.misses]).toEqual([0x5000, 3, 1, 1]);
  });

  it('set-associative: a vpn goes to set vpn % sets; a full set evicts round-robin', () => {
    const t = new Tlb({ entries: 4, ways: 2 }, 12);
    for (const vpn of [0, 2, 1]) t.fill(vpn, vpn << 12, 1, 12);
    expect(vpnsOf(t)).toEqual([0, 2, 1]);
    t.fill(4, 0, 1, 12); // set 0 full: victim way 0 (vpn 0)
    expect(vpnsOf(t)).toEqual([4, 2, 1]);
    t.fill(6, 0, 1, 12); // next victim way 1 (vpn 2)
    expect(vpnsOf(t)).toEqual([4, 6, 1]);
    t.fill(8, 0, 1, 12); // back to way 0
    expect(vpnsOf(t)).toEqual([8, 6, 1]);
    expect(t.lookup(1)).toBe(2);
  });

  it('an invalid way is reused before evicting; refilling a cached vpn keeps its slot', () => {
    const t = new Tlb({ entries: 2, ways: 2 }, 12);
    t.fill(1, 0, 1, 12);
    t.fill(2, 0, 1, 12);
    t.drop(t.lookup(1));
    t.fill(3, 0, 1, 12);
    expect(vpnsOf(t)).toEqual([3, 2]);
    expect(t.fill(2, 0x9000, 2, 12)).toBe(1);
    expect(vpnsOf(t)).toEqual([3, 2]);
  });

  it('direct-mapped and fully associative are the two extremes', () => {
    const direct = new Tlb({ entries: 4, ways: 1 }, 12);
    direct.fill(1, 0, 1, 12);
    direct.fill(5, 0, 1, 12);
    expect(vpnsOf(direct)).toEqual([5]);
    const full = new Tlb({ entries: 4, ways: 4 }, 12);
    for (const vpn of [1, 5, 9, 13, 17]) full.fill(vpn, 0, 1, 12);
    expect(vpnsOf(full)).toEqual([17, 5, 9, 13]);
  });

  it('invalidate(va) drops every base page of the large page holding va, not its neighbours', () => {
    const t = new Tlb({ entries: 8, ways: 8 }, 12);
    t.fill(0x400, 0, 1, 22);
    t.fill(0x401, 0, 1, 22);
    t.fill(0x402, 0, 1, 12);
    t.fill(0x800, 0, 1, 22);
    expect(t.invalidate(0x00405000)).toBe(2);
    expect(vpnsOf(t)).toEqual([0x402, 0x800]);
    expect(t.invalidate(0x00402fff)).toBe(1);
    expect(vpnsOf(t)).toEqual([0x800]);
  });

  it('flush drops everything; save/restore round-trips entries and victims', () => {
    const t = new Tlb({ entries: 4, ways: 2 }, 12);
    for (const vpn of [0, 2, 4]) t.fill(vpn, vpn * 4096, 5, 12);
    const saved = t.save();
    t.flush();
    expect(vpnsOf(t)).toEqual([]);
    t.restore(saved);
    expect(t.save()).toEqual(saved);
    t.fill(6, 0, 1, 12);
    expect(vpnsOf(t)).toEqual([4, 6]);
  });

  it('entries 0 is no TLB: every lookup misses, fills go nowhere', () => {
    const t = new Tlb({ entries: 0, ways: 1 }, 12);
    expect([t.fill(1, 0, 1, 12), t.lookup(1), t.misses]).toEqual([-1, -1, 1]);
  });
});
