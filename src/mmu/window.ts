// A translation window: a run of virtual addresses [lo, hi) known to translate linearly into
// one host frame. The CPU keeps one for fetches, one for reads and one for writes, so the common
// case skips translation entirely. A window is valid while the translation state it was opened
// under (`gen`, bumped by the CPU on every PSW, PTBR or TLB change) and the frame store
// (`storeGen`, bumped whenever a frame object is replaced or an epoch closes) are unchanged.

const EMPTY = new Int32Array(0);

export class TranslationWindow {
  lo = 1;
  hi = 0;
  /** physical address of `lo` */
  pa = 0;
  frame: Int32Array = EMPTY;
  /** byte offset of `lo` within `frame` */
  byte = 0;
  gen = -1;
  storeGen = -1;

  /** Whether `va` lies in the window and the window is still valid. */
  covers(va: number, gen: number, storeGen: number): boolean {
    return va >= this.lo && va < this.hi && this.gen === gen && this.storeGen === storeGen;
  }

  /** Index in `frame` of the word at `va` (va covered and 4-aligned relative to lo). */
  wordIndex(va: number): number {
    return (this.byte + (va - this.lo)) >> 2;
  }

  /** Byte offset in `frame` of `va`. */
  byteOffset(va: number): number {
    return this.byte + (va - this.lo);
  }

  open(lo: number, hi: number, pa: number, frame: Int32Array, byte: number, gen: number, storeGen: number): void {
    this.lo = lo;
    this.hi = hi;
    this.pa = pa;
    this.frame = frame;
    this.byte = byte;
    this.gen = gen;
    this.storeGen = storeGen;
  }

  close(): void {
    this.hi = 0;
  }
}
