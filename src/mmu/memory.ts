// Physical memory: byte-addressed, little-endian, 32-bit words, up to 4 GiB.
//
// Frames of 4 KiB are allocated on first write behind a two-level frame directory
// (1024 leaves x 1024 frames), so a 4 GiB machine whose guest touches three pages costs
// three frames. Reads of a frame never written return zeros without allocating.
//
// Snapshots share frames by ownership (path copying): `image()` closes the current epoch,
// and a later write to a frame, leaf or directory created in an older epoch copies it first.
// A MemoryImage therefore never changes, and taking one costs O(1).
//
// A PhysicalMemory may be a window (offset, size) onto a FrameStore shared with others: the
// VMM gives each guest's interpreter a window onto the host's memory at `addr0`.
//
// A WriteLog attached to a store records which frames were written since its last reset (and,
// for frames its owner asks about, their contents before the first write): checkers compare
// only what changed, at a cost that does not grow with the memory's size or its frame count.

export const FRAME_BITS = 12;
export const FRAME_SIZE = 1 << FRAME_BITS;
const FRAME_WORDS = FRAME_SIZE >> 2;
const LEAF_BITS = 10;
const LEAF_SIZE = 1 << LEAF_BITS;
export const MAX_MEMORY = 2 ** 32;

const ZERO_FRAME = new Int32Array(FRAME_WORDS);

class Leaf {
  readonly frames: (Int32Array | undefined)[];
  readonly owners: Int32Array;
  constructor(
    readonly epoch: number,
    from?: Leaf,
  ) {
    this.frames = from ? from.frames.slice() : new Array<Int32Array | undefined>(LEAF_SIZE).fill(undefined);
    this.owners = from ? from.owners.slice() : new Int32Array(LEAF_SIZE);
  }
}

class Directory {
  readonly leaves: (Leaf | undefined)[];
  constructor(
    readonly epoch: number,
    from?: Directory,
  ) {
    this.leaves = from ? from.leaves.slice() : new Array<Leaf | undefined>(LEAF_SIZE).fill(undefined);
  }
}

/** The mutable owner of frames: the current directory and epoch, shared by windows. */
export class FrameStore {
  dir: Directory;
  epoch = 1;
  /** Frames ever allocated in this store (first writes, not copies). */
  framesAllocated = 0;
  /** Frames copied because a snapshot shared them. */
  framesCopied = 0;
  /**
   * Bumped whenever a frame object is replaced or an epoch closes, so cached frame references
   * (for reading or for writing in place) can be revalidated.
   */
  generation = 0;

  /** Write logs attached to this store (see WriteLog); empty on the fast path. */
  private logs: WriteLog[] = [];

  constructor(dir?: Directory) {
    this.dir = dir ?? new Directory(1);
  }

  /** Attaches `log` (its frames are noted from now on). */
  attach(log: WriteLog): void {
    this.logs = [...this.logs, log];
    this.generation++;
  }

  /** Detaches `log`. */
  detach(log: WriteLog): void {
    this.logs = this.logs.filter((l) => l !== log);
  }

  /** Tells every attached log that frame `fn` is about to be written. */
  private noteWrite(fn: number): void {
    for (const log of this.logs) log.note(fn, this);
  }

  /** Returns the frame holding frame number `fn` for reading (the shared zero frame if absent). */
  frameForRead(fn: number): Int32Array {
    const leaf = this.dir.leaves[fn >>> LEAF_BITS];
    return (leaf && leaf.frames[fn & (LEAF_SIZE - 1)]) || ZERO_FRAME;
  }

  /** Returns frame `fn` owned by the current epoch, allocating or copying it (and its path) first. */
  frameForWrite(fn: number): Int32Array {
    if (this.logs.length !== 0) this.noteWrite(fn);
    const e = this.epoch;
    let dir = this.dir;
    const li = fn >>> LEAF_BITS;
    const fi = fn & (LEAF_SIZE - 1);
    const leaf0 = dir.leaves[li];
    if (leaf0 && leaf0.epoch === e && leaf0.owners[fi] === e) return leaf0.frames[fi]!;
    if (dir.epoch !== e) dir = this.dir = new Directory(e, dir);
    let leaf = dir.leaves[li];
    if (!leaf) leaf = dir.leaves[li] = new Leaf(e);
    else if (leaf.epoch !== e) leaf = dir.leaves[li] = new Leaf(e, leaf);
    const old = leaf.frames[fi];
    let frame: Int32Array;
    if (!old) {
      frame = new Int32Array(FRAME_WORDS);
      this.framesAllocated++;
    } else {
      frame = old.slice();
      this.framesCopied++;
    }
    leaf.frames[fi] = frame;
    leaf.owners[fi] = e;
    this.generation++;
    return frame;
  }

  /** Closes the current epoch and returns the directory as it stands (never mutated again). */
  freeze(): Directory {
    const d = this.dir;
    this.epoch++;
    this.generation++;
    return d;
  }

  /** Numbers of the frames present in `dir` among frames [first, last], ascending. */
  static presentFrames(dir: Directory, first = 0, last = (MAX_MEMORY >>> FRAME_BITS) - 1): number[] {
    const out: number[] = [];
    for (let li = first >>> LEAF_BITS; li <= last >>> LEAF_BITS; li++) {
      const leaf = dir.leaves[li];
      if (!leaf) continue;
      const lo = Math.max(first - li * LEAF_SIZE, 0);
      const hi = Math.min(last - li * LEAF_SIZE, LEAF_SIZE - 1);
      for (let fi = lo; fi <= hi; fi++) if (leaf.frames[fi]) out.push(li * LEAF_SIZE + fi);
    }
    return out;
  }
}

/**
 * The frames of one store written since the last `reset` (store frame numbers), and for those
 * `keepBefore` selects, their contents just before the first such write. It sees every write:
 * resetting invalidates the CPUs' translation windows, so a write through a window opened
 * earlier goes through `frameForWrite` again. `close` detaches it.
 */
export class WriteLog {
  readonly written = new Set<number>();
  readonly before = new Map<number, Int32Array>();

  constructor(
    private readonly store: FrameStore,
    private readonly keepBefore: (fn: number) => boolean = () => false,
  ) {
    store.attach(this);
  }

  /** Forgets what was written so far; logging goes on. */
  reset(): void {
    this.written.clear();
    this.before.clear();
    this.store.generation++;
  }

  close(): void {
    this.store.detach(this);
  }

  /** Called by the store before frame `fn` is handed out for writing. */
  note(fn: number, store: FrameStore): void {
    if (this.written.has(fn)) return;
    this.written.add(fn);
    if (this.keepBefore(fn)) this.before.set(fn, store.frameForRead(fn).slice());
  }
}

/** Read access shared by live memory and frozen images. `size` bounds every address. */
abstract class MemoryReader {
  constructor(
    readonly size: number,
    readonly offset: number,
  ) {}
  protected abstract frame(fn: number): Int32Array;

  /** Reads the little-endian word at `pa` (any alignment). Caller guarantees pa + 4 <= size. */
  read32(pa: number): number {
    const a = pa + this.offset;
    if ((a & 3) === 0) return this.frame(a >>> FRAME_BITS)[(a & (FRAME_SIZE - 1)) >> 2];
    return (this.read8(pa) | (this.read8(pa + 1) << 8) | (this.read8(pa + 2) << 16) | (this.read8(pa + 3) << 24)) | 0;
  }

  /** Reads the byte at `pa`. Caller guarantees pa < size. */
  read8(pa: number): number {
    const a = pa + this.offset;
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

  /** Frame numbers (of this view, relative to its offset) that hold data, ascending. */
  protected abstract directory(): Directory;

  /**
   * Content hash of the view's bytes (FNV-1a over non-zero words with their addresses).
   * Equal contents hash equal whether or not zero frames were ever allocated.
   */
  hash(): string {
    let h1 = 0x811c9dc5 | 0;
    let h2 = 0x01000193 | 0;
    const first = Math.floor(this.offset / FRAME_SIZE);
    const last = Math.floor((this.offset + this.size - 1) / FRAME_SIZE);
    // words are taken at view addresses 0, 4, 8, ... so the hash does not depend on the offset;
    // `next` is the first word not hashed yet (a word may span two present frames)
    let next = 0;
    for (const fn of FrameStore.presentFrames(this.directory(), first, last)) {
      const lo = Math.max(fn * FRAME_SIZE - this.offset, 0);
      const hi = Math.min((fn + 1) * FRAME_SIZE - this.offset, this.size);
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
   * The byte ranges [lo, hi) of this view (view addresses, ascending, clipped to the view) that
   * lie in frames the backing store has allocated; everything else reads as zero. Cost: the
   * frames present in the view's span, not its size.
   */
  presentRanges(): [number, number][] {
    if (this.size === 0) return [];
    const first = Math.floor(this.offset / FRAME_SIZE);
    const last = Math.floor((this.offset + this.size - 1) / FRAME_SIZE);
    return FrameStore.presentFrames(this.directory(), first, last).map((fn) => [Math.max(fn * FRAME_SIZE - this.offset, 0), Math.min((fn + 1) * FRAME_SIZE - this.offset, this.size)]);
  }

  /** The lowest address where the two views differ, or -1. Frames shared by both are skipped. */
  firstDifference(other: MemoryReader): number {
    const frames = new Set<number>();
    for (const v of [this, other]) {
      for (const [lo, hi] of v.presentRanges()) {
        if (lo >= this.size) continue;
        frames.add(Math.floor(lo / FRAME_SIZE));
        frames.add(Math.floor((hi - 1) / FRAME_SIZE));
      }
    }
    for (const f of [...frames].sort((a, b) => a - b)) {
      const lo = Math.max(0, f * FRAME_SIZE);
      const hi = Math.min(this.size, (f + 1) * FRAME_SIZE);
      if (lo >= hi || this.sharesFrame(other, lo)) continue;
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
    if ((((lo + this.offset) | (lo + other.offset)) & 3) === 0) {
      for (; pa + 4 <= hi; pa += 4) if (this.read32(pa) !== other.read32(pa)) break;
    }
    for (; pa < hi; pa++) if (this.read8(pa) !== other.read8(pa)) return pa;
    return -1;
  }

  /** Whether both views map the aligned frame holding `pa` to the very same frame object. */
  private sharesFrame(other: MemoryReader, pa: number): boolean {
    if ((this.offset | other.offset) & (FRAME_SIZE - 1)) return false;
    return this.frame((pa + this.offset) >>> FRAME_BITS) === other.frame((pa + other.offset) >>> FRAME_BITS);
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
    const leaf = this.dir.leaves[fn >>> LEAF_BITS];
    return (leaf && leaf.frames[fn & (LEAF_SIZE - 1)]) || ZERO_FRAME;
  }
  protected directory(): Directory {
    return this.dir;
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

/** Live physical memory (or a window onto it). */
export class PhysicalMemory extends MemoryReader {
  readonly store: FrameStore;

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

  /** Writes the word `v` at `pa` (any alignment). Caller guarantees pa + 4 <= size. */
  write32(pa: number, v: number): void {
    const a = pa + this.offset;
    if ((a & 3) === 0) {
      this.store.frameForWrite(a >>> FRAME_BITS)[(a & (FRAME_SIZE - 1)) >> 2] = v;
      return;
    }
    for (let i = 0; i < 4; i++) this.write8(pa + i, v >>> (i * 8));
  }

  /** Writes the low byte of `v` at `pa`. Caller guarantees pa < size. */
  write8(pa: number, v: number): void {
    const a = pa + this.offset;
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

  /** Frames allocated in the backing store (the lazily-allocated cost of this machine). */
  get framesAllocated(): number {
    return this.store.framesAllocated;
  }
}

export type Memory = MemoryReader;
