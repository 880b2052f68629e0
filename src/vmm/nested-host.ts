// The real machine for nested paging and where everything lies in its memory:
//
//   [0, reserve)                  the VMM's reserve: trap slots, entry PSW, canary (as for segments)
//   [reserve, reserve + tables)   stage-2 table pages, handed out as the VMM builds each VM's table
//   the rest                      guest pages: each VM's physmap — one contiguous range (default,
//                                 packed after the tables), explicit ranges, or pages taken on first
//                                 touch from the free host memory (on-demand)
//
// The real machine pages with the guests' geometry as stage 1 and the host geometry (default:
// the guests') as stage 2; all VMs of one machine share the guest geometry.

import { encodeHeader, ST_NXE, ST_PG } from '../isa/arch.js';
import { Op } from '../isa/instructions.js';
import { Machine } from '../isa/machine.js';
import { createPager, type PagingConfig } from '../mmu/paging-unit.js';
import { contiguousPhysmap, explicitPhysmap, onDemandPhysmap, type Physmap, type PhysRange } from '../mmu/physmap.js';
import { tableBytes, type Geometry } from '../paging/index.js';
import { LOW_MEMORY_END } from '../isa/arch.js';
import { needsTruncation, VMM_CANARY, VMM_ENTRY, VMM_RESERVE, vmmEntryPsw, type HostLayout, type VmmRegion } from './construction.js';
import { guestProblem, type GuestImage } from './guest.js';
import { describeEscape, hardwareProblem, realModeEscapes, realProfile } from './hardware.js';
import { installEntry, theorem1Fails } from './host.js';
import { NestedMemory, TableArea } from './nested-memory.js';
import { ShadowMemory, type ShadowPolicy } from './shadow-memory.js';
import { TablePool } from '../shadow/index.js';

/** How the VMM lays out a nested-paging host (every field optional). */
export interface NestedOptions {
  /** host memory in bytes (default: reserve + table area + each guest's memory, packed) */
  readonly memory?: number;
  /** the VMM's reserve at the bottom (default 4 KiB; at least 128 bytes, a multiple of the host page) */
  readonly reserve?: number;
  /** the stage-2 table's geometry (default: the guests') */
  readonly stage2?: Geometry;
  /** bytes for stage-2 tables (default: enough for every guest's memory mapped in full, at most a quarter of the host) */
  readonly tableBytes?: number;
  /** per guest: explicit ranges, 'on-demand' (from free host memory), or contiguous (default) */
  readonly physmaps?: readonly (readonly PhysRange[] | 'on-demand' | undefined)[];
  /** run guests whose profile lets user mode change the resource-control state (demonstration) */
  readonly allowUnsafe?: boolean;
  /** shadow paging for guests whose traps keep the address space: the VMM lives in every shadow space (address space compression) */
  readonly compress?: boolean;
}

/** Where things lie in a nested host, and each guest's physmap. */
export interface NestedPlan {
  readonly layout: HostLayout;
  readonly tables: { readonly lo: number; readonly hi: number };
  readonly stage2: Geometry;
  readonly physmaps: readonly Physmap[];
}

const roundUp = (n: number, to: number) => Math.ceil(n / to) * to;
const hex = (n: number) => `0x${n.toString(16)}`;

/** Host bytes of stage-2 tables that map `bytes` of guest-physical memory in full with `g`. */
function tablesFor(g: Geometry, bytes: number): number {
  const page = 2 ** g.offsetBits;
  let total = 0;
  let span = 2 ** g.vaBits;
  for (let depth = 0; depth < g.indexBits.length; depth++) {
    total += Math.max(1, Math.ceil(bytes / span)) * roundUp(tableBytes(g, depth), page);
    span /= 2 ** g.indexBits[depth];
  }
  return total;
}

/**
 * Why these guests cannot run under nested paging together (with `o`), or undefined: the VMM's
 * common limits (guestProblem), guests that do not page or page with different geometries, a
 * host geometry whose pages are larger than the guests', a layout that does not fit, or — unless
 * `allowUnsafe` — a real machine that cannot confine them (Theorem 1's precondition fails).
 */
export function nestedProblem(guests: readonly GuestImage[], o: NestedOptions = {}): string | undefined {
  if (guests.length === 0) return 'no guests';
  for (const g of guests) {
    const why = guestProblem(g, 'nested');
    if (why) return guests.length > 1 ? `guest '${g.name}': ${why}` : why;
  }
  const geometry = guests[0].paging!.geometry;
  const other = guests.find((g) => g.paging!.geometry.name !== geometry.name);
  if (other) return `guest '${other.name}' pages with geometry ${other.paging!.geometry.name} and '${guests[0].name}' with ${geometry.name}; one real MMU walks one stage-1 geometry`;
  const switching = (g: GuestImage) => g.config.trapSwitchesAddressSpace !== false;
  const mixed = guests.find((g) => switching(g) !== switching(guests[0]));
  if (mixed) return `guest '${mixed.name}' and '${guests[0].name}' differ in trapSwitchesAddressSpace; one real machine traps one way`;
  if (o.compress && geometry.entry.flags.user === undefined) return `address space compression needs a user/supervisor bit to hide the VMM's region from the guest; the ${geometry.entry.name} entry format has none`;
  const sized = guests.find((g) => g.config.memorySize !== guests[0].config.memorySize);
  if (sized) return `guest '${sized.name}' has ${sized.config.memorySize} bytes and '${guests[0].name}' ${guests[0].config.memorySize}; VMs under one nested-paging MMU have one guest-physical size`;
  const plan = planNested(guests, o);
  if (typeof plan === 'string') return plan;
  const why = hardwareProblem(guests.map((g) => g.config.profile));
  if (why) return why;
  const real = realProfile(guests.map((g) => g.config.profile));
  const escapes = realModeEscapes(real, guests[0].config.bounds ?? 'size');
  if (escapes.length && !o.allowUnsafe) return theorem1Fails(describeEscape(escapes[0], real.modes));
  return undefined;
}

/** The host's layout and the guests' physmaps, or why they do not fit. */
export function planNested(guests: readonly GuestImage[], o: NestedOptions = {}): NestedPlan | string {
  const guestGeometry = guests[0].paging!.geometry;
  const stage2 = o.stage2 ?? guestGeometry;
  const hostPage = 2 ** stage2.offsetBits;
  const guestPage = 2 ** guestGeometry.offsetBits;
  if (hostPage > guestPage) return `the stage-2 geometry ${stage2.name} has ${hostPage}-byte pages, larger than the guests' ${guestPage}-byte pages: it cannot place each guest page on its own`;
  const reserve = o.reserve ?? Math.max(VMM_RESERVE, hostPage);
  if (reserve < LOW_MEMORY_END || reserve % hostPage !== 0) return `the VMM's reserve (${reserve} bytes) must be at least ${LOW_MEMORY_END} bytes and a multiple of the host page (${hostPage} bytes)`;
  const sizes = guests.map((g) => g.config.memorySize);
  const fullTables = sizes.reduce((n, size) => n + tablesFor(stage2, size), 0);
  // on-demand guests map only what they touch: their tables get a quarter of a host the scenario sizes
  const onDemand = o.physmaps?.some((p) => p === 'on-demand') === true;
  const defaultTables = onDemand && o.memory !== undefined ? Math.min(fullTables, Math.floor(o.memory / 4)) : fullTables;
  const tables = roundUp(o.tableBytes ?? defaultTables, hostPage);
  const tablesEnd = reserve + tables;
  if (o.memory !== undefined && tablesEnd >= o.memory) return `the VMM's reserve and stage-2 table area end at ${hex(tablesEnd)}, at or past the host's ${hex(o.memory)} bytes (give the host more memory, or vmm.tables fewer bytes)`;
  const memory = o.memory ?? sizes.reduce((end, size, i) => (o.physmaps?.[i] === undefined ? roundUp(end, guestPage) + size : end), tablesEnd);
  if (memory > 2 ** 32) return `the host needs ${memory} bytes of memory, more than 4 GiB`;
  const maxHost = 2 ** (stage2.entry.pfnBits + stage2.offsetBits);
  if (memory > maxHost) return `the stage-2 geometry ${stage2.name} reaches ${hex(maxHost)} bytes of host memory (its frame numbers are ${stage2.entry.pfnBits} bits), less than the host's ${hex(memory)}`;
  const physmaps: Physmap[] = [];
  let next = roundUp(tablesEnd, guestPage);
  const claimed: [number, number][] = [[0, tablesEnd]];
  for (let i = 0; i < guests.length; i++) {
    const spec = o.physmaps?.[i];
    const size = sizes[i];
    let result: Physmap | string;
    if (spec === undefined) {
      if (next + size > memory) return `guest '${guests[i].name}' (${size} bytes) does not fit in host memory of ${hex(memory)} bytes after ${hex(next)}`;
      result = contiguousPhysmap(next, size, guestPage);
      next = roundUp(next + size, guestPage);
    } else if (spec === 'on-demand') {
      const pool = freeRanges(claimed, memory, guestPage);
      const r = onDemandPhysmap({ guestBytes: size, pageBytes: guestPage, hostBytes: memory, pool: pool.map(([lo, hi]) => ({ hpa: lo, size: hi - lo })) });
      result = r.ok ? r.physmap : `guest '${guests[i].name}': ${r.problems[0].message}`;
    } else {
      const r = explicitPhysmap({ guestBytes: size, pageBytes: guestPage, hostBytes: memory, ranges: spec });
      result = r.ok ? r.physmap : `guest '${guests[i].name}': physmap range ${r.problems[0].index}: ${r.problems[0].message}`;
    }
    if (typeof result === 'string') return result;
    for (const [lo, hi] of result.claimedRanges()) {
      const hit = claimed.find(([a, b]) => lo < b && a < hi);
      if (hit) return `guest '${guests[i].name}': host [${hex(lo)}, ${hex(hi)}) overlaps ${hit[0] < tablesEnd ? "the VMM's reserve and stage-2 tables" : 'another guest'} at [${hex(hit[0])}, ${hex(hit[1])})`;
    }
    claimed.push(...result.claimedRanges());
    physmaps.push(result);
  }
  const allocations = physmaps.map((p) => ({ addr0: p.claimedRanges()[0]?.[0] ?? tablesEnd, vmsize: p.guestBytes }));
  const region = o.compress ? vmmRegion(guestGeometry, reserve, needsTruncation(guests[0].config.profile)) : undefined;
  return { layout: { reserve, allocations, memorySize: memory, ...(region ? { region } : {}) }, tables: { lo: reserve, hi: tablesEnd }, stage2, physmaps };
}

/**
 * Address space compression: the VMM's reserve mapped at the top of the guests' virtual address
 * space (whole guest pages), where its entry runs paged in supervisor mode — NX honoured when the
 * format has it, as while the guest runs.
 */
function vmmRegion(g: Geometry, reserve: number, truncate: boolean): VmmRegion {
  const bytes = roundUp(reserve, 2 ** g.offsetBits);
  return { va: 2 ** g.vaBits - bytes, bytes, status: ST_PG | (g.entry.flags.noExecute !== undefined ? ST_NXE : 0), truncate };
}

/** The parts of [0, memory) outside `claimed`, page-aligned. */
function freeRanges(claimed: readonly [number, number][], memory: number, page: number): [number, number][] {
  const sorted = [...claimed].sort((a, b) => a[0] - b[0]);
  const out: [number, number][] = [];
  let at = 0;
  for (const [lo, hi] of sorted) {
    const start = roundUp(at, page);
    if (lo - (lo % page) > start) out.push([start, lo - (lo % page)]);
    at = Math.max(at, hi);
  }
  const start = roundUp(at, page);
  const end = memory - (memory % page);
  if (end > start) out.push([start, end]);
  return out;
}

/**
 * The real machine for nested paging — the guests' shared profile, paging with the guests'
 * geometry over the VMs' stage-2 tables — in the VMM's entry PSW, each VM's memory strategy, and
 * the plan they follow. Throws RangeError with nestedProblem's reason when the guests cannot be hosted.
 */
export function buildNestedHost(guests: readonly GuestImage[], o: NestedOptions = {}): { host: Machine; layout: HostLayout; memories: NestedMemory[]; plan: NestedPlan } {
  const { host, plan } = pagingHost(guests, o, (paging, p) => ({ geometry: paging.geometry, tlb: paging.tlb, stage2: { geometry: p.stage2, root: 0, guestSize: guests[0].config.memorySize } }));
  const area = new TableArea(plan.tables.lo, plan.tables.hi, 2 ** plan.stage2.offsetBits);
  const memories = plan.physmaps.map((p) => new NestedMemory(host, p, plan.stage2, area, host.profile));
  return { host, layout: plan.layout, memories, plan };
}

/**
 * The real machine for shadow paging: the same host as nested paging (reserve, a table area —
 * here the shadow table pool, sized by shadowHostOptions — and the physmaps), but its MMU walks
 * the shadow tables alone, in the guests' geometry.
 */
export function buildShadowHost(guests: readonly GuestImage[], o: NestedOptions = {}, policy: ShadowPolicy = 'eager'): { host: Machine; layout: HostLayout; memories: ShadowMemory[]; plan: NestedPlan } {
  const { host, plan } = pagingHost(guests, shadowHostOptions(guests, o), (paging) => ({ geometry: paging.geometry, tlb: paging.tlb }));
  const tables = new TablePool(plan.tables.lo, plan.tables.hi, 2 ** plan.stage2.offsetBits);
  const memories = plan.physmaps.map((p) => new ShadowMemory(host, p, guests[0].paging!.geometry, tables, host.profile, policy, plan.layout.region));
  return { host, layout: plan.layout, memories, plan };
}

/**
 * The host options of a shadow-paging host: `o` without a stage-2 geometry (there is no stage 2;
 * the shadow tables are in the guests' geometry), with a shadow table pool — unless the scenario
 * sizes it — of four times what maps every guest's memory in full (room for several address
 * spaces and both views), at most a quarter of the host when the scenario sizes the host.
 */
export function shadowHostOptions(guests: readonly GuestImage[], o: NestedOptions): NestedOptions {
  const { stage2: _, ...options } = o;
  const rest = guests[0]?.config.trapSwitchesAddressSpace === false ? { ...options, compress: true } : options;
  const g = guests[0]?.paging?.geometry;
  if (o.tableBytes !== undefined || g === undefined) return rest;
  const full = 4 * guests.reduce((n, x) => n + tablesFor(g, x.config.memorySize), 0);
  const page = 2 ** g.offsetBits;
  return { ...rest, tableBytes: o.memory === undefined ? full : Math.max(page, Math.min(full, Math.floor(o.memory / 4 / page) * page)) };
}

/**
 * The real paging machine both strategies share, in the VMM's entry PSW, and its plan. A trap
 * into the VMM keeps the real PTBR: the VMM runs unpaged, and the guest's entries stay in the
 * real TLB across exits it never sees (as VPID-tagged entries do). Throws RangeError with
 * nestedProblem's reason when the guests cannot be hosted.
 */
function pagingHost(guests: readonly GuestImage[], o: NestedOptions, pager: (paging: NonNullable<GuestImage['paging']>, plan: NestedPlan) => PagingConfig): { host: Machine; plan: NestedPlan } {
  const why = nestedProblem(guests, o);
  if (why) throw new RangeError(`nested: ${why}`);
  const plan = planNested(guests, o) as NestedPlan;
  const truncate = plan.layout.region?.truncate === true;
  const host = new Machine({
    profile: realProfile(guests.map((g) => g.config.profile)),
    memorySize: plan.layout.memorySize,
    translation: truncate ? 'segment+paging' : 'paging',
    trapSwitchesAddressSpace: false,
    trapLoadsSegment: truncate,
    pager: (mem) => createPager(mem, pager(guests[0].paging!, plan)),
  });
  host.exitOnTrap = true;
  installEntry(host, plan.layout);
  host.store32(VMM_ENTRY, encodeHeader(Op.Halt, 0, 0, 0, false));
  for (let pa = VMM_ENTRY + 8; pa < plan.layout.reserve; pa += 4) host.store32(pa, VMM_CANARY ^ pa);
  host.loadPsw(vmmEntryPsw(plan.layout));
  return { host, plan };
}
