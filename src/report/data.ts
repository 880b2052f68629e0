// What a report shows, as one JSON document: the run record (`run --json`), the shadow diff
// (`diff --json`), walks (`walk --json`, the shadow view where the scenario runs under shadow
// paging) and the tables after the run. Every part is built by the builder its command uses;
// this file only chooses what to build. `report --json` prints it and `report --from` reads it.

import { diffRecord, type DiffData } from '../scenario/diff.js';
import type { Scenario } from '../scenario/model.js';
import { runRecord, SCHEMA_VERSION, type RunData } from '../scenario/record.js';
import { whyNotUnder, type UnderKind } from '../scenario/under.js';
import { walkRecord, type WalkData } from '../scenario/walk.js';
import { bareTables, hostTables, type HostTablesJson, type TableJson, type TreeJson } from './tables.js';

/** What `schemaVersion`-stamped documents a report is made of. */
export const REPORT_KIND = 'shadowlab-report';

/** Most addresses the walk view offers per address space. */
export const MAX_WALKS_PER_SPACE = 64;
/** Most address spaces (guest root and view) the walk view offers. */
export const MAX_WALK_SPACES = 8;

export interface ReportData {
  readonly schemaVersion: number;
  readonly kind: typeof REPORT_KIND;
  readonly scenario: { readonly file: string; readonly name: string; readonly description?: string };
  readonly run?: RunData;
  readonly diff?: DiffData;
  /** one walk record per address space walked */
  readonly walks?: readonly WalkData[];
  /** one per paging VMM that ran: its host memory map and trees */
  readonly tables?: readonly HostTablesJson[];
  /** why a part is missing, one line each */
  readonly notes: readonly string[];
}

export interface ReportOptions {
  /** the kinds to run (default: defaultKinds) */
  readonly under?: readonly UnderKind[] | 'all';
  /** run guests the VMMs refuse anyway (run --allow-unsafe) */
  readonly allowUnsafe?: boolean;
}

/**
 * The report of scenario `s`: runs it under `o.under` (default: defaultKinds) and, for a
 * paging guest, builds the shadow diff, the tables and the walks of the VMMs among them.
 * Throws what runRecord throws for kinds that cannot run the scenario.
 */
export function reportData(s: Scenario, o: ReportOptions = {}): ReportData {
  const under = o.under ?? defaultKinds(s);
  const run = runRecord(s, { ...(under ? { under } : {}), allowUnsafe: o.allowUnsafe === true });
  const ran = new Set(run.runs.map((r) => r.under));
  const notes: string[] = [];
  const paging = s.paging !== undefined && !s.host;
  if (!paging) notes.push(s.host ? 'tables and walks are shown for one guest; this file lists VMs' : `${s.name} does not page: no page tables to draw`);
  const shadow = ran.has('shadow-eager') || ran.has('shadow-lazy');
  const diff = shadow && whyNotUnder('shadow-eager', s) === undefined ? diffRecord(s) : undefined;
  const noShadow = whyNotUnder('shadow-eager', s);
  if (!diff && paging) notes.push(noShadow ? `no shadow diff: ${noShadow}` : 'no shadow diff: add shadow-eager to --under');
  const hosts = (['shadow-eager', 'nested'] as const).filter((k) => ran.has(k) || (k === 'shadow-eager' && shadow));
  const tables = !paging ? [] : hosts.length ? hosts.map((k, i) => hostTables(s, k, i === 0)) : [bareTables(s)];
  const walks = paging ? walkSpaces(s, tables, shadow) : [];
  return {
    schemaVersion: SCHEMA_VERSION,
    kind: REPORT_KIND,
    scenario: run.scenario,
    run,
    ...(diff ? { diff } : {}),
    ...(walks.length ? { walks } : {}),
    ...(tables.length ? { tables } : {}),
    notes,
  };
}

/** The kinds a report runs by default: bare and the VMMs of the guest's kind that can run it. */
export function defaultKinds(s: Scenario): UnderKind[] | undefined {
  if (s.host) return undefined;
  const wanted: UnderKind[] = s.paging ? ['bare', 'nested', 'shadow-eager'] : ['bare', 'vmm'];
  return wanted.filter((k) => whyNotUnder(k, s) === undefined);
}

/**
 * Walk records for the address spaces of the run: under shadow paging one per shadow space
 * (guest root and view: `walk --view shadow --after-run --ptbr R --mode M`), else one per guest
 * root (`walk --ptbr R`, --after-run when the tables are read after a VMM run), each over the
 * pages the shadow space has filled, then the other pages the guest's tables map there.
 */
function walkSpaces(s: Scenario, tables: readonly HostTablesJson[], shadow: boolean): WalkData[] {
  const trees = tables[0]?.trees ?? [];
  const guest = trees.filter((t) => t.kind === 'guest');
  const spaces = shadow
    ? trees.filter((t) => t.kind === 'shadow' && t.guestRoot !== undefined && t.guestRoot >= 0).map((t) => ({ root: t.guestRoot!, mode: t.view === 'user' ? 'user' : 'supervisor', filled: leafPages(t) }))
    : guest.map((t) => ({ root: t.root.base, mode: undefined, filled: [] }));
  const pagesOf = (sp: { root: number; filled: number[] }) => [...new Set([...sp.filled, ...leafPages(guest.find((t) => t.root.base === sp.root))])].slice(0, MAX_WALKS_PER_SPACE).sort((a, b) => a - b);
  return spaces
    .filter((sp) => pagesOf(sp).length > 0)
    .slice(0, MAX_WALK_SPACES)
    .map((sp) => walkRecord(s, pagesOf(sp).map(String), { afterRun: tables[0].afterRun, ptbr: String(sp.root), ...(sp.mode ? { mode: sp.mode } : {}), ...(shadow ? { view: 'shadow' } : {}) }));
}

/** The first virtual page of each leaf of a tree, in address order (at most MAX_WALKS_PER_SPACE). */
function leafPages(t: TreeJson | undefined): number[] {
  const out: number[] = [];
  const visit = (tb: TableJson) => {
    for (const e of tb.entries) {
      if (out.length >= MAX_WALKS_PER_SPACE) return;
      if (e.table) visit(e.table);
      else if (e.role === 'leaf') out.push(e.va);
    }
  };
  if (t) visit(t.root);
  return out;
}
