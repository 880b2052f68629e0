// Page tables as trees of their present entries, read from memory after a run: the guest's own
// tables (guest-physical), the VMM's shadow tables and stage-2 table (host-physical), and where
// all of them lie in host memory. What the report draws; the entries carry the fields of
// `walk --json`'s steps, so a hover shows an entry as `walk` would.

import { ST_PG } from '../isa/arch.js';
import { pagerSwitches } from '../isa/machine.js';
import { decodeFlags, entryHex, levelsOf, pageBitsAt, readEntry, readPfn, roleOf, STAGE2_SWITCHES, tableBytes, type Geometry, type RawEntry, type ReadBus, type Switches } from '../paging/index.js';
import { decodeShadowEntry } from '../shadow/index.js';
import { buildMachine } from '../scenario/build.js';
import type { Scenario } from '../scenario/model.js';
import { walkedMonitor } from '../scenario/under.js';
import type { NestedMemory, ShadowMemory } from '../vmm/index.js';

/** Most entries one tree lists; the rest are counted in `omitted`. */
export const MAX_TREE_ENTRIES = 4096;

/** One present entry of a table (the fields of a walk step), and the table it points to. */
export interface TableEntryJson {
  readonly index: number;
  /** the first virtual (or guest-physical, for stage 2) address the entry maps */
  readonly va: number;
  readonly entryAddress: number;
  readonly entryHex: string;
  readonly flags: Readonly<Record<string, boolean>>;
  /** 'table', 'leaf', or the fault the entry would raise ('page', 'reserved') */
  readonly role: string;
  /** next table (role 'table') or frame (role 'leaf'); -1 otherwise */
  readonly next: number;
  /** shadow leaves: the entry as `diff` shows it (rwxuad) */
  readonly decoded?: string;
  readonly table?: TableJson;
}

export interface TableJson {
  readonly depth: number;
  /** where the table lies, in the tree's address space */
  readonly base: number;
  /** entries the table has, present or not */
  readonly slots: number;
  readonly entries: readonly TableEntryJson[];
}

export type TreeKind = 'guest' | 'shadow' | 'stage2';

export interface TreeJson {
  readonly kind: TreeKind;
  /** the table's name (a scenario's page-table name), or what it is */
  readonly name: string;
  readonly geometry: string;
  /** how the geometry splits an address (what a view needs to place an address in the tree) */
  readonly levels: { readonly indexBits: readonly number[]; readonly offsetBits: number };
  /** 'guest-physical' for the guest's tables, 'host-physical' for the VMM's */
  readonly space: 'guest-physical' | 'host-physical';
  /** shadow trees: the guest root and view they shadow */
  readonly guestRoot?: number;
  readonly view?: string;
  readonly root: TableJson;
  /** present entries listed, and those left out past MAX_TREE_ENTRIES */
  readonly entries: number;
  readonly omitted: number;
}

/** A range of host memory and what it holds. */
export interface RegionJson {
  readonly kind: 'reserve' | 'vm' | 'guest table' | 'shadow table' | 'stage-2 table';
  readonly lo: number;
  readonly hi: number;
  readonly label: string;
}

/** One paging VMM's host after the run: its memory map and the trees it holds. */
export interface HostTablesJson {
  readonly under: 'shadow-eager' | 'nested' | 'bare';
  /** whether the tables are read after the run (VMM hosts) or as the scenario starts (bare) */
  readonly afterRun: boolean;
  readonly memorySize: number;
  readonly pageBytes: number;
  readonly regions: readonly RegionJson[];
  readonly trees: readonly TreeJson[];
}

/**
 * The tables of scenario `s` (one paging guest) after running it under `under`: the guest's
 * tables from every root it declares, and the shadow spaces (shadow-eager) or the stage-2 table
 * (nested), with the host memory map. Throws as walkedMonitor does when the VMM cannot host it.
 */
export function hostTables(s: Scenario, under: 'shadow-eager' | 'nested', withGuest = true): HostTablesJson {
  const m = walkedMonitor(s, under, { access: 0, afterRun: true });
  const vm = m.vms[0];
  const g = s.paging!.geometry;
  const pageBytes = 2 ** g.offsetBits;
  const mem = vm.memory as ShadowMemory | NestedMemory;
  const guestSwitches = pagerSwitches(vm.vcpu.status);
  const guest = (withGuest ? guestRoots(s, vm.vcpu.status & ST_PG ? vm.vcpu.ptbr : undefined) : []).map(([name, root]) => dumpTree(g, mem.guestMemory, root, guestSwitches, { kind: 'guest', name, space: 'guest-physical' }));
  const vmm = under === 'nested' ? [stage2Tree(m.host.mem, mem as NestedMemory)] : shadowTrees(m.host.mem, mem as ShadowMemory);
  const hostPage = (gpa: number) => mem.physmap.hostPage(Math.floor(gpa / pageBytes)) * pageBytes;
  const regions: RegionJson[] = [
    { kind: 'reserve', lo: 0, hi: m.layout.reserve, label: "the VMM's reserve" },
    ...m.layout.allocations.map((a, i) => ({ kind: 'vm' as const, lo: a.addr0, hi: a.addr0 + a.vmsize, label: `VM ${i} (${vm.name})` })),
    ...guest.flatMap((t) => tablePages(t).map((p) => ({ kind: 'guest table' as const, lo: hostPage(p), hi: hostPage(p) + pageBytes, label: `${t.name} table at gPA 0x${p.toString(16)}` }))).filter((r) => r.lo >= 0),
    ...vmm.flatMap((t) => tablePages(t).map((p) => ({ kind: t.kind === 'stage2' ? ('stage-2 table' as const) : ('shadow table' as const), lo: p, hi: p + pageBytes, label: `${t.name} table` }))),
  ];
  return { under, afterRun: true, memorySize: m.layout.memorySize, pageBytes, regions: regions.sort((a, b) => a.lo - b.lo || a.kind.localeCompare(b.kind)), trees: [...guest, ...vmm] };
}

/**
 * The guest's tables of scenario `s` (one paging guest) as it starts, before any run — what
 * `walk` shows by default — for a report with no paging VMM. Its memory map is the machine's
 * memory and the table pages.
 */
export function bareTables(s: Scenario): HostTablesJson {
  const m = buildMachine(s);
  const g = s.paging!.geometry;
  const pageBytes = 2 ** g.offsetBits;
  const trees = guestRoots(s, m.status & ST_PG ? m.ptbr : undefined).map(([name, root]) => dumpTree(g, m.mem, root, pagerSwitches(m.status), { kind: 'guest', name, space: 'guest-physical' }));
  const regions = trees.flatMap((t) => tablePages(t).map((p) => ({ kind: 'guest table' as const, lo: p, hi: p + pageBytes, label: `${t.name} table at 0x${p.toString(16)}` })));
  return { under: 'bare', afterRun: false, memorySize: m.mem.size, pageBytes, regions: regions.sort((a, b) => a.lo - b.lo), trees };
}

/** The scenario's page tables by name, and the root in use (paging on) when it is none of them. */
function guestRoots(s: Scenario, finalRoot: number | undefined): [string, number][] {
  const roots = [...(s.paging?.layout.roots ?? new Map<string, number>())];
  if (finalRoot !== undefined && !roots.some(([, r]) => r === finalRoot)) roots.push([`root 0x${finalRoot.toString(16)}`, finalRoot]);
  return roots;
}

/** Every shadow space of the VM, in the order the VMM made them. */
function shadowTrees(host: ReadBus, mem: ShadowMemory): TreeJson[] {
  const readBack: Switches = { wp: false, nxe: true, sum: false };
  return mem.shadowSpaces().map((sp) => {
    const guestRoot = sp.guestRoot < 0 ? 'the physical space' : `0x${sp.guestRoot.toString(16)}`;
    const decode = (e: RawEntry) => decodeShadowEntry(mem.geometry, e)?.flags;
    return { ...dumpTree(mem.geometry, host, sp.root, readBack, { kind: 'shadow', name: `shadow of ${guestRoot}, ${sp.view} view`, space: 'host-physical' }, decode), guestRoot: sp.guestRoot, view: sp.view };
  });
}

function stage2Tree(host: ReadBus, mem: NestedMemory): TreeJson {
  return dumpTree(mem.stage2, host, mem.root, STAGE2_SWITCHES, { kind: 'stage2', name: 'stage 2 (gPA -> hPA)', space: 'host-physical' });
}

/** Table pages of a tree, root first (the page each table starts in). */
export function tablePages(t: TreeJson): number[] {
  const out: number[] = [];
  const visit = (tb: TableJson) => {
    out.push(tb.base);
    for (const e of tb.entries) if (e.table) visit(e.table);
  };
  visit(t.root);
  return [...new Set(out)];
}

/**
 * The tree of present entries below `root` in `bus`, classified as the walker would under
 * switches `sw`; a table pointing outside `bus` is listed without its contents. At most
 * MAX_TREE_ENTRIES entries; the rest are counted.
 */
export function dumpTree(g: Geometry, bus: ReadBus, root: number, sw: Switches, head: Pick<TreeJson, 'kind' | 'name' | 'space'>, decode?: (leaf: RawEntry) => string | undefined): TreeJson {
  const walk: Dump = { g, bus, sw, decode, left: MAX_TREE_ENTRIES, omitted: 0 };
  const rootTable = dumpTable(walk, root, 0, 0);
  return { ...head, geometry: g.name, levels: { indexBits: g.indexBits, offsetBits: g.offsetBits }, root: rootTable, entries: MAX_TREE_ENTRIES - walk.left, omitted: walk.omitted };
}

/** A dump in progress: what it reads, and how many entries it may still list. */
interface Dump {
  readonly g: Geometry;
  readonly bus: ReadBus;
  readonly sw: Switches;
  readonly decode: ((leaf: RawEntry) => string | undefined) | undefined;
  left: number;
  omitted: number;
}

function dumpTable(d: Dump, base: number, depth: number, va: number): TableJson {
  const { g, bus, sw } = d;
  const f = g.entry;
  const slots = 2 ** g.indexBits[depth];
  const span = 2 ** pageBitsAt(g, depth);
  const last = depth === levelsOf(g) - 1;
  const entries: TableEntryJson[] = [];
  const raw = { lo: 0, hi: 0 };
  for (let i = 0; i < slots; i++) {
    const at = base + i * f.bytes;
    readEntry(f, bus, at, raw);
    const role = roleOf(g, raw.lo, raw.hi, depth, sw);
    if (role === 'invalid') continue;
    if (d.left === 0) {
      d.omitted++;
      continue;
    }
    d.left--;
    const next = role === 'table' || role === 'leaf' ? readPfn(f, raw.lo, raw.hi) * 2 ** g.offsetBits : -1;
    const inside = next >= 0 && next + tableBytes(g, Math.min(depth + 1, levelsOf(g) - 1)) <= bus.size;
    const decoded = role === 'leaf' ? d.decode?.(raw) : undefined;
    const entry = { index: i, va: va + i * span, entryAddress: at, entryHex: entryHex(f, raw.lo, raw.hi), flags: decodeFlags(f, raw.lo, raw.hi) as Record<string, boolean>, role, next, ...(decoded ? { decoded } : {}) };
    entries.push(role === 'table' && !last && inside ? { ...entry, table: dumpTable(d, next, depth + 1, entry.va) } : entry);
  }
  return { depth, base, slots, entries };
}
