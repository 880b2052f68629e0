// Guest-physical memory over a physmap: a PhysicalMemory whose addresses are guest-physical and
// whose bytes live in host memory wherever the physmap puts each page.
//
//  - read:  an unmapped page reads as zeros, and stays unmapped;
//  - write: an unmapped page is mapped first from the physmap's pool (its host bytes cleared);
//           with no pool left it is a broken invariant of the VMM (UnmappedGuestWrite);
//  - image: a MemoryImage in guest-physical terms — snapshots, the virtual view and the
//           equivalence checker never see the physmap. A guest 4 KiB frame that maps exactly
//           onto a host frame is shared copy-on-write (the host's epoch closes); smaller pages
//           are copied. Cost: the host frames present under mapped pages, never guestBytes.
//
// It is not `linear`: the Machine sends its loads and stores through it, and opens translation
// windows only within one page (storeAddress, linearBlock).

import { FRAME_BITS, FRAME_SIZE, imageOfFrames, mergeRanges, PhysicalMemory, StoreTracker, type MemoryImage, type WriteTracker } from './memory.js';
import type { Physmap } from './physmap.js';
import { asSoftware } from './bus.js';

/** A write to a guest page the physmap does not map and cannot map (no pool, or the pool is used up). */
export class UnmappedGuestWrite extends Error {
  constructor(
    readonly gpa: number,
    readonly exhausted: boolean,
  ) {
    super(`PhysmapMemory: write to guest-physical 0x${gpa.toString(16)}, whose page is not mapped and ${exhausted ? 'the pool is used up' : 'the physmap has no pool'}`);
    this.name = 'UnmappedGuestWrite';
  }
}

export class PhysmapMemory extends PhysicalMemory {
  override readonly linear = false;
  private readonly shift: number;
  private readonly mask: number;

  /**
   * Guest-physical memory of `physmap.guestBytes` bytes over `host` (a plain memory or a window
   * at a frame-aligned offset), physmap host addresses being `host` addresses. Throws
   * RangeError when the host is not such a memory or is smaller than the physmap's host memory.
   */
  constructor(
    readonly host: PhysicalMemory,
    readonly physmap: Physmap,
  ) {
    if (!host.linear || (host.offset & (FRAME_SIZE - 1)) !== 0) throw new RangeError('PhysmapMemory: the host must be a plain memory or a window at a frame-aligned offset');
    if (physmap.hostBytes > host.size) throw new RangeError(`PhysmapMemory: the physmap reaches host byte 0x${physmap.hostBytes.toString(16)}, past host memory of 0x${host.size.toString(16)} bytes`);
    super(physmap.guestBytes, host.store, 0);
    this.shift = Math.log2(physmap.pageBytes);
    this.mask = physmap.pageBytes - 1;
  }

  /** The host address of guest-physical `pa`, or -1 where its page is not mapped. */
  hostAddress(pa: number): number {
    const h = this.physmap.hostPage(pa >>> this.shift);
    return h < 0 ? -1 : h + (pa & this.mask);
  }

  override read32(pa: number): number {
    if ((pa & 3) !== 0) return (this.read8(pa) | (this.read8(pa + 1) << 8) | (this.read8(pa + 2) << 16) | (this.read8(pa + 3) << 24)) | 0;
    const h = this.hostAddress(pa);
    return h < 0 ? 0 : this.host.read32(h);
  }

  override read8(pa: number): number {
    const h = this.hostAddress(pa);
    return h < 0 ? 0 : this.host.read8(h);
  }

  override write32(pa: number, v: number): void {
    if ((pa & 3) !== 0) {
      for (let i = 0; i < 4; i++) this.write8(pa + i, v >>> (i * 8));
      return;
    }
    this.host.write32(this.writableAddress(pa), v);
  }

  override write8(pa: number, v: number): void {
    this.host.write8(this.writableAddress(pa), v);
  }

  override storeAddress(pa: number): number {
    const h = this.hostAddress(pa);
    return h < 0 ? -1 : this.host.offset + h;
  }

  override get linearBlock(): number {
    return this.physmap.pageBytes;
  }

  /** The host address of `pa`, its page mapped first if needed; throws UnmappedGuestWrite if it cannot be. */
  private writableAddress(pa: number): number {
    const h = this.hostAddress(pa);
    if (h >= 0) return h;
    if (this.touch(pa >>> this.shift) < 0) throw new UnmappedGuestWrite(pa, this.physmap.poolRanges().length > 0);
    return this.hostAddress(pa);
  }

  /**
   * The host address of guest page `gpn`, mapping it from the pool first if needed with its
   * host bytes cleared (so it reads as zeros, as it did unmapped). -1 when it cannot be mapped.
   * What a VMM calls to map a page on demand. On an observed bus this is software's work (the
   * VMM's memory manager), even inside a CPU's write.
   */
  touch(gpn: number): number {
    const mapped = this.physmap.hostPage(gpn);
    if (mapped >= 0) return mapped;
    return asSoftware(this.store.bus, () => {
      const hpa = this.physmap.touch(gpn);
      if (hpa >= 0) this.clearHost(hpa, this.physmap.pageBytes);
      return hpa;
    });
  }

  /** Zeroes host bytes [hpa, hpa + n) where they are not zero already (absent frames stay absent). */
  private clearHost(hpa: number, n: number): void {
    for (const [lo, hi] of this.host.presentRangesIn(hpa, hpa + n)) {
      for (let a = lo; a < hi; a += 4) if (this.host.read32(a) !== 0) this.host.write32(a, 0);
    }
  }

  override presentRangesIn(lo: number, hi: number): [number, number][] {
    const from = Math.max(lo, 0);
    const to = Math.min(hi, this.size);
    const out: [number, number][] = [];
    for (const r of this.physmap.ranges()) {
      const glo = Math.max(r.gpa, from);
      const ghi = Math.min(r.gpa + r.size, to);
      if (glo >= ghi) continue;
      const d = r.hpa - r.gpa;
      for (const [a, b] of this.host.presentRangesIn(glo + d, ghi + d)) out.push([a - d, b - d]);
    }
    return mergeRanges(out);
  }

  override frameAt(pa: number): Int32Array | undefined {
    if (this.physmap.pageBytes < FRAME_SIZE) return undefined;
    const h = this.hostAddress(pa);
    return h < 0 ? undefined : this.host.frameAt(h);
  }

  /** Grows with the host store's generation and with every page the physmap maps (frameAt changes then). */
  override get wordsVersion(): number {
    return this.store.generation + this.physmap.generation;
  }

  /** Whether every guest 4 KiB frame lies in exactly one host frame (pages of at least a frame). */
  private get framesExact(): boolean {
    return this.physmap.pageBytes >= FRAME_SIZE;
  }

  /**
   * Freezes the guest-physical contents as an image (guest addresses, offset 0). Host frames
   * are shared where pages are at least a frame (closing the host store's epoch, so that the
   * next write to each copies it), copied piece by piece otherwise.
   */
  override image(): MemoryImage {
    const frozen = this.host.image();
    const frames = new Map<number, Int32Array>();
    for (const r of this.physmap.ranges()) {
      const d = r.hpa - r.gpa;
      for (const [a, b] of frozen.presentRangesIn(r.hpa, r.hpa + r.size)) {
        if (this.framesExact) {
          frames.set((a - d) >>> FRAME_BITS, frozen.frameAt(a)!);
          continue;
        }
        for (let x = a; x < b; x += 4) {
          const w = frozen.read32(x);
          if (w === 0) continue;
          const g = x - d;
          let f = frames.get(g >>> FRAME_BITS);
          if (f === undefined) frames.set(g >>> FRAME_BITS, (f = new Int32Array(FRAME_SIZE >> 2)));
          f[(g & (FRAME_SIZE - 1)) >> 2] = w;
        }
      }
    }
    return imageOfFrames(this.size, frames);
  }

  /** Not offered: a part of guest memory is another physmap, not a window. */
  override window(_offset: number, _size: number): PhysicalMemory {
    throw new Error('PhysmapMemory.window: a window onto guest-physical memory over a physmap is not supported');
  }

  /** The host byte ranges [lo, hi) (host store addresses) holding guest memory, ascending and coalesced. */
  override hostRanges(): [number, number][] {
    const off = this.host.offset;
    return mergeRanges(this.physmap.ranges().map((r) => [off + r.hpa, off + r.hpa + Math.min(r.size, this.size - r.gpa)] as [number, number]));
  }

  /**
   * Tracks writes in guest-physical terms: a host frame written (by anyone) maps back through
   * the physmap to the guest pages it holds. Pages mapped after a frame was written are seen at
   * the next `written()` too (the mapping back happens then).
   */
  override trackWrites(keepBefore?: (fn: number) => boolean): WriteTracker {
    const step = Math.min(this.physmap.pageBytes, FRAME_SIZE);
    const toView = (fn: number): [number, number][] => {
      const out: [number, number][] = [];
      const x0 = fn * FRAME_SIZE - this.host.offset;
      for (let x = x0; x < x0 + FRAME_SIZE; x += step) {
        const gpn = this.physmap.guestPageOf(x);
        if (gpn < 0) continue;
        const g = gpn * this.physmap.pageBytes + (x & this.mask);
        if (g < this.size) out.push([g, Math.min(g + step, this.size)]);
      }
      return out;
    };
    return new StoreTracker(this.host.store, toView, keepBefore);
  }
}
