// `shadowlab walk <scenario> <va>...`: how the scenario's machine translates addresses — the
// base/bounds check on a segment machine, every page-table step on a paging machine — without
// side effects (no A/D bits, no TLB fill).

import type { Command } from 'commander';
import { ST_MODE_MASK, ST_PG } from '../../isa/arch.js';
import { pagerSwitches, type Machine } from '../../isa/machine.js';
import { ACCESS_KIND_NAMES, walk, type AccessKind, type WalkStep } from '../../paging/index.js';
import { buildMachine } from '../../scenario/build.js';
import { loadScenario, resolveValue, type Scenario } from '../../scenario/load.js';
import { runMachine } from '../../isa/run.js';
import { hex, table } from '../format.js';
import { UsageError, type Outcome } from '../main.js';
import { SCHEMA_VERSION } from './run.js';

interface WalkOptions {
  access: string;
  mode?: string;
  json?: boolean;
  ptbr?: string;
  afterRun?: boolean;
}

export type WalkFaultKind = 'page' | 'protection' | 'reserved' | 'bounds';

export interface StepJson {
  readonly depth: number;
  readonly index: number;
  readonly entryAddress: number;
  /** the raw entry (exact: written as an integer literal of any size) */
  readonly entry: number | bigint;
  readonly entryHex: string;
  readonly flags: Readonly<Record<string, boolean>>;
  readonly role: string;
  /** next table base (role 'table') or frame (role 'leaf'); -1 otherwise */
  readonly next: number;
}

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
}

export function registerWalk(program: Command, done: (o: Outcome) => void): void {
  program
    .command('walk')
    .description("translate virtual addresses the way the scenario's machine would, step by step")
    .argument('<scenario>', 'scenario file (YAML)')
    .argument('<va...>', 'virtual addresses (decimal or 0x...)')
    .option('--access <kind>', 'read | write | fetch', 'read')
    .option('--mode <mode>', 'user | supervisor (default: the mode of the PSW)')
    .option('--ptbr <value>', 'walk from this root (an address or a page-table name) instead of the PSW\'s')
    .option('--after-run', 'run the scenario first and walk its final state')
    .option('--json', 'print the walks as JSON')
    .action((file: string, vas: string[], opts: WalkOptions) => {
      const data = collectWalk(file, vas, opts);
      process.stdout.write(opts.json ? `${toJson(data)}\n` : printWalk(data));
      done('ok');
    });
}

/** Parses a decimal or 0x-hex address argument. */
function parseAddress(text: string, what: string): number {
  const n = /^0x[0-9a-f]+$/i.test(text) || /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(n) || n < 0 || n >= 2 ** 32) throw new UsageError(`${what}: expected an address (decimal or 0x...) below 2^32, got '${text}'`);
  return n;
}

export function collectWalk(file: string, vaTexts: readonly string[], opts: WalkOptions): WalkData {
  const s = loadScenario(file);
  const access = ACCESS_KIND_NAMES.indexOf(opts.access as (typeof ACCESS_KIND_NAMES)[number]);
  if (access < 0) throw new UsageError(`--access: expected read, write or fetch, got '${opts.access}'`);
  if (opts.mode !== undefined && opts.mode !== 'user' && opts.mode !== 'supervisor') throw new UsageError(`--mode: expected user or supervisor, got '${opts.mode}'`);
  const vas = vaTexts.map((v) => parseAddress(v, 'va'));
  const m = buildMachine(s);
  if (opts.afterRun) runMachine(m, s.spec.steps);
  const ptbr = opts.ptbr === undefined ? m.ptbr : parsePtbr(s, opts.ptbr);
  const user = opts.mode === undefined ? (m.status & ST_MODE_MASK) !== 0 : opts.mode === 'user';
  if (s.paging) {
    const g = s.paging.geometry;
    const tooWide = vas.find((va) => va >= 2 ** g.vaBits);
    if (tooWide !== undefined) throw new UsageError(`va 0x${tooWide.toString(16)} is wider than the ${g.vaBits}-bit virtual address space of geometry '${g.name}'`);
  }
  return {
    schemaVersion: SCHEMA_VERSION,
    scenario: { file, name: s.name },
    translation: s.spec.machine.translation,
    ...(s.paging ? { geometry: s.paging.geometry.name, ptbr } : {}),
    walks: vas.map((va) => walkAddress(s, m, va, access as AccessKind, user, ptbr)),
  };
}

function parsePtbr(s: Scenario, text: string): number {
  if (s.symbols.has(text)) return resolveValue(text, s.symbols);
  return parseAddress(text, '--ptbr');
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

function stepJson(st: WalkStep): StepJson {
  const exact = st.hi * 2 ** 32 + st.lo;
  return {
    depth: st.depth,
    index: st.index,
    entryAddress: st.entryAddress,
    entry: Number.isSafeInteger(exact) ? exact : (BigInt(st.hi) << 32n) | BigInt(st.lo),
    entryHex: st.hex,
    flags: st.flags as Record<string, boolean>,
    role: st.role,
    next: st.next,
  };
}

/** JSON with bigints written as exact integer literals. */
export function toJson(data: unknown): string {
  return JSON.stringify(data, (_k, v: unknown) => (typeof v === 'bigint' ? `@@int:${v}@@` : v), 2).replace(/"@@int:(\d+)@@"/g, '$1');
}

export function printWalk(d: WalkData): string {
  const out: string[] = [`scenario ${d.scenario.name}: ${d.translation}${d.geometry ? `, geometry ${d.geometry}, root ${hex(d.ptbr!)}` : ''}`];
  for (const w of d.walks) {
    out.push('', `va ${hex(w.va)} (${w.access}, ${w.mode})`);
    if (w.segment) {
      const sg = w.segment;
      const rule = sg.convention === 'size' ? 'va + 1 <= L' : 'B + va + 1 <= L';
      out.push(`  segment: B = ${hex(sg.base)}, L = ${hex(sg.limit)} (${sg.convention} convention: legal iff ${rule}) -> ${sg.linear === null ? 'bounds violation' : `linear ${hex(sg.linear)}`}`);
    }
    if (w.steps.length) {
      out.push(table(['depth', 'index', 'entry at', 'entry', 'decoded', 'next'], w.steps.map((st) => [st.depth, st.index, hex(st.entryAddress), st.entryHex, decoded(st), st.next >= 0 ? `${st.role} ${hex(st.next)}` : st.role])));
    }
    out.push(w.result.ok ? `  -> pa ${hex(w.result.pa)}, byte there = ${hex(w.result.value, 2)}${w.paging ? ` (${w.refs} table references)` : ''}` : `  -> ${w.result.fault.kind} fault${w.result.fault.depth >= 0 ? ` at depth ${w.result.fault.depth}` : ''}`);
  }
  return `${out.join('\n')}\n`;
}

function decoded(st: StepJson): string {
  const on = Object.entries(st.flags).filter(([, v]) => v).map(([k]) => k);
  return on.length ? on.join(' ') : '-';
}
