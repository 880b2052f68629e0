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
// VMM gives each guest's interpreter a window onto the host's memory at `addr0`. Such a memory
// is `linear`: view address pa lives at store address pa + offset. A guest-physical memory over
// a physmap (physmap-memory.ts) is a PhysicalMemory too, but not linear: every access goes
// through its page map.
//
// A WriteLog attached to a store records which frames were written since its last reset (and,
// for frames its owner asks about, their contents before the first write): checkers compare
// only what changed, at a cost that does not grow with the memory's size or its frame count.
// `trackWrites()` wraps one in the terms of a view (a window or a physmap memory): the view's
// byte ranges written, whoever wrote them.

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
  /** The frame directory the view reads (live: the store's current one). */
  protected abstract directory(): Directory;

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
    if ((((lo + this.offset) | (lo + other.offset)) & 3) === 0) {
      for (; pa + 4 <= hi; pa += 4) if (this.read32(pa) !== other.read32(pa)) break;
    }
    for (; pa < hi; pa++) if (this.read8(pa) !== other.read8(pa)) return pa;
    return -1;
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

/**
 * A frozen image of `size` bytes at offset 0 whose frame `fn` is the given frame object, for
 * each pair of `frames` (every other frame reads as zero). The frames are shared, not copied:
 * the caller guarantees nobody writes them in place any more (frames of an epoch that has
 * closed, or fresh copies). A thawed copy copies a frame before its first write.
 */
export function imageOfFrames(size: number, frames: Iterable<readonly [number, Int32Array]>): MemoryImage {
  const dir = new Directory(1);
  for (const [fn, frame] of frames) {
    const li = fn >>> LEAF_BITS;
    const leaf = dir.leaves[li] ?? (dir.leaves[li] = new Leaf(1));
    leaf.frames[fn & (LEAF_SIZE - 1)] = frame;
  }
  return new MemoryImage(dir, size, 0);
}

/**
 * What changed in a memory since a point: the memory's own byte ranges written (by anyone —
 * through this view, another view of the same frames, or a CPU's translation window) and the
 * backing store's frames written. What the equivalence and safety checkers read.
 */
export interface WriteTracker {
  /**
   * The memory's byte ranges [lo, hi) written since the last reset (its own addresses:
   * guest-physical for a guest's memory), ascending and disjoint, clipped to the memory. Whole
   * frames, or whole pages of a physmap with pages smaller than a frame: a superset of the
   * bytes written, never missing one.
   */
  written(): [number, number][];
  /** The backing store's frame numbers written since the last reset, ascending. */
  hostFrames(): number[];
  /** Store frame `fn` as it was just before its first write since the last reset, if `keepBefore` selected it. */
  before(fn: number): Int32Array | undefined;
  /** Forgets what was written so far; tracking goes on. */
  reset(): void;
  /** Stops tracking. */
  close(): void;
}

/** A WriteTracker over a store's WriteLog; `toView` gives the view ranges a store frame holds. */
export class StoreTracker implements WriteTracker {
  private readonly log: WriteLog;

  constructor(
    store: FrameStore,
    private readonly toView: (fn: number) => [number, number][],
    keepBefore?: (fn: number) => boolean,
  ) {
    this.log = new WriteLog(store, keepBefore);
  }

  written(): [number, number][] {
    const out: [number, number][] = [];
    for (const fn of this.log.written) out.push(...this.toView(fn));
    return mergeRanges(out);
  }

  hostFrames(): number[] {
    return [...this.log.written].sort((a, b) => a - b);
  }

  before(fn: number): Int32Array | undefined {
    return this.log.before.get(fn);
  }

  reset(): void {
    this.log.reset();
  }

  close(): void {
    this.log.close();
  }
}

/** The union of byte ranges [lo, hi) (any order, empty ones ignored), ascending and disjoint. */
export function mergeRanges(ranges: readonly (readonly [number, number])[]): [number, number][] {
  const sorted = ranges.filter(([lo, hi]) => lo < hi).sort((a, b) => a[0] - b[0]);
  const out: [number, number][] = [];
  for (const [lo, hi] of sorted) {
    const last = out[out.length - 1];
    if (last && lo <= last[1]) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  }
  return out;
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
