import { describe, expect, it } from 'vitest';
import { GEOMETRIES, map, unmap, walk, WRITE, type Geometry, type Stage2 } from '../../src/paging/index.js';
import type { PhysicalMemory } from '../../src/mmu/memory.js';
import { bumpAllocator, memory, MiB } from './helpers.js';

const GUEST_BASE = 32 * MiB;
const GUEST_SIZE = 8 * MiB;

/** Host tables mapping gPA [0, GUEST_SIZE) to hPA GUEST_BASE + gPA, 4 KiB pages. */
function hostSetup(host: Geometry): { mem: PhysicalMemory; hostRoot: number; stage2: Stage2 } {
  const mem = memory(64 * MiB);
  const alloc = bumpAllocator(48 * MiB);
  const hostRoot = alloc();
  map(host, mem, hostRoot, 0, GUEST_BASE, GUEST_SIZE, { write: true, user: true }, alloc);
  const stage2: Stage2 = (gpa, _use, access) => walk(host, mem, hostRoot, gpa, { access, user: true, trace: false });
  return { mem, hostRoot, stage2 };
}

/** Guest tables (in guest-physical terms) mapping gva 0x00401000 to gpa 0x00300000. */
function guestSetup(guest: Geometry, mem: PhysicalMemory): number {
  const alloc = bumpAllocator(0x100000);
  const window = mem.window(GUEST_BASE, GUEST_SIZE);
  const root = alloc();
  map(guest, window, root, 0x00401000, 0x00300000, 0x1000, { write: true, user: true }, alloc);
  return root;
}

describe('nested paging: the same walker as stage 1 and stage 2', () => {
  for (const [g, h, expected] of [
    ['four-level', 'four-level', 24],
    ['x86-32', 'x86-32', 8],
    ['x86-32', 'four-level', 14],
    ['sv32', 'x86-32', 8],
  ] as const) {
    it(`${g} over ${h}: a full miss makes (n+1)(m+1)-1 = ${expected} references, counted by the walks`, () => {
      const { mem, stage2 } = hostSetup(GEOMETRIES[h]);
      const root = guestSetup(GEOMETRIES[g], mem);
      const r = walk(GEOMETRIES[g], mem, root, 0x00401234, { stage2, user: true, physicalSize: GUEST_SIZE });
      expect(r.ok && [r.pa, r.stage1Pa]).toEqual([GUEST_BASE + 0x00300234, 0x00300234]);
      expect(r.refs).toBe(expected);
      expect(r.steps.every((s) => s.hostAddress === s.entryAddress + GUEST_BASE)).toBe(true);
    });
  }

  it('A/D land in the guest tables at their host addresses', () => {
    const guest = GEOMETRIES['x86-32'];
    const { mem, stage2 } = hostSetup(GEOMETRIES['four-level']);
    const root = guestSetup(guest, mem);
    const r = walk(guest, mem, root, 0x00401234, { stage2, access: WRITE, updateAD: true, physicalSize: GUEST_SIZE });
    expect(r.ok).toBe(true);
    const leaf = r.steps[1];
    expect(mem.read32(leaf.hostAddress) & 0x60).toBe(0x60);
    expect(mem.read32(r.steps[0].hostAddress) & 0x60).toBe(0x20);
  });

  it('a stage-2 fault is distinct from a guest fault and writes nothing', () => {
    const host = GEOMETRIES['four-level'];
    const guest = GEOMETRIES['x86-32'];
    const { mem, hostRoot, stage2 } = hostSetup(host);
    const root = guestSetup(guest, mem);
    const leafTable = walk(guest, mem, root, 0x00401234, { stage2, physicalSize: GUEST_SIZE }).steps[1].entryAddress;
    unmap(host, mem, hostRoot, leafTable - (leafTable % 4096), 4096);
    const before = mem.hash();
    const r = walk(guest, mem, root, 0x00401234, { stage2, access: WRITE, updateAD: true, physicalSize: GUEST_SIZE });
    expect(r.ok ? 'ok' : r.fault).toEqual({ kind: 'page', depth: 1, stage: 2, address: leafTable, inner: { kind: 'page', depth: 3, stage: 1 } });
    expect(mem.hash()).toBe(before);
    unmap(host, mem, hostRoot, 0x00300000, 4096);
    map(host, mem, hostRoot, leafTable - (leafTable % 4096), GUEST_BASE + leafTable - (leafTable % 4096), 4096, { write: true, user: true }, bumpAllocator(56 * MiB));
    const f = walk(guest, mem, root, 0x00401234, { stage2, physicalSize: GUEST_SIZE });
    expect(f.ok ? 'ok' : f.fault).toMatchObject({ kind: 'page', depth: 2, stage: 2, address: 0x00300234 });
  });

  it('the count is the walk\'s, not a formula: host large pages end each stage-2 walk early (4 + 5 x 1 = 9 for four-level over x86-32)', () => {
    const host = GEOMETRIES['x86-32'];
    const mem = memory(64 * MiB);
    const alloc = bumpAllocator(48 * MiB);
    const hostRoot = alloc();
    map(host, mem, hostRoot, 0, GUEST_BASE, GUEST_SIZE, { write: true, user: true, large: true }, alloc);
    const stage2: Stage2 = (gpa, _use, access) => walk(host, mem, hostRoot, gpa, { access, user: true, trace: false });
    const root = guestSetup(GEOMETRIES['four-level'], mem);
    const r = walk(GEOMETRIES['four-level'], mem, root, 0x00401234, { stage2, user: true, physicalSize: GUEST_SIZE });
    expect(r.ok && r.pa).toBe(GUEST_BASE + 0x00300234);
    expect(r.refs).toBe(9);
  });
});
