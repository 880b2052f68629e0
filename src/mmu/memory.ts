// Memories: views of frames (frames.ts) by address. A MemoryImage is a frozen view (a frame
// directory whose epoch has closed: it never changes, and taking one costs O(1)); a
// PhysicalMemory is a live one, writable, and `image()` freezes it.
//
// A PhysicalMemory may be a window (offset, size) onto a FrameStore shared with others: the
// VMM gives each guest's interpreter a window onto the host's memory at `addr0`. Such a memory
// is `linear`: view address pa lives at store address pa + offset. A guest-physical memory over
// a physmap (physmap-memory.ts) is a PhysicalMemory too, but not linear: every access goes
// through its page map. `trackWrites()` reports what changed in any of them in its own addresses.
// A live memory tells every access to its store's bus observer, when there is one (bus.ts).

import { Directory, FRAME_BITS, FRAME_SIZE, FrameStore, MAX_MEMORY, directoryOf, frameIn, StoreTracker, type WriteTracker } from './frames.js';
import { WORD_BLOCK_BITS } from '../paging/bus.js';

// a block of ReadBus.wordsAt is one frame
if (WORD_BLOCK_BITS !== FRAME_BITS) throw new Error('memory: ReadBus word blocks must be frames');

export { FRAME_BITS, FRAME_SIZE, FrameStore, MAX_MEMORY, mergeRanges, StoreTracker, WriteLog, type WriteTracker } from './frames.js';

/** Read access shared by live memory and frozen images. `size` bounds every address. */
abstract class MemoryReader {
  constructor(
    readonly size: number,
    readonly offset: number,
  ) {}
  protected abstract frame(fn: number): Int32Array;
  /** The frame directory the view reads (live: the store's current one). */
  protected abstract directory(): Directory;

  /** Reads the little-endian word at `pa` (any alignment). Caller guarantees pa + 4 <= size. */
  read32(pa: number): number {
    return this.wordAt(pa + this.offset);
  }

  /** Reads the byte at `pa`. Caller guarantees pa < size. */
  read8(pa: number): number {
    return this.byteAt(pa + this.offset);
  }

  /** The word at store address `a` (any alignment). */
  protected wordAt(a: number): number {
    if ((a & 3) === 0) return this.frame(a >>> FRAME_BITS)[(a & (FRAME_SIZE - 1)) >> 2];
    return (this.byteAt(a) | (this.byteAt(a + 1) << 8) | (this.byteAt(a + 2) << 16) | (this.byteAt(a + 3) << 24)) | 0;
  }

  /** The byte at store address `a`. */
  protected byteAt(a: number): number {
    const w = this.frame(a >>> FRAME_BITS)[(a & (FRAME_SIZE - 1)) >> 2];
    return (w >>> ((a & 3) << 3)) & 0xff;
  }

  /** Copies `n` bytes starting at `pa` (clipped to size). */
  readBytes(pa: number, n: number): Uint8Array {
    const end = Math.min(this.size, pa + n);
    const out = new Uint8Array(Math.max(0, end - pa));
    for (let i = 0; i < out.length; i++) out[i] = this.read8(pa + i);
    return out;
  }

  /**
   * Content hash of the view's bytes (FNV-1a over non-zero words with their addresses).
   * Equal contents hash equal whether or not zero frames were ever allocated, and whatever
   * the view's layout in its store (offset, physmap).
   */
  hash(): string {
    let h1 = 0x811c9dc5 | 0;
    let h2 = 0x01000193 | 0;
    // words are taken at view addresses 0, 4, 8, ...; `next` is the first word not hashed yet
    // (a word may span two present ranges)
    let next = 0;
    for (const [lo, hi] of this.presentRanges()) {
      for (let pa = Math.max(lo - (lo % 4), next); pa < hi; pa += 4) {
        next = pa + 4;
        const w = pa + 4 <= this.size ? this.read32(pa) : this.readTail(pa);
        if (w === 0) continue;
        h1 = Math.imul(h1 ^ pa, 0x01000193) ^ w;
        h1 = Math.imul(h1, 0x01000193);
        h2 = Math.imul(h2 ^ w, 0x5bd1e995) ^ pa;
        h2 = Math.imul(h2 ^ (h2 >>> 15), 0x85ebca6b);
      }
    }
    return (h1 >>> 0).toString(16).padStart(8, '0') + (h2 >>> 0).toString(16).padStart(8, '0');
  }

  /** The last, partial word of a view whose size is not a multiple of 4 (little-endian). */
  private readTail(pa: number): number {
    let w = 0;
    for (let i = 0; pa + i < this.size; i++) w |= this.read8(pa + i) << (8 * i);
    return w;
  }

  /** Whether every byte equal between two views of the same size (compared word by word). */
  sameContents(other: MemoryReader): boolean {
    if (other.size !== this.size) return false;
    return this.firstDifference(other) === -1;
  }

  /**
   * The byte ranges [lo, hi) of this view (view addresses, ascending, disjoint, clipped to the
   * view) that lie in frames the backing store has allocated; everything else reads as zero.
   * Cost: the frames present in the view's span, not its size.
   */
  presentRanges(): [number, number][] {
    return this.presentRangesIn(0, this.size);
  }

  /** presentRanges() clipped to the view addresses [lo, hi). */
  presentRangesIn(lo: number, hi: number): [number, number][] {
    const from = Math.max(lo, 0);
    const to = Math.min(hi, this.size);
    if (from >= to) return [];
    const first = Math.floor((this.offset + from) / FRAME_SIZE);
    const last = Math.floor((this.offset + to - 1) / FRAME_SIZE);
    return FrameStore.presentFrames(this.directory(), first, last).map((fn) => [Math.max(fn * FRAME_SIZE - this.offset, from), Math.min((fn + 1) * FRAME_SIZE - this.offset, to)]);
  }

  /**
   * The frame object holding view bytes [pa, pa + FRAME_SIZE) (pa a multiple of FRAME_SIZE)
   * when the view maps them onto exactly one frame (the shared zero frame where none is
   * allocated), else undefined. Two views showing the same frame object there hold the same bytes.
   */
  frameAt(pa: number): Int32Array | undefined {
    if ((this.offset & (FRAME_SIZE - 1)) !== 0) return undefined;
    return this.frame((pa + this.offset) >>> FRAME_BITS);
  }

  /**
   * ReadBus.wordsAt: the frame holding view address `pa` (see frameAt), or undefined. Valid
   * while `wordsVersion` is unchanged.
   */
  wordsAt(pa: number): Int32Array | undefined {
    return this.frameAt(pa - (pa & (FRAME_SIZE - 1)));
  }

  /** ReadBus.wordsVersion (see wordsAt). */
  abstract get wordsVersion(): number;

  /** The lowest address where the two views differ, or -1. Frames shared by both are skipped. */
  firstDifference(other: MemoryReader): number {
    const frames = new Set<number>();
    for (const v of [this, other]) {
      for (const [lo, hi] of v.presentRanges()) {
        for (let f = Math.floor(lo / FRAME_SIZE); f * FRAME_SIZE < Math.min(hi, this.size); f++) frames.add(f);
      }
    }
    for (const f of [...frames].sort((a, b) => a - b)) {
      const lo = f * FRAME_SIZE;
      const hi = Math.min(this.size, lo + FRAME_SIZE);
      const mine = this.frameAt(lo);
      if (mine !== undefined && mine === other.frameAt(lo)) continue;
      const at = this.firstDifferenceIn(other, lo, hi);
      if (at >= 0) return at;
    }
    return -1;
  }

  /**
   * The first address in [lo, hi) (view addresses, both views at least hi bytes) where the two
   * views differ, or -1; compares word by word where both views are 4-aligned there.
   */
  firstDifferenceIn(other: MemoryReader, lo: number, hi: number): number {
    let pa = lo;
    if ((((lo + this.offset) | (lo + other.offset)) & 3) === 0) pa = this.firstWordDifference(other, pa, hi);
    for (; pa < hi; pa++) if (this.read8(pa) !== other.read8(pa)) return pa;
    return -1;
  }

  /**
   * From `pa` (4-aligned in both stores): the address of the first word in [pa, hi) that differs,
   * or where the whole words end. Where both views map a whole frame (frameAt) and `pa` is
   * 4-aligned in the views too, a frame's words are compared in the frames themselves (the same
   * frame: skipped); otherwise word by word through read32.
   */
  private firstWordDifference(other: MemoryReader, pa: number, hi: number): number {
    if ((pa & 3) !== 0) {
      for (; pa + 4 <= hi; pa += 4) if (this.read32(pa) !== other.read32(pa)) return pa;
      return pa;
    }
    while (pa + 4 <= hi) {
      const base = pa - (pa & (FRAME_SIZE - 1));
      const stop = Math.min(hi, base + FRAME_SIZE);
      const a = this.frameAt(base);
      const b = other.frameAt(base);
      if (a === undefined || b === undefined) {
        for (; pa + 4 <= stop; pa += 4) if (this.read32(pa) !== other.read32(pa)) return pa;
      } else {
        const words = (stop - base) >> 2;
        if (a !== b) for (let i = (pa - base) >> 2; i < words; i++) if (a[i] !== b[i]) return base + 4 * i;
        pa = base + 4 * words;
      }
      if (stop < base + FRAME_SIZE) break;
    }
    return pa;
  }
}

/** A frozen view of memory: never changes, shares frames with the memory it came from. */
export class MemoryImage extends MemoryReader {
  constructor(
    private readonly dir: Directory,
    size: number,
    offset: number,
  ) {
    super(size, offset);
  }
  protected frame(fn: number): Int32Array {
    return frameIn(this.dir, fn);
  }
  protected directory(): Directory {
    return this.dir;
  }
  /** A frozen view never changes. */
  get wordsVersion(): number {
    return 0;
  }
  /**
   * A live memory whose initial contents are this image (the image itself stays unchanged),
   * optionally larger than the image (the extra bytes read as zero).
   */
  thaw(size = this.size): PhysicalMemory {
    const store = new FrameStore(this.dir);
    store.epoch = this.dir.epoch + 1;
    return new PhysicalMemory(size, store, this.offset);
  }
}

/**
 * A frozen image of `size` bytes at offset 0 whose frame `fn` is the given frame object, for
 * each pair of `frames` (every other frame reads as zero). The frames are shared, not copied:
 * the caller guarantees nobody writes them in place any more (frames of an epoch that has
 * closed, or fresh copies). A thawed copy copies a frame before its first write.
 */
export function imageOfFrames(size: number, frames: Iterable<readonly [number, Int32Array]>): MemoryImage {
  return new MemoryImage(directoryOf(frames), size, 0);
}

/** Live physical memory (or a window onto it). */
export class PhysicalMemory extends MemoryReader {
  readonly store: FrameStore;
  /**
   * Whether view address pa lives at store address pa + offset (a plain memory or a window),
   * so that a CPU may address its frames directly. False for a memory over a physmap.
   */
  readonly linear: boolean = true;

  constructor(size: number, store?: FrameStore, offset = 0) {
    if (!Number.isInteger(size) || size < 0 || size > MAX_MEMORY) {
      throw new RangeError(`PhysicalMemory: size ${size} is not an integer in [0, 4 GiB]`);
    }
    if (!Number.isInteger(offset) || offset < 0 || offset + size > MAX_MEMORY) {
      throw new RangeError(`PhysicalMemory: window [${offset}, ${offset + size}) exceeds 4 GiB`);
    }
    super(size, offset);
    this.store = store ?? new FrameStore();
  }

  protected frame(fn: number): Int32Array {
    return this.store.frameForRead(fn);
  }
  protected directory(): Directory {
    return this.store.dir;
  }

  /** A window [offset, offset + size) of this memory, sharing its frames. */
  window(offset: number, size: number): PhysicalMemory {
    if (!Number.isInteger(offset) || offset < 0 || offset + size > this.size) throw new RangeError(`window: [${offset}, ${offset + size}) exceeds memory of ${this.size} bytes`);
    return new PhysicalMemory(size, this.store, this.offset + offset);
  }

  // Every access through a live view is told to the store's bus, when it has one (bus.ts).

  /** ReadBus.wordsAt: undefined while the store has a bus observer, which must be told every read. */
  override wordsAt(pa: number): Int32Array | undefined {
    return this.store.bus === undefined ? super.wordsAt(pa) : undefined;
  }

  /** The store's generation: it grows when a frame object is replaced, an epoch closes or an observer comes or goes. */
  get wordsVersion(): number {
    return this.store.generation;
  }

  override read32(pa: number): number {
    const a = pa + this.offset;
    if (this.store.bus !== undefined) this.store.bus.access(a, 4, false);
    return this.wordAt(a);
  }

  override read8(pa: number): number {
    const a = pa + this.offset;
    if (this.store.bus !== undefined) this.store.bus.access(a, 1, false);
    return this.byteAt(a);
  }

  /** Writes the word `v` at `pa` (any alignment). Caller guarantees pa + 4 <= size. */
  write32(pa: number, v: number): void {
    const a = pa + this.offset;
    if (this.store.bus !== undefined) this.store.bus.access(a, 4, true);
    if ((a & 3) === 0) {
      this.store.frameForWrite(a >>> FRAME_BITS)[(a & (FRAME_SIZE - 1)) >> 2] = v;
      return;
    }
    for (let i = 0; i < 4; i++) this.putByte(a + i, v >>> (i * 8));
  }

  /** Writes the low byte of `v` at `pa`. Caller guarantees pa < size. */
  write8(pa: number, v: number): void {
    const a = pa + this.offset;
    if (this.store.bus !== undefined) this.store.bus.access(a, 1, true);
    this.putByte(a, v);
  }

  private putByte(a: number, v: number): void {
    const f = this.store.frameForWrite(a >>> FRAME_BITS);
    const i = (a & (FRAME_SIZE - 1)) >> 2;
    const sh = (a & 3) << 3;
    f[i] = (f[i] & ~(0xff << sh)) | ((v & 0xff) << sh);
  }

  /** Writes `bytes` starting at `pa`; throws RangeError if they do not fit. */
  writeBytes(pa: number, bytes: ArrayLike<number>): void {
    if (pa < 0 || pa + bytes.length > this.size) {
      throw new RangeError(`writeBytes: [${pa}, ${pa + bytes.length}) is outside memory of ${this.size} bytes`);
    }
    for (let i = 0; i < bytes.length; i++) this.write8(pa + i, bytes[i]);
  }

  /**
   * Copies every non-zero byte of `src` (another view, same addresses, clipped to this size)
   * into this memory. Cost: the frames `src` has allocated, whatever its size.
   */
  copyFrom(src: MemoryReader): void {
    const end = Math.min(src.size, this.size);
    for (const [lo, hi0] of src.presentRanges()) {
      const hi = Math.min(hi0, end);
      let pa = lo;
      for (; pa + 4 <= hi; pa += 4) {
        const w = src.read32(pa);
        if (w !== 0) this.write32(pa, w);
      }
      for (; pa < hi; pa++) {
        const b = src.read8(pa);
        if (b !== 0) this.write8(pa, b);
      }
    }
  }

  /** Freezes the current contents as an image; later writes copy shared frames. */
  image(): MemoryImage {
    return new MemoryImage(this.store.freeze(), this.size, this.offset);
  }

  /**
   * The store address of view address `pa`, or -1 where no store bytes back it (an unmapped
   * page of a physmap). A linear memory: pa + offset.
   */
  storeAddress(pa: number): number {
    return pa + this.offset;
  }

  /**
   * The size of the aligned blocks of view addresses that each lie contiguously in the store (a
   * power of two), so that a CPU may address a block's bytes from the store address of one of
   * them: 4 GiB for a linear memory, the page size over a physmap.
   */
  get linearBlock(): number {
    return MAX_MEMORY;
  }

  /** The store byte ranges [lo, hi) holding this memory's bytes, ascending (a window: one range). */
  hostRanges(): [number, number][] {
    return this.size === 0 ? [] : [[this.offset, this.offset + this.size]];
  }

  /**
   * Starts tracking writes to this memory (see WriteTracker). `keepBefore(fn)` selects the
   * store frames whose contents before their first write are kept.
   */
  trackWrites(keepBefore?: (fn: number) => boolean): WriteTracker {
    const toView = (fn: number): [number, number][] => {
      const lo = Math.max(fn * FRAME_SIZE - this.offset, 0);
      const hi = Math.min((fn + 1) * FRAME_SIZE - this.offset, this.size);
      return lo < hi ? [[lo, hi]] : [];
    };
    return new StoreTracker(this.store, toView, keepBefore);
  }

  /** Frames allocated in the backing store (the lazily-allocated cost of this machine). */
  get framesAllocated(): number {
    return this.store.framesAllocated;
  }
}

export type Memory = MemoryReader;
