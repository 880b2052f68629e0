import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FRAME_SIZE, MAX_MEMORY, mergeRanges, PhysicalMemory, WriteLog, type MemoryImage } from '../../src/mmu/memory.js';
import { boot } from '../isa/helpers.js';

const SEED = { seed: 0x5eed, numRuns: 200 };

/** A standalone memory of `size` bytes holding `bytes` at 0. */
function memoryWith(bytes: ArrayLike<number>, size = bytes.length): PhysicalMemory {
  const m = new PhysicalMemory(size);
  m.writeBytes(0, bytes);
  return m;
}

describe('PhysicalMemory: bytes and words', () => {
  it('stores words little-endian and reads them back byte by byte', () => {
    const m = new PhysicalMemory(0x2000);
    m.write32(0x100, 0x11223344);
    expect([0, 1, 2, 3].map((i) => m.read8(0x100 + i))).toEqual([0x44, 0x33, 0x22, 0x11]);
    m.write8(0x105, 0xab);
    expect(m.read32(0x104) >>> 0).toBe(0x0000ab00);
    m.write32(0x108, -2);
    expect(m.read32(0x108)).toBe(-2);
    expect(m.read8(0x10b)).toBe(0xff);
  });

  it('write8 keeps only the low byte and leaves the neighbours alone', () => {
    const m = new PhysicalMemory(0x1000);
    m.write32(0x10, 0x01020304);
    m.write8(0x12, 0x1ff);
    expect(m.read32(0x10) >>> 0).toBe(0x01ff0304);
  });

  it('an unaligned word across a 4 KiB frame boundary is split over both frames', () => {
    const m = new PhysicalMemory(0x3000);
    m.write32(0xffe, 0xaabbccdd);
    expect([0xffe, 0xfff, 0x1000, 0x1001].map((a) => m.read8(a))).toEqual([0xdd, 0xcc, 0xbb, 0xaa]);
    expect(m.read32(0xffe) >>> 0).toBe(0xaabbccdd);
    expect(m.read32(0xffc) >>> 0).toBe(0xccdd0000);
    expect(m.read32(0x1000) >>> 0).toBe(0x0000aabb);
    expect(m.framesAllocated).toBe(2);
    for (const a of [0xffd, 0xfff]) {
      m.write32(a, 0x01020304);
      expect(m.read32(a)).toBe(0x01020304);
    }
  });

  it('refuses sizes outside [0, 4 GiB] and writeBytes that do not fit', () => {
    expect(() => new PhysicalMemory(MAX_MEMORY + 1)).toThrow(RangeError);
    expect(() => new PhysicalMemory(-1)).toThrow(RangeError);
    expect(() => new PhysicalMemory(1.5)).toThrow(RangeError);
    const m = new PhysicalMemory(16);
    expect(() => m.writeBytes(14, [1, 2, 3])).toThrow(/writeBytes/);
    expect(() => m.writeBytes(-1, [1])).toThrow(/writeBytes/);
    expect(m.readBytes(14, 8)).toEqual(new Uint8Array(2));
  });
});

describe('PhysicalMemory: lazy allocation', () => {
  it('reads of a 4 GiB memory allocate nothing and return zeros', () => {
    const m = new PhysicalMemory(MAX_MEMORY);
    for (const a of [0, 0x1234, 0x7fff_fffc, 0x8000_0000, 0xffff_fffc]) expect(m.read32(a)).toBe(0);
    expect(m.read8(0xffff_ffff)).toBe(0);
    expect(m.hash()).toBe(new PhysicalMemory(16).hash());
    expect(m.framesAllocated).toBe(0);
  });

  it('a 4 GiB machine whose program touches three pages allocates exactly three frames', () => {
    // code and the trap area share page 0; the program stores into two more pages and only
    // reads elsewhere (including the last frame of the 4 GiB)
    const m = boot(
      `
        .org 0
        .psw pc=handler, mode=s, base=0, limit=MEM
        .org 0x80
start:  li   r1, 0x01020304
        st   r1, 0x10000
        stb  r1, 0x80000003
        ld   r2, 0x20000
        ld   r3, 0xfffff000
        ldb  r4, 0x7ffffff0
        halt
handler: halt
`,
      { memorySize: MAX_MEMORY },
    );
    expect(m.mem.framesAllocated).toBe(1);
    expect(m.run(100)).toBe('halted');
    expect(m.machineStatus).toBe('halted');
    expect(m.mem.read32(0x10000)).toBe(0x01020304);
    expect(m.mem.read8(0x80000003)).toBe(4);
    expect(m.mem.framesAllocated).toBe(3);
    expect(m.mem.store.framesCopied).toBe(0);
  });
});

describe('PhysicalMemory: images', () => {
  it('an image never changes; later writes copy each touched frame once, and only those', () => {
    const m = new PhysicalMemory(0x10000);
    for (const f of [0, 1, 2, 5]) m.write32(f * FRAME_SIZE + 8, f + 100);
    const img = m.image();
    const before = img.hash();
    expect(m.store.framesCopied).toBe(0);
    m.write32(8, 7);
    m.write32(12, 8);
    m.write8(0x1fff, 9);
    m.write32(FRAME_SIZE + 8, 10);
    expect(m.store.framesCopied).toBe(2); // frames 0 and 1, once each
    m.write32(3 * FRAME_SIZE, 1); // absent at image time: allocated, not copied
    expect(m.store.framesCopied).toBe(2);
    expect(m.framesAllocated).toBe(5);
    expect(img.read32(8)).toBe(100);
    expect(img.read32(12)).toBe(0);
    expect(img.read8(0x1fff)).toBe(0);
    expect(img.read32(FRAME_SIZE + 8)).toBe(101);
    expect(img.read32(3 * FRAME_SIZE)).toBe(0);
    expect(img.hash()).toBe(before);
    expect(m.read32(8)).toBe(7);
  });

  it('a second image after more writes copies again only the frames written since', () => {
    const m = new PhysicalMemory(0x4000);
    m.write32(0, 1);
    m.write32(FRAME_SIZE, 2);
    const a = m.image();
    m.write32(0, 3);
    const b = m.image();
    m.write32(0, 4);
    m.write32(4, 5);
    expect(m.store.framesCopied).toBe(2);
    expect([a.read32(0), b.read32(0), m.read32(0)]).toEqual([1, 3, 4]);
    expect(a.read32(FRAME_SIZE)).toBe(2);
    expect(b.read32(4)).toBe(0);
  });

  it('thaw gives a live memory starting from the image; writing it changes neither the image nor the original', () => {
    const m = new PhysicalMemory(0x3000);
    m.write32(0x1000, 42);
    const img = m.image();
    const t = img.thaw();
    t.write32(0x1000, 43);
    t.write32(0x2000, 44);
    m.write32(0x1000, 45);
    expect([img.read32(0x1000), t.read32(0x1000), m.read32(0x1000)]).toEqual([42, 43, 45]);
    expect([img.read32(0x2000), m.read32(0x2000)]).toEqual([0, 0]);
    const t2 = img.thaw();
    expect(t2.read32(0x1000)).toBe(42);
  });
});

describe('PhysicalMemory: windows', () => {
  it('a window shares frames with its backing memory in both directions', () => {
    const p = new PhysicalMemory(0x8000);
    const w = p.window(0x2000, 0x3000);
    w.write32(0, 0x1234);
    w.write8(0x2fff, 0x56);
    expect(p.read32(0x2000)).toBe(0x1234);
    expect(p.read8(0x4fff)).toBe(0x56);
    p.write32(0x3000, 99);
    expect(w.read32(0x1000)).toBe(99);
    expect(w.framesAllocated).toBe(p.framesAllocated);
    expect(w.store).toBe(p.store);
  });

  it('is bounded: it cannot be opened past either end of its parent', () => {
    const p = new PhysicalMemory(0x4000);
    expect(() => p.window(0x3000, 0x2000)).toThrow(RangeError);
    const w = p.window(0x2000, 0x1000);
    expect(() => w.window(0x800, 0x801)).toThrow(RangeError);
    expect(() => w.window(-0x1000, 0x100)).toThrow(RangeError);
    expect(() => w.writeBytes(0xfff, [1, 2])).toThrow(RangeError);
    expect(w.readBytes(0xffe, 16).length).toBe(2);
  });

  it('an image of a window sees the window, and stays fixed while the parent is written', () => {
    const p = new PhysicalMemory(0x4000);
    const w = p.window(0x1000, 0x2000);
    p.write32(0x1004, 5);
    const img = w.image();
    p.write32(0x1004, 6);
    w.write32(8, 7);
    expect([img.size, img.read32(4), img.read32(8)]).toEqual([0x2000, 5, 0]);
    expect(w.read32(4)).toBe(6);
  });
});

describe('hash and firstDifference', () => {
  it('firstDifferenceIn is the first differing byte of [lo, hi), whatever the views, offsets (frame-aligned, word-aligned, odd), shared frames and range (against a byte-by-byte scan)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(0, 4, FRAME_SIZE, 3),
        fc.constantFrom(0, 4, FRAME_SIZE, 2),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 3 * FRAME_SIZE - 1 }), fc.integer({ min: 0, max: 255 }), fc.boolean()), { maxLength: 12 }),
        fc.integer({ min: 0, max: 3 * FRAME_SIZE }),
        fc.integer({ min: 0, max: 3 * FRAME_SIZE }),
        (offA, offB, writes, x, y) => {
          const size = 3 * FRAME_SIZE;
          const store = new PhysicalMemory(8 * FRAME_SIZE);
          store.write32(0, 7);
          const image = store.image();
          const a = store.window(offA, size);
          const b = new PhysicalMemory(8 * FRAME_SIZE);
          b.writeBytes(0, image.readBytes(0, 8 * FRAME_SIZE));
          const bv = b.window(offB, size);
          for (const [at, v, onA] of writes) (onA ? a : bv).write8(at, v);
          const [lo, hi] = x <= y ? [x, y] : [y, x];
          let expected = -1;
          for (let pa = lo; pa < hi; pa++) if (a.read8(pa) !== bv.read8(pa)) { expected = pa; break; }
          expect(a.firstDifferenceIn(bv, lo, hi)).toBe(expected);
          expect(a.firstDifferenceIn(a, lo, hi)).toBe(-1); // every frame shared
        },
      ),
      SEED,
    );
  });

  it('hash is content-based: absent frames and allocated zero frames hash equal', () => {
    const a = new PhysicalMemory(0x4000);
    const b = new PhysicalMemory(0x4000);
    b.write32(0x1000, 0);
    b.write32(0x2000, 5);
    b.write32(0x2000, 0);
    expect(b.framesAllocated).toBe(2);
    expect(b.hash()).toBe(a.hash());
    a.write32(0x3000, 1);
    expect(a.hash()).not.toBe(b.hash());
    b.write8(0x3000, 1);
    expect(a.hash()).toBe(b.hash());
  });

  it('hash depends on where a value is, not only which values there are', () => {
    const a = new PhysicalMemory(0x2000);
    const b = new PhysicalMemory(0x2000);
    a.write32(0x10, 1);
    b.write32(0x14, 1);
    expect(a.hash()).not.toBe(b.hash());
  });

  it('hash sees every byte of a view whose size or offset is not a multiple of 4', () => {
    const odd = new PhysicalMemory(7);
    const h = odd.hash();
    odd.write8(6, 1);
    expect(odd.hash()).not.toBe(h);

    const p = new PhysicalMemory(0x3000);
    const w = p.window(2, 0x2000);
    const hashes = new Set([w.hash()]);
    for (const a of [0xffc, 0xffd, 0xffe, 0xfff, 0x1fff]) {
      w.write8(a, 0x40 + (a & 3));
      hashes.add(w.hash());
      w.write8(a, 0);
    }
    expect(hashes.size).toBe(6);
  });

  it('a window hashes like a standalone memory with the same bytes, whatever its offset', () => {
    const bytes = Array.from({ length: 0x1800 }, (_, i) => (i * 7 + 3) & 0xff);
    const alone = memoryWith(bytes);
    for (const offset of [0, 1, 2, 3, 0x1000, 0xffd]) {
      const p = new PhysicalMemory(0x4000);
      p.writeBytes(offset, bytes);
      expect(p.window(offset, bytes.length).hash(), `offset ${offset}`).toBe(alone.hash());
    }
  });

  it('firstDifference finds the lowest differing byte, or -1', () => {
    const a = new PhysicalMemory(0x4000);
    const b = new PhysicalMemory(0x4000);
    expect(a.firstDifference(b)).toBe(-1);
    b.write8(0x3001, 9);
    b.write8(0x1fff, 9);
    expect(a.firstDifference(b)).toBe(0x1fff);
    expect(b.firstDifference(a)).toBe(0x1fff);
    a.write8(0x1fff, 9);
    expect(a.firstDifference(b)).toBe(0x3001);
    expect(a.sameContents(b)).toBe(false);
    a.write8(0x3001, 9);
    expect(a.sameContents(b)).toBe(true);
  });

  it('firstDifference compares images with live memory and windows at unaligned offsets', () => {
    const p = new PhysicalMemory(0x4000);
    p.write32(0x1000, 1);
    const img = p.image();
    expect(img.firstDifference(p)).toBe(-1); // every frame shared
    p.write8(0x1002, 7);
    expect(img.firstDifference(p)).toBe(0x1002);
    expect(p.firstDifference(img)).toBe(0x1002);

    const q = new PhysicalMemory(0x4000);
    q.writeBytes(3, p.readBytes(0, 0x2000));
    const w = q.window(3, 0x2000);
    const pw = p.window(0, 0x2000);
    expect(w.firstDifference(pw)).toBe(-1);
    q.write8(3 + 0xffe, 1);
    expect(w.firstDifference(pw)).toBe(0xffe);
    expect(pw.firstDifference(w)).toBe(0xffe);
  });
});

// ---- properties ----

type MemOp = { kind: 'w8' | 'w32'; addr: number; value: number } | { kind: 'image' };

const SIZE = 4 * FRAME_SIZE;
const addrArb = fc.oneof(
  fc.integer({ min: 0, max: SIZE - 4 }),
  fc.integer({ min: 1, max: 3 }).chain((f) => fc.integer({ min: f * FRAME_SIZE - 4, max: f * FRAME_SIZE + 1 })),
);
const opArb: fc.Arbitrary<MemOp> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constantFrom('w8' as const, 'w32' as const), addr: addrArb, value: fc.integer() }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'image' as const }) },
);

function apply(m: PhysicalMemory, model: Uint8Array, op: MemOp): void {
  if (op.kind === 'w8') {
    m.write8(op.addr, op.value);
    model[op.addr] = op.value & 0xff;
  } else if (op.kind === 'w32') {
    m.write32(op.addr, op.value);
    for (let i = 0; i < 4; i++) model[op.addr + i] = (op.value >>> (8 * i)) & 0xff;
  }
}

describe('memory properties', () => {
  it('reads agree with a byte-array model under random writes (any alignment)', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 60 }), fc.array(addrArb, { maxLength: 20 }), (ops, probes) => {
        const m = new PhysicalMemory(SIZE);
        const model = new Uint8Array(SIZE);
        for (const op of ops) apply(m, model, op);
        for (const a of probes) {
          const expected = (model[a] | (model[a + 1] << 8) | (model[a + 2] << 16) | (model[a + 3] << 24)) | 0;
          expect(m.read32(a)).toBe(expected);
          expect(m.read8(a)).toBe(model[a]);
        }
        expect(m.hash()).toBe(memoryWith(model).hash());
      }),
      SEED,
    );
  });

  it('every image still hashes, and reads, as when it was taken', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 80 }), (ops) => {
        const m = new PhysicalMemory(SIZE);
        const model = new Uint8Array(SIZE);
        const taken: { img: MemoryImage; hash: string; bytes: Uint8Array }[] = [];
        let writes = 0;
        for (const op of ops) {
          if (op.kind === 'image') {
            const img = m.image();
            taken.push({ img, hash: img.hash(), bytes: model.slice() });
          } else {
            apply(m, model, op);
            writes++;
          }
        }
        for (const t of taken) {
          expect(t.img.hash()).toBe(t.hash);
          expect(t.hash).toBe(memoryWith(t.bytes).hash());
          expect(t.img.firstDifference(memoryWith(t.bytes))).toBe(-1);
        }
        // copy-on-write: never more copies than writes, never a copy without an image
        expect(m.store.framesCopied).toBeLessThanOrEqual(taken.length === 0 ? 0 : writes * 2);
      }),
      SEED,
    );
  });
});

describe('frame slots that grow', () => {
  it('words at frames anywhere in 4 GiB, with images between the writes, read back as written, and every image as it was taken', () => {
    // a leaf starts with 16 frame slots and the directory with 1 leaf slot: these writes make both grow, in any order
    const frameArb = fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 2 ** 20 - 1 }));
    const stepArb = fc.oneof(fc.record({ frame: frameArb, word: fc.integer({ min: 0, max: FRAME_SIZE / 4 - 1 }), value: fc.integer() }), fc.constant('image' as const));
    fc.assert(
      fc.property(fc.array(stepArb, { maxLength: 40 }), (steps) => {
        const m = new PhysicalMemory(MAX_MEMORY);
        const model = new Map<number, number>();
        const taken: { img: MemoryImage; model: Map<number, number> }[] = [];
        for (const s of steps) {
          if (s === 'image') taken.push({ img: m.image(), model: new Map(model) });
          else {
            const a = s.frame * FRAME_SIZE + s.word * 4;
            m.write32(a, s.value);
            model.set(a, s.value | 0);
          }
        }
        for (const [a, v] of model) expect(m.read32(a)).toBe(v);
        for (const t of taken) for (const [a] of model) expect(t.img.thaw().read32(a)).toBe(t.model.get(a) ?? 0);
        expect(m.store.framesAllocated).toBe(new Set([...model.keys()].map((a) => Math.floor(a / FRAME_SIZE))).size);
      }),
      { seed: 0x6e0, numRuns: 100 },
    );
  });
});

describe('copyFrom: loading one memory from another', () => {
  it('copies every byte of a 4 GiB image that touches three frames, at once (cost: the frames, not the size)', () => {
    const src = new PhysicalMemory(MAX_MEMORY);
    src.write32(0, 0x11);
    src.write32(0x8000_0000, 0x22); // past 2 GiB: a signed mask would lose it
    src.write8(MAX_MEMORY - 1, 0x33);
    const img = src.image();
    const dst = new PhysicalMemory(MAX_MEMORY);
    const t0 = performance.now();
    dst.copyFrom(img);
    expect(performance.now() - t0).toBeLessThan(50);
    expect([dst.read32(0), dst.read32(0x8000_0000), dst.read8(MAX_MEMORY - 1)]).toEqual([0x11, 0x22, 0x33]);
    expect(dst.framesAllocated).toBe(3);
    expect(dst.firstDifference(img)).toBe(-1);
  });

  it('copies the last bytes of a memory whose size is not a multiple of 4, and windows at any offset', () => {
    const src = new PhysicalMemory(0x1002);
    src.writeBytes(0xffc, [1, 2, 3, 4, 5, 6]);
    const dst = new PhysicalMemory(0x1002);
    dst.copyFrom(src.image());
    expect(Array.from(dst.readBytes(0xffc, 6))).toEqual([1, 2, 3, 4, 5, 6]);
    const host = new PhysicalMemory(0x4000);
    const w = host.window(0x1003, 0x1002);
    w.copyFrom(src);
    expect(Array.from(host.readBytes(0x1003 + 0xffc, 6))).toEqual([1, 2, 3, 4, 5, 6]);
    expect(w.firstDifference(src)).toBe(-1);
  });
});

describe('WriteLog: the frames written since the last reset', () => {
  it('names every frame written (through the CPU\'s write window too) and keeps the contents it is asked for', () => {
    const m = boot(`
        .org 0x80
start:  li   r1, 7
        st   r1, 0x2000
        st   r1, 0x2004
        st   r1, 0x3000
        halt
`);
    m.mem.write32(0x2000, 5);
    const log = new WriteLog(m.mem.store, (fn) => fn === 2);
    m.run(3); // li and the first two stores: the second goes through the write window
    expect([...log.written]).toEqual([2]);
    expect(log.before.get(2)![0]).toBe(5);
    log.reset();
    m.run(10);
    expect([...log.written]).toEqual([3]);
    expect(log.before.size).toBe(0);
    log.close();
    m.mem.write32(0x4000, 1);
    expect([...log.written]).toEqual([3]);
  });

  it('sees a write through a window opened before the reset', () => {
    const m = boot(`
        .org 0x80
start:  li   r1, 7
loop:   st   r1, 0x2000
        jmp  loop
`);
    const log = new WriteLog(m.mem.store);
    m.run(4);
    log.reset();
    expect(log.written.size).toBe(0);
    m.run(2);
    expect([...log.written]).toEqual([2]);
  });
});

describe('views: present ranges, store addresses, host ranges, trackers', () => {
  it('presentRangesIn clips the present frames to a range of view addresses', () => {
    const m = new PhysicalMemory(0x10000).window(0x800, 0x8000);
    for (const a of [0x100, 0x2000, 0x6000]) m.write8(a, 1);
    expect(m.presentRanges()).toEqual([
      [0, 0x800],
      [0x1800, 0x2800],
      [0x5800, 0x6800],
    ]);
    expect(m.presentRangesIn(0x2000, 0x6000)).toEqual([
      [0x2000, 0x2800],
      [0x5800, 0x6000],
    ]);
    expect(m.presentRangesIn(0x3000, 0x4000)).toEqual([]);
  });

  it('a linear memory: store address pa + offset, one linear block, one host range', () => {
    const w = new PhysicalMemory(0x10000).window(0x3000, 0x2000);
    expect(w.linear).toBe(true);
    expect(w.storeAddress(0x10)).toBe(0x3010);
    expect(w.linearBlock).toBe(MAX_MEMORY);
    expect(w.hostRanges()).toEqual([[0x3000, 0x5000]]);
  });

  it('frameAt names the shared frame object when the view is frame-aligned', () => {
    const m = new PhysicalMemory(0x4000);
    m.write32(0x1000, 1);
    const image = m.image();
    expect(image.frameAt(0x1000)).toBe(m.frameAt(0x1000));
    m.write32(0x1000, 2);
    expect(image.frameAt(0x1000)).not.toBe(m.frameAt(0x1000));
    expect(m.window(4, 0x1000).frameAt(0)).toBeUndefined();
  });

  it('trackWrites on a plain memory: the frames written, as ranges, clipped to the memory', () => {
    const m = new PhysicalMemory(0x2800);
    const t = m.trackWrites((fn) => fn === 2);
    m.write32(0x2400, 1);
    m.write8(0x10, 1);
    expect(t.written()).toEqual([
      [0, 0x1000],
      [0x2000, 0x2800],
    ]);
    expect(t.hostFrames()).toEqual([0, 2]);
    expect(t.before(2)![0x100]).toBe(0);
    expect(t.before(0)).toBeUndefined();
    t.close();
  });

  it('mergeRanges: union, ascending, touching ranges joined, empty ones dropped', () => {
    expect(
      mergeRanges([
        [10, 20],
        [0, 5],
        [5, 8],
        [15, 30],
        [40, 40],
      ]),
    ).toEqual([
      [0, 8],
      [10, 30],
    ]);
  });
});
