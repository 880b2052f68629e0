// Walking addresses through a scenario's translation — the base/bounds check on a segment
// machine, every page-table step on a paging machine — without side effects (no A/D bits, no TLB
// fill): what `shadowlab walk` prints and the library API returns.

import { ST_MODE_MASK, ST_PG } from '../isa/arch.js';
import { pagerSwitches, type Machine } from '../isa/machine.js';
import { runMachine } from '../isa/run.js';
import { ACCESS_KIND_NAMES, walk, type AccessKind } from '../paging/index.js';
import { buildMachine } from './build.js';
import { UsageError } from './errors.js';
import { resolveValue, type Scenario } from './model.js';
import { SCHEMA_VERSION } from './record.js';
import { nestedView, type NestedView } from './walk-nested.js';
import { shadowWalkView, type ShadowWalkView } from './walk-shadow.js';
import { stepJson, type StepJson } from './walk-json.js';

export type { StepJson } from './walk-json.js';

export interface WalkOptions {
  /** read (default), write or fetch */
  readonly access?: string;
  /** user or supervisor (default: the mode of the PSW) */
  readonly mode?: string;
  /** walk from this root: an address, or a page-table name */
  readonly ptbr?: string;
  /** run the scenario first (for `steps` instructions, default its budget) and walk its final state */
  readonly afterRun?: boolean;
  readonly steps?: number;
  /** 'guest' (default): the guest's own translation; 'nested': both stages under the nested-paging VMM; 'shadow': guest, physmap and shadow entry under the shadow-paging VMM */
  readonly view?: string;
}

export type WalkFaultKind = 'page' | 'protection' | 'reserved' | 'bounds';


export interface SegmentJson {
  readonly base: number;
  readonly limit: number;
  readonly convention: 'size' | 'end';
  readonly linear: number | null;
}

export interface AddressWalk {
  readonly va: number;
  readonly access: string;
  readonly mode: string;
  readonly segment?: SegmentJson;
  readonly paging: boolean;
  readonly steps: readonly StepJson[];
  readonly refs: number;
  readonly result: { readonly ok: true; readonly pa: number; readonly value: number } | { readonly ok: false; readonly fault: { readonly kind: WalkFaultKind; readonly depth: number } };
}

export interface WalkData {
  readonly schemaVersion: number;
  readonly scenario: { readonly file: string; readonly name: string };
  readonly translation: string;
  readonly geometry?: string;
  readonly ptbr?: number;
  readonly walks: readonly AddressWalk[];
  /** with view 'nested': every address through both stages (walks is then empty) */
  readonly nested?: NestedView;
  /** with view 'shadow': every address through the guest, the physmap and the shadow (walks is then empty) */
  readonly shadow?: ShadowWalkView;
}

/** A decimal or 0x-hex address, or undefined when `text` is not one (or not below 2^32). */
function addressValue(text: string): number | undefined {
  const n = /^0x[0-9a-f]{1,8}$/i.test(text) || /^\d{1,10}$/.test(text) ? Number(text) : NaN;
  return Number.isInteger(n) && n < 2 ** 32 ? n : undefined;
}

/** An address argument: a number, or a label of the scenario's programs (its program address). */
function parseVa(s: Scenario, text: string): number {
  const n = addressValue(text) ?? (s.symbols.has(text) ? resolveValue(text, s.symbols) >>> 0 : undefined);
  if (n === undefined) throw new UsageError(`va: expected an address (decimal or 0x...) below 2^32 or a label of the scenario's programs, got '${text}'`);
  return n;
}

/**
 * The walks of every address in `vaTexts` through scenario `s`'s machine (built, or run first
 * with `afterRun`). Throws UsageError for options that make no sense for the scenario.
 */
export function walkRecord(s: Scenario, vaTexts: readonly string[], opts: WalkOptions = {}): WalkData {
  const accessName = opts.access ?? 'read';
  const access = ACCESS_KIND_NAMES.indexOf(accessName as (typeof ACCESS_KIND_NAMES)[number]);
  if (access < 0) throw new UsageError(`--access: expected read, write or fetch, got '${accessName}'`);
  if (opts.mode !== undefined && opts.mode !== 'user' && opts.mode !== 'supervisor') throw new UsageError(`--mode: expected user or supervisor, got '${opts.mode}'`);
  if (opts.ptbr !== undefined && !s.paging) throw new UsageError(`--ptbr: scenario ${s.name} has no paging hardware (translation ${s.spec.machine.translation})`);
  if (opts.steps !== undefined && !opts.afterRun) throw new UsageError('--steps is the budget of --after-run; it does nothing without it');
  if (s.host) throw new UsageError(`walk translates one machine's addresses; ${s.name} lists VMs (walk one VM's scenario)`);
  const vas = vaTexts.map((v) => parseVa(s, v));
  const view = opts.view ?? 'guest';
  if (view !== 'guest' && view !== 'nested' && view !== 'shadow') throw new UsageError(`--view: expected guest, nested or shadow, got '${view}'`);
  if (view !== 'guest') {
    if (!s.paging) throw new UsageError(`--view ${view} shows a paging guest under a VMM; ${s.name} does not page`);
    const vmm = {
      access: access as AccessKind,
      ...(opts.mode === undefined ? {} : { user: opts.mode === 'user' }),
      ...(opts.ptbr === undefined ? {} : { ptbr: parsePtbr(s, opts.ptbr) }),
      afterRun: opts.afterRun === true,
      ...(opts.steps === undefined ? {} : { steps: opts.steps }),
    };
    const head = { schemaVersion: SCHEMA_VERSION, scenario: { file: s.file, name: s.name }, translation: s.spec.machine.translation, walks: [] };
    if (view === 'shadow') {
      const shadow = shadowWalkView(s, vas, vmm);
      return { ...head, geometry: shadow.geometry, ptbr: shadow.ptbr, shadow };
    }
    const nested = nestedView(s, vas, vmm);
    return { ...head, geometry: nested.geometry, ptbr: nested.ptbr, nested };
  }
  const m = buildMachine(s);
  if (opts.afterRun) runMachine(m, opts.steps ?? s.spec.steps);
  const ptbr = opts.ptbr === undefined ? m.ptbr : parsePtbr(s, opts.ptbr);
  const user = opts.mode === undefined ? (m.status & ST_MODE_MASK) !== 0 : opts.mode === 'user';
  if (s.paging) {
    const g = s.paging.geometry;
    const tooWide = vas.find((va) => va >= 2 ** g.vaBits);
    if (tooWide !== undefined) throw new UsageError(`va 0x${tooWide.toString(16)} is wider than the ${g.vaBits}-bit virtual address space of geometry '${g.name}'`);
  }
  return {
    schemaVersion: SCHEMA_VERSION,
    scenario: { file: s.file, name: s.name },
    translation: s.spec.machine.translation,
    ...(s.paging ? { geometry: s.paging.geometry.name, ptbr } : {}),
    walks: vas.map((va) => walkAddress(s, m, va, access as AccessKind, user, ptbr)),
  };
}

/** --ptbr: an address, or the name of one of the scenario's page tables. */
function parsePtbr(s: Scenario, text: string): number {
  const roots = s.paging!.layout.roots;
  const root = roots.get(text) ?? addressValue(text);
  if (root !== undefined) return root;
  const names = [...roots.keys()];
  throw new UsageError(`--ptbr: '${text}' is neither an address nor a page table of ${s.name} (${names.length ? `its tables: ${names.join(', ')}` : 'it declares no pageTables'})`);
}

/** One address through the machine's translation (segment check, then the page walk). */
function walkAddress(s: Scenario, m: Machine, va: number, access: AccessKind, user: boolean, ptbr: number): AddressWalk {
  const base = { va, access: ACCESS_KIND_NAMES[access], mode: user ? 'user' : 'supervisor' };
  let linear = va;
  let segment: SegmentJson | undefined;
  if (s.spec.machine.translation !== 'paging') {
    const r = m.linearAddress(va, 1);
    segment = { base: m.base, limit: m.limit, convention: s.spec.machine.bounds, linear: r < 0 ? null : r };
    if (r < 0) return { ...base, segment, paging: false, steps: [], refs: 0, result: { ok: false, fault: { kind: 'bounds', depth: -1 } } };
    linear = r;
  }
  const pagingOn = s.paging !== undefined && (m.status & ST_PG) !== 0;
  if (!pagingOn) {
    const ok = linear < m.mem.size;
    return { ...base, ...(segment ? { segment } : {}), paging: false, steps: [], refs: 0, result: ok ? { ok: true, pa: linear, value: m.mem.read8(linear) } : { ok: false, fault: { kind: 'bounds', depth: -1 } } };
  }
  const g = s.paging!.geometry;
  const w = walk(g, m.mem, ptbr, linear, { access, user, switches: pagerSwitches(m.status) });
  const steps = w.steps.map(stepJson);
  const result = w.ok ? { ok: true as const, pa: w.pa, value: m.mem.read8(w.pa) } : { ok: false as const, fault: { kind: w.fault.kind, depth: w.fault.depth } };
  return { ...base, ...(segment ? { segment } : {}), paging: true, steps, refs: w.refs, result };
}



