// The walker's kept blocks (walk.ts, ReadBus.wordsAt): a WalkState reused across walks reads
// entries from the words it kept, and must still see every change to memory in between — in
// place, through copy-on-write after an image, a frame allocated on first write, a page a
// physmap maps — and tell an observer every read once one is attached.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CYCLE_SOFTWARE, type BusObserver } from '../../src/mmu/bus.js';
import { PhysicalMemory } from '../../src/mmu/memory.js';
import { explicitPhysmap } from '../../src/mmu/physmap.js';
import { PhysmapMemory } from '../../src/mmu/physmap-memory.js';
import { GEOMETRIES, map, READ, walk, walkInto, WalkState, WRITE, type Geometry, type ReadBus, type WalkOptions } from '../../src/paging/index.js';
import { bumpAllocator, MiB } from './helpers.js';

const four = GEOMETRIES['four-level'];
const x86 = GEOMETRIES['x86-32'];
const tiny = GEOMETRIES['tiny'];
const VA = 0x00400000;
const RW = { write: true, user: true };

/** `pages` pages at VA mapped to 0x800000 in `mem` with tables from 0x100000; returns the root. */
function tables(g: Geometry, mem: PhysicalMemory, pages = 4): number {
  const alloc = bumpAllocator(0x100000);
  const root = alloc();
  map(g, mem, root, VA, 0x800000, pages * 4096, RW, alloc);
  return root;
}

/** What a reused state gives for `va`, next to what a fresh walk gives (`o` side-effect free). */
function both(s: WalkState, bus: ReadBus, root: number, va: number, o: WalkOptions) {
  walkInto(s, bus, root, va, o);
  return { reused: s.result(), fresh: walk(s.geometry, bus, root, va, { ...o, trace: false }) };
}

/** A bus observer counting reads and writes. */
function counter(): BusObserver & { reads: number; readBytes: number; writes: number } {
  return {
    cpu: undefined,
    cycle: CYCLE_SOFTWARE,
    reads: 0,
    readBytes: 0,
    writes: 0,
    access(_a, n, write) {
      if (write) this.writes++;
      else {
        this.reads++;
        this.readBytes += n;
      }
    },
    window: () => false,
  };
}

describe('walker: kept blocks stay coherent with memory', () => {
  it('sees an entry cleared in place, and rewritten', () => {
    const mem = new PhysicalMemory(16 * MiB);
    const root = tables(four, mem);
    const s = new WalkState(four);
    const o: WalkOptions = { access: READ, user: true };
    expect(both(s, mem, root, VA, o).reused.ok).toBe(true);
    const leaf = s.hostAddress[3];
    const lo = mem.read32(leaf);
    mem.write32(leaf, 0);
    const gone = both(s, mem, root, VA, o);
    expect(gone.reused).toEqual(gone.fresh);
    expect(gone.reused.ok).toBe(false);
    mem.write32(leaf, lo);
    expect(both(s, mem, root, VA, o).reused.ok).toBe(true);
  });

  it('sees writes made after an image (the frames are copied then) and a frame allocated on first write', () => {
    const mem = new PhysicalMemory(16 * MiB);
    const root = tables(x86, mem);
    const s = new WalkState(x86);
    const o: WalkOptions = { access: WRITE, user: true, updateAD: true };
    expect(walkInto(s, mem, root, VA, o)).toBe(true);
    const image = mem.image();
    mem.write32(s.hostAddress[1], 0);
    expect(walkInto(s, mem, root, VA, o)).toBe(false);
    expect(walkInto(s, image, root, VA, { access: READ, user: true })).toBe(true);
    // a root never written reads as zeros until its first write allocates its frame
    const other = 0x300000;
    expect(walkInto(s, mem, other, VA, o)).toBe(false);
    map(x86, mem, other, VA, 0x900000, 4096, RW, bumpAllocator(0x200000));
    const r = both(s, mem, other, VA, { access: WRITE, user: true });
    expect(r.reused).toEqual(r.fresh);
    expect(r.reused.ok && r.reused.pa).toBe(0x900000);
  });

  it('tells an observer attached between walks every entry read, and sees its A/D writes', () => {
    const mem = new PhysicalMemory(16 * MiB);
    const root = tables(four, mem);
    const s = new WalkState(four);
    const o: WalkOptions = { access: READ, user: true, updateAD: true };
    walkInto(s, mem, root, VA, o);
    walkInto(s, mem, root, VA + 4096, o);
    const bus = counter();
    mem.store.observe(bus);
    expect(walkInto(s, mem, root, VA, o)).toBe(true);
    expect(bus.readBytes).toBe(4 * 8);
    expect(bus.writes).toBe(0);
    mem.store.observe(undefined);
    const before = bus.reads;
    walkInto(s, mem, root, VA, o);
    expect(bus.reads).toBe(before);
  });

  it('reads a window at an offset that is not a frame multiple, and a physmap mapping pages on demand', () => {
    const host = new PhysicalMemory(32 * MiB);
    const view = host.window(0x800, 16 * MiB);
    const root = tables(four, view);
    const s = new WalkState(four);
    const r = both(s, view, root, VA + 4096, { access: READ, user: true });
    expect(r.reused).toEqual(r.fresh);
    expect(r.reused.ok && r.reused.pa).toBe(0x801000);

    const made = explicitPhysmap({ guestBytes: 16 * MiB, pageBytes: 4096, hostBytes: host.size, pool: [{ hpa: 0, size: 16 * MiB }] });
    if (!made.ok) throw new Error('physmap');
    const guest = new PhysmapMemory(host, made.physmap);
    const t = new WalkState(x86);
    expect(walkInto(t, guest, 0x100000, VA, { access: READ })).toBe(false);
    const groot = tables(x86, guest);
    expect(groot).toBe(0x100000);
    const g = both(t, guest, groot, VA, { access: READ });
    expect(g.reused).toEqual(g.fresh);
    expect(g.reused.ok).toBe(true);
  });

  it('a walk whose upper levels the memo serves sets A/D in its own entries, even after a walk down another path failed', () => {
    const mem = new PhysicalMemory(16 * MiB);
    const root = tables(four, mem);
    const s = new WalkState(four);
    const read: WalkOptions = { access: READ, user: true, updateAD: true };
    const write: WalkOptions = { access: WRITE, user: true, updateAD: true };
    const step = (va: number, o: WalkOptions) => {
      const copy = new PhysicalMemory(mem.size);
      copy.copyFrom(mem);
      walkInto(s, mem, root, va, o);
      expect(s.result()).toEqual(walk(four, copy, root, va, { ...o, trace: false }));
      expect(mem.sameContents(copy)).toBe(true);
    };
    step(VA, read); // sets A in the upper entries
    step(VA + 0x1000, read); // keeps the upper levels, A set, as the memo
    step(VA + 2 ** 30, read); // another depth-1 entry, not present: fails there
    step(VA + 0x2000, write); // the memo serves the upper levels; A and D go into this path's leaf
  });

  it('agrees with fresh walks under random table writes and images (property)', () => {
    const geometries = [four, x86, tiny];
    fc.assert(
      fc.property(
        fc.constantFrom(...geometries),
        fc.array(
          fc.oneof(
            fc.record({ op: fc.constant('walk' as const), page: fc.nat(7), access: fc.constantFrom(READ, WRITE) }),
            fc.record({ op: fc.constant('poke' as const), entry: fc.nat(63), value: fc.integer() }),
            fc.record({ op: fc.constant('image' as const) }),
          ),
          { maxLength: 40 },
        ),
        (g, ops) => {
          const mem = new PhysicalMemory(16 * MiB);
          const small = g === tiny;
          const page = 2 ** g.offsetBits;
          const alloc = bumpAllocator(small ? 0x400 : 0x100000, page);
          const root = alloc();
          const base = small ? 0x100 : VA;
          map(g, mem, root, base, small ? 0x800 : 0x800000, 8 * page, RW, alloc);
          const s = new WalkState(g);
          const tablesEnd = alloc();
          const images = [];
          for (const op of ops) {
            if (op.op === 'image') images.push(mem.image());
            else if (op.op === 'poke') {
              const at = root + ((op.entry * g.entry.bytes) % (tablesEnd - root));
              if (g.entry.bytes === 1) mem.write8(at, op.value);
              else mem.write32(at - (at % 4), op.value);
            } else {
              const o: WalkOptions = { access: op.access, user: true, updateAD: true };
              const copy = new PhysicalMemory(mem.size);
              copy.copyFrom(mem);
              walkInto(s, mem, root, base + op.page * page, o);
              const fresh = walk(g, copy, root, base + op.page * page, { ...o, trace: false });
              expect(s.result()).toEqual(fresh);
              expect(mem.sameContents(copy)).toBe(true);
            }
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
