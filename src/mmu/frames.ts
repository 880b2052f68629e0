// Frames: the storage under every memory. Byte-addressed, little-endian, 32-bit words, up to
// 4 GiB, in frames of 4 KiB allocated on first write behind a two-level frame directory
// (up to 1024 leaves x 1024 frames, each level's slots growing as writes need them), so a 4 GiB
// machine whose guest touches three pages costs three frames, and a 64 KiB one copies 16 slots
// when a snapshot's leaf is written. Reads of a frame never written return zeros without allocating.
//
// Snapshots share frames by ownership (path copying): freezing closes the current epoch, and a
// later write to a frame, leaf or directory created in an older epoch copies it first. A frozen
// directory therefore never changes, and freezing costs O(1).
//
// A WriteLog attached to a store records which frames were written since its last reset (and,
// for frames its owner asks about, their contents before the first write); a WriteTracker gives
// the same in a memory's own addresses (memory.ts makes one per view): checkers compare only
// what changed, at a cost that does not grow with the memory's size or its frame count.
//
// A store may also have a bus observer (bus.ts): then every access through a live view is told to
// it, address by address.

import type { BusObserver } from './bus.js';

export const FRAME_BITS = 12;
export const FRAME_SIZE = 1 << FRAME_BITS;
const FRAME_WORDS = FRAME_SIZE >> 2;
const LEAF_BITS = 10;
const LEAF_SIZE = 1 << LEAF_BITS;
export const MAX_MEMORY = 2 ** 32;

/** The frame every absent frame reads as (never written). */
const ZERO_FRAME = new Int32Array(FRAME_WORDS);

/**
 * A leaf's and a directory's slots start few and double when a write needs one past the end (up
 * to LEAF_SIZE): a small memory's snapshots then copy a few slots per write, not 1024 (the
 * classifier builds thousands of 64 KiB machines). A read past the end finds nothing, as an
 * empty slot.
 */
const FIRST_LEAF_SLOTS = 16;
const FIRST_DIRECTORY_SLOTS = 1;

/** `slots` grown (by doubling, at most LEAF_SIZE) to hold index `i`; `slots` itself when it already does. */
function grown<T>(slots: T[], i: number, empty: T): T[] {
  if (i < slots.length) return slots;
  let n = slots.length;
  while (n <= i) n *= 2;
  return slots.concat(new Array<T>(Math.min(n, LEAF_SIZE) - slots.length).fill(empty));
}

class Leaf {
  frames: (Int32Array | undefined)[];
  owners: Int32Array;
  constructor(
    readonly epoch: number,
    from?: Leaf,
  ) {
    this.frames = from ? from.frames.slice() : new Array<Int32Array | undefined>(FIRST_LEAF_SLOTS).fill(undefined);
    this.owners = from ? from.owners.slice() : new Int32Array(FIRST_LEAF_SLOTS);
  }

  /** Makes slot `fi` exist. */
  reach(fi: number): void {
    if (fi < this.owners.length) return;
    this.frames = grown(this.frames, fi, undefined);
    const owners = new Int32Array(this.frames.length);
    owners.set(this.owners);
    this.owners = owners;
  }
}

export class Directory {
  leaves: (Leaf | undefined)[];
  constructor(
    readonly epoch: number,
    from?: Directory,
  ) {
    this.leaves = from ? from.leaves.slice() : new Array<Leaf | undefined>(FIRST_DIRECTORY_SLOTS).fill(undefined);
  }

  /** Leaf `li`, created in `epoch` when absent (slot made to exist). */
  leafAt(li: number, epoch: number): Leaf {
    this.leaves = grown(this.leaves, li, undefined);
    return this.leaves[li] ?? (this.leaves[li] = new Leaf(epoch));
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

  /**
   * Told every access made through a live view of this store (bus.ts); undefined on the fast
   * path. CPUs over the store check it where they would cache a frame.
   */
  bus: BusObserver | undefined = undefined;

  constructor(dir?: Directory) {
    this.dir = dir ?? new Directory(1);
  }

  /** Attaches `log` (its frames are noted from now on). */
  attach(log: WriteLog): void {
    this.logs = [...this.logs, log];
    this.generation++;
  }

  /**
   * Sets (or, with undefined, removes) the bus observer. Cached frames are invalidated, so no CPU
   * keeps a translation window opened before.
   */
  observe(bus: BusObserver | undefined): void {
    this.bus = bus;
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

  /**
   * Whether frameForWrite(fn) would return frame `fn` as it is, with no side effect: no write
   * log attached, and the frame owned by the current epoch (so frameForRead returns it too).
   */
  writableInPlace(fn: number): boolean {
    const leaf = this.dir.leaves[fn >>> LEAF_BITS];
    return this.logs.length === 0 && leaf !== undefined && leaf.epoch === this.epoch && leaf.owners[fn & (LEAF_SIZE - 1)] === this.epoch;
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
    let leaf = dir.leafAt(li, e);
    if (leaf.epoch !== e) leaf = dir.leaves[li] = new Leaf(e, leaf);
    leaf.reach(fi);
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
      const hi = Math.min(last - li * LEAF_SIZE, leaf.frames.length - 1);
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
  private attached = true;

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

  /** Starts logging afresh: attached again if closed, with nothing written yet. */
  reopen(): void {
    if (!this.attached) this.store.attach(this);
    this.attached = true;
    this.reset();
  }

  /** Stops logging (the store's writes cost nothing more) until `reopen`. */
  close(): void {
    if (this.attached) this.store.detach(this);
    this.attached = false;
  }

  /** Called by the store before frame `fn` is handed out for writing. */
  note(fn: number, store: FrameStore): void {
    if (this.written.has(fn)) return;
    this.written.add(fn);
    if (this.keepBefore(fn)) this.before.set(fn, store.frameForRead(fn).slice());
  }
}

/** Frame `fn` of directory `dir` for reading (the shared zero frame if absent). */
export function frameIn(dir: Directory, fn: number): Int32Array {
  const leaf = dir.leaves[fn >>> LEAF_BITS];
  return (leaf && leaf.frames[fn & (LEAF_SIZE - 1)]) || ZERO_FRAME;
}

/**
 * A directory of an epoch that has closed whose frame `fn` is the given frame object, for each
 * pair of `frames` (shared, not copied: the caller guarantees nobody writes them in place any
 * more). A store thawed over it copies a frame before its first write.
 */
export function directoryOf(frames: Iterable<readonly [number, Int32Array]>): Directory {
  const dir = new Directory(1);
  for (const [fn, frame] of frames) {
    const li = fn >>> LEAF_BITS;
    const leaf = dir.leafAt(li, 1);
    leaf.reach(fn & (LEAF_SIZE - 1));
    leaf.frames[fn & (LEAF_SIZE - 1)] = frame;
  }
  return dir;
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
