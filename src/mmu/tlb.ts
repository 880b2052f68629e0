// A set-associative TLB in typed arrays. It caches, per base page, the frame and the combined
// permissions of a translation (paging/rules.ts PERM_*); a large page fills one entry per base
// page touched. It is not coherent with page-table writes: entries stay until evicted,
// invalidated or flushed.
//
// Slot i = set * ways + way; set = vpn % sets. Replacement is deterministic: the first invalid
// way of the set, else the set's round-robin victim, which advances on each eviction.

/** Size and associativity; entries = 0 means no TLB (every access walks). */
export interface TlbConfig {
  readonly entries: number;
  readonly ways: number;
}

/** One valid entry, as listed for snapshots and the CLI. */
export interface TlbEntry {
  readonly slot: number;
  readonly vpn: number;
  /** physical address of the base page */
  readonly frame: number;
  /** combined permissions (PERM_*) */
  readonly perms: number;
  /** log2 of the size of the page the translation came from */
  readonly pageBits: number;
}

/** The TLB's whole state: its valid entries and the round-robin victim of each set. */
export interface TlbState {
  readonly entries: readonly TlbEntry[];
  readonly victims: readonly number[];
}

/** The sets of a TLB of `config` (0 without a TLB); the configuration is checked where a Tlb is made. */
export function tlbSets(config: TlbConfig): number {
  return config.entries === 0 ? 0 : config.entries / config.ways;
}

export class Tlb {
  readonly entries: number;
  readonly ways: number;
  readonly sets: number;
  /** virtual page number per slot; -1 = invalid */
  readonly vpns: Int32Array;
  /** physical address of the base page per slot */
  readonly frames: Float64Array;
  readonly perms: Uint8Array;
  readonly pageBits: Uint8Array;
  private readonly victims: Int32Array;
  /** sets - 1 when sets is a power of two (index by mask), else -1 (index by modulo) */
  private readonly setMask: number;
  /** lookups that found the page / did not */
  hits = 0;
  misses = 0;

  /** Throws on a configuration that is not `entries` = sets * ways with ways >= 1. */
  constructor(
    config: TlbConfig,
    readonly offsetBits: number,
  ) {
    const { entries, ways } = config;
    if (!Number.isInteger(entries) || entries < 0 || !Number.isInteger(ways) || ways < 1 || entries % ways !== 0) {
      throw new RangeError(`Tlb: ${entries} entries in ${ways} ways is not a whole number of sets`);
    }
    this.entries = entries;
    this.ways = entries === 0 ? 0 : ways;
    this.sets = tlbSets(config);
    this.vpns = new Int32Array(entries).fill(-1);
    this.frames = new Float64Array(entries);
    this.perms = new Uint8Array(entries);
    this.pageBits = new Uint8Array(entries);
    this.victims = new Int32Array(this.sets);
    this.setMask = (this.sets & (this.sets - 1)) === 0 ? this.sets - 1 : -1;
  }

  /** The set `vpn` maps to. */
  private setOf(vpn: number): number {
    return this.setMask >= 0 ? vpn & this.setMask : vpn % this.sets;
  }

  /** The slot caching `vpn`, or -1. Counts a hit or a miss. */
  lookup(vpn: number): number {
    const i = this.find(vpn);
    if (i >= 0) this.hits++;
    else this.misses++;
    return i;
  }

  /** The slot caching `vpn`, or -1. Counts nothing. */
  find(vpn: number): number {
    if (this.sets === 0) return -1;
    const first = this.setOf(vpn) * this.ways;
    for (let i = first; i < first + this.ways; i++) if (this.vpns[i] === vpn) return i;
    return -1;
  }

  /** Caches a translation of `vpn`; returns its slot (-1 without a TLB). Counts nothing. */
  fill(vpn: number, frame: number, perms: number, pageBits: number): number {
    if (this.sets === 0) return -1;
    const i = this.slotFor(vpn);
    this.vpns[i] = vpn;
    this.frames[i] = frame;
    this.perms[i] = perms;
    this.pageBits[i] = pageBits;
    return i;
  }

  /** The slot `vpn` goes to: its own, the set's first invalid way, else the round-robin victim. */
  private slotFor(vpn: number): number {
    const set = this.setOf(vpn);
    const first = set * this.ways;
    let free = -1;
    for (let i = first; i < first + this.ways; i++) {
      if (this.vpns[i] === vpn) return i;
      if (free < 0 && this.vpns[i] === -1) free = i;
    }
    if (free >= 0) return free;
    const way = this.victims[set];
    this.victims[set] = way + 1 === this.ways ? 0 : way + 1;
    return first + way;
  }

  /** Drops slot `i`. */
  drop(i: number): void {
    this.vpns[i] = -1;
  }

  /**
   * `invlpg va`: drops every entry whose page (of the size it was mapped with) contains `va`,
   * so all base pages of a large page go together. Returns how many were dropped.
   */
  invalidate(va: number): number {
    let dropped = 0;
    for (let i = 0; i < this.entries; i++) {
      if (this.vpns[i] === -1) continue;
      const page = 2 ** this.pageBits[i];
      if (Math.floor((this.vpns[i] * 2 ** this.offsetBits) / page) === Math.floor(va / page)) {
        this.vpns[i] = -1;
        dropped++;
      }
    }
    return dropped;
  }

  /** Drops every entry (replacement pointers are kept). */
  flush(): void {
    this.vpns.fill(-1);
  }

  /** The valid entries in slot order. */
  validEntries(): TlbEntry[] {
    const out: TlbEntry[] = [];
    for (let i = 0; i < this.entries; i++) {
      if (this.vpns[i] === -1) continue;
      out.push({ slot: i, vpn: this.vpns[i], frame: this.frames[i], perms: this.perms[i], pageBits: this.pageBits[i] });
    }
    return out;
  }

  save(): TlbState {
    return { entries: this.validEntries(), victims: [...this.victims] };
  }

  /** Replaces the whole state with `s` (taken from a TLB of the same configuration). */
  restore(s: TlbState): void {
    if (s.victims.length !== this.sets) throw new RangeError(`Tlb.restore: state has ${s.victims.length} sets, this TLB ${this.sets}`);
    this.flush();
    this.victims.set(s.victims);
    for (const e of s.entries) {
      this.vpns[e.slot] = e.vpn;
      this.frames[e.slot] = e.frame;
      this.perms[e.slot] = e.perms;
      this.pageBits[e.slot] = e.pageBits;
    }
  }

  resetCounters(): void {
    this.hits = 0;
    this.misses = 0;
  }
}
