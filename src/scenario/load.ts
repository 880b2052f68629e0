// Loading a scenario file: YAML → schema validation → profile, assembled programs, resolved
// symbols. Every problem is collected with its location and thrown as one InputError.

import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, relative, resolve } from 'node:path';
import { AsmError, assemble, type AsmResult } from '../asm/index.js';
import { CORE_CAUSES, LOW_MEMORY_END } from '../isa/arch.js';
import { withOverrides, type Profile } from '../isa/profile.js';
import { profileByName, PROFILES } from '../isa/profiles/index.js';
import { InputError, type InputProblem } from './errors.js';
import { scenarioSchema, type Expectation, type ScenarioFile } from './schema.js';
import { parseYaml, problemAt, scalarOrigin, type Path, type YamlSource } from './yaml.js';
import { pagingSetup, type PagingSetup } from './paging.js';
import { checkLayout, VMM_RESERVE, type HostLayout } from '../vmm/index.js';
import { FRAME_SIZE } from '../mmu/memory.js';

export interface LoadedProgram {
  readonly name: string;
  /** physical address of the program's address `org` */
  readonly at: number;
  readonly org: number;
  readonly asm: AsmResult;
}

export interface Symbol {
  /** the program address (what code sees under relocation) */
  readonly value: number;
  /** where the label lies in physical memory (the program's at + value - org) */
  readonly physical: number;
  readonly program: string;
}

/** One VM of a multi-VM file: its guest scenario, with the budget and expectations it runs with. */
export interface LoadedVm {
  readonly name: string;
  readonly guest: Scenario;
}

export interface HostSpec {
  readonly vms: readonly LoadedVm[];
  readonly layout: HostLayout;
  readonly quantum?: number;
}

export interface Scenario {
  readonly file: string;
  readonly name: string;
  readonly description: string;
  readonly spec: ScenarioFile;
  readonly profile: Profile;
  readonly programs: readonly LoadedProgram[];
  readonly symbols: ReadonlyMap<string, Symbol>;
  /** the paging hardware and table layout, when translation includes paging */
  readonly paging: PagingSetup | undefined;
  /** a file that lists `vms`: the guests and where they go in the host (undefined otherwise) */
  readonly host?: HostSpec;
  /** locates a field of the file, for problems found after loading (e.g. by the runner) */
  readonly locate: (path: Path, message: string) => InputProblem;
}

/** Reads and loads the scenario at `path`. Throws InputError (located) on any bad input. */
export function loadScenario(path: string): Scenario {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new InputError([{ file: path, message: `cannot read the scenario file (${(e as NodeJS.ErrnoException).code ?? String(e)})` }]);
  }
  return parseScenario(text, path);
}

/** Loads a scenario from its text; `file` names it in messages and anchors relative paths. */
export function parseScenario(text: string, file: string): Scenario {
  const src = parseYaml(text, file);
  if (Array.isArray(src)) throw new InputError(src);
  const parsed = scenarioSchema.safeParse(src.doc.toJS({ maxAliasCount: 100 }) ?? {});
  if (!parsed.success) throw new InputError(parsed.error.issues.flatMap((i) => issueProblems(src, i)));
  const spec = parsed.data;
  const problems: InputProblem[] = [];
  const report = (path: Path, message: string) => problems.push(problemAt(src, path, message));
  if (spec.vms) return loadHost(src, spec, spec.vms);

  const profile = resolveProfile(spec, report);
  if (spec.machine.memory < LOW_MEMORY_END || spec.machine.memory > 2 ** 32) {
    report(['machine', 'memory'], `memory must be between ${LOW_MEMORY_END} bytes and 4 GiB, got ${spec.machine.memory}`);
  }
  const paging = pagingSetup(spec, report);
  const roots = paging?.layout.roots ?? new Map<string, number>();
  const programs = profile ? assemblePrograms(src, spec, profile, roots, problems) : [];
  if (problems.length) throw new InputError(problems);

  const { symbols, ambiguous } = collectSymbols(programs, roots);
  checkPlacement(spec, programs, paging, report);
  checkReferences(spec, { profile: profile!, symbols, ambiguous, report, reportKey: (path, key, message) => problems.push(problemAt(src, path, message, key)) });
  if (problems.length) throw new InputError(problems);
  return {
    file,
    name: spec.name ?? basename(file).replace(/\.ya?ml$/, ''),
    description: spec.description ?? '',
    spec,
    profile: profile!,
    programs,
    symbols,
    paging,
    locate: (path, message) => problemAt(src, path, message),
  };
}

/** Top-level fields that describe a guest; a file listing `vms` describes only the host. */
const GUEST_FIELDS = ['programs', 'memory', 'pageTables', 'psw', 'registers', 'steps', 'expect'] as const;
const HOST_MACHINE_FIELDS = ['memory'];

/**
 * A multi-VM file: loads each VM's guest scenario (problems inside one are reported in that
 * file), applies the VM entry's budget and expectations, and places the VMs in real memory.
 */
function loadHost(src: YamlSource, spec: ScenarioFile, entries: NonNullable<ScenarioFile['vms']>): Scenario {
  const problems: InputProblem[] = [];
  const report = (path: Path, message: string) => problems.push(problemAt(src, path, message));
  for (const f of GUEST_FIELDS) if (src.doc.has(f)) report([f], `'${f}' belongs in each VM's own scenario, not in a file that lists vms`);
  for (const k of Object.keys(spec.machine)) {
    if (!HOST_MACHINE_FIELDS.includes(k) && src.doc.hasIn(['machine', k])) report(['machine', k], `the host's ${k} follows its guests; a file that lists vms gives only machine.memory`);
  }
  const vms: LoadedVm[] = [];
  entries.forEach((e, i) => {
    const path = resolve(dirname(src.file), e.scenario);
    if (!existsSync(path)) return report(['vms', i, 'scenario'], `cannot read '${e.scenario}' (ENOENT)`);
    const guest = loadScenario(path);
    if (guest.host) return report(['vms', i, 'scenario'], `'${e.scenario}' lists VMs itself; a VM runs a guest scenario`);
    vms.push({ name: e.name ?? guest.name, guest: withRunSettings(guest, e, i, report) });
  });
  if (problems.length) throw new InputError(problems);
  vms.forEach((vm, i) => {
    if (vms.findIndex((o) => o.name === vm.name) !== i) report(['vms', i], `two VMs are named '${vm.name}'; give one a \`name\``);
  });
  const layout = placeVms(spec, vms, report);
  if (problems.length) throw new InputError(problems);
  return {
    file: src.file,
    name: spec.name ?? basename(src.file).replace(/\.ya?ml$/, ''),
    description: spec.description ?? '',
    spec,
    profile: vms[0].guest.profile,
    programs: [],
    symbols: new Map(),
    paging: undefined,
    host: { vms, layout, ...(spec.vmm?.quantum === undefined ? {} : { quantum: spec.vmm.quantum }) },
    locate: (path, message) => problemAt(src, path, message),
  };
}

/** The guest with the VM entry's budget and expectations (checked against the guest's symbols). */
function withRunSettings(guest: Scenario, e: NonNullable<ScenarioFile['vms']>[number], i: number, report: (p: Path, m: string) => void): Scenario {
  const spec = { ...guest.spec, steps: e.steps ?? guest.spec.steps, expect: e.expect ?? guest.spec.expect };
  if (e.expect) {
    checkExpectationRefs(['vms', i, 'expect'], e.expect, { profile: guest.profile, symbols: guest.symbols, ambiguous: new Map(), report, reportKey: (p, k, m) => report([...p, k], m) });
  }
  return { ...guest, spec };
}

/** Real memory for the VMs: the reserve, then each VM at its addr0 (or packed after the last). */
function placeVms(spec: ScenarioFile, vms: readonly LoadedVm[], report: (p: Path, m: string) => void): HostLayout {
  const reserve = spec.vmm?.reserve ?? VMM_RESERVE;
  let next = Math.ceil(reserve / FRAME_SIZE) * FRAME_SIZE;
  const allocations = vms.map((vm, i) => {
    const addr0 = spec.vms![i].addr0 ?? next;
    const vmsize = vm.guest.spec.machine.memory;
    next = Math.ceil((addr0 + vmsize) / FRAME_SIZE) * FRAME_SIZE;
    return { addr0, vmsize };
  });
  const layout: HostLayout = { reserve, allocations, memorySize: spec.machine.memory };
  for (const p of checkLayout(layout)) {
    if (p.vm === undefined) report(p.message.includes('reserve') ? ['vmm', 'reserve'] : ['machine', 'memory'], p.message);
    else report(['vms', p.vm, spec.vms![p.vm].addr0 === undefined ? 'scenario' : 'addr0'], `VM '${vms[p.vm].name}': ${p.message}`);
  }
  const first = vms[0]?.guest;
  vms.forEach((vm, i) => {
    const m = vm.guest.spec.machine;
    if (m.translation !== 'segment') report(['vms', i, 'scenario'], `VM '${vm.name}' uses ${m.translation} translation; the VMM hosts segment guests`);
    if (first && (vm.guest.profile.name !== first.profile.name || m.bounds !== first.spec.machine.bounds)) {
      report(['vms', i, 'scenario'], `VM '${vm.name}' uses profile ${vm.guest.profile.name} with ${m.bounds} bounds; every VM must match the first (${first.profile.name}, ${first.spec.machine.bounds})`);
    }
  });
  return layout;
}

type Issue = { code: string; path: PropertyKey[]; message: string; keys?: string[]; issues?: readonly { message: string }[] };

/** Turns one zod issue into located problems (one per unknown key). */
function issueProblems(src: YamlSource, issue: Issue): InputProblem[] {
  const path = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p)) as Path;
  if (issue.code === 'unrecognized_keys' && issue.keys) {
    return issue.keys.map((k) => problemAt(src, path, `unknown field '${k}'`, k));
  }
  if (issue.code === 'invalid_key' && path.length > 0) {
    const key = String(path[path.length - 1]);
    return [problemAt(src, path.slice(0, -1), `'${key}': ${issue.issues?.[0]?.message ?? issue.message}`, key)];
  }
  return [problemAt(src, path, issue.message.replace(/^Invalid input: /, ''))];
}

function resolveProfile(spec: ScenarioFile, report: (p: Path, m: string) => void): Profile | undefined {
  const base = profileByName(spec.machine.profile);
  if (!base) {
    report(['machine', 'profile'], `unknown profile '${spec.machine.profile}' (known: ${[...PROFILES.keys()].join(', ')})`);
    return undefined;
  }
  try {
    return withOverrides(base, spec.machine.overrides.map((o) => ({ mnemonic: o.instruction, trapsIn: o.trapsIn })));
  } catch (e) {
    report(['machine', 'overrides'], (e as Error).message);
    return undefined;
  }
}

/**
 * Assembles every program, with the page-table names predefined (so `.psw ptbr=name` works);
 * assembler problems are reported at their line in the right file.
 */
function assemblePrograms(src: YamlSource, spec: ScenarioFile, profile: Profile, predefined: ReadonlyMap<string, number>, problems: InputProblem[]): LoadedProgram[] {
  const out: LoadedProgram[] = [];
  spec.programs.forEach((p, i) => {
    const fromFile = p.file !== undefined;
    const file = fromFile ? resolve(dirname(src.file), p.file!) : src.file;
    let text = p.source ?? '';
    if (fromFile) {
      try {
        text = readFileSync(file, 'utf8');
      } catch (e) {
        problems.push(problemAt(src, ['programs', i, 'file'], `cannot read '${p.file}' (${(e as NodeJS.ErrnoException).code ?? String(e)})`));
        return;
      }
    }
    const origin = fromFile ? undefined : scalarOrigin(src, ['programs', i, 'source']);
    try {
      const asm = assemble(text, {
        profile,
        file: fromFile ? displayPath(file) : src.file,
        firstLine: origin?.line,
        indent: origin ? origin.column - 1 : 0,
        symbols: Object.fromEntries(predefined),
        include: (path, from) => {
          const target = resolve(dirname(from ?? file), path);
          try {
            return { file: displayPath(target), text: readFileSync(target, 'utf8') };
          } catch (e) {
            throw new Error((e as NodeJS.ErrnoException).code ?? String(e));
          }
        },
      });
      out.push({ name: p.name ?? (fromFile ? basename(p.file!) : `program ${i}`), at: p.at, org: p.org, asm });
    } catch (e) {
      if (!(e instanceof AsmError)) throw e;
      const field = fromFile ? undefined : `programs.${i}.source`;
      problems.push(...e.diagnostics.map((d) => ({ ...d, field })));
    }
  });
  return out;
}

/**
 * Symbols of all programs and the page-table names (their roots); a name defined differently
 * twice is ambiguous (left out).
 */
function collectSymbols(programs: readonly LoadedProgram[], roots: ReadonlyMap<string, number>): { symbols: Map<string, Symbol>; ambiguous: Map<string, string[]> } {
  const symbols = new Map<string, Symbol>();
  const ambiguous = new Map<string, string[]>();
  const own = (table: ReadonlyMap<string, number>) => new Map([...table].filter(([name]) => !roots.has(name)));
  const sources = [
    ...programs.map((p) => ({ name: p.name, delta: p.at - p.org, symbols: own(p.asm.symbols) })),
    { name: 'pageTables', delta: 0, symbols: roots },
  ];
  for (const p of sources) {
    for (const [name, value] of p.symbols) {
      const s = { value, physical: p.delta + value, program: p.name };
      const seen = symbols.get(name);
      if (ambiguous.has(name)) ambiguous.get(name)!.push(p.name);
      else if (seen && (seen.value !== s.value || seen.physical !== s.physical)) {
        ambiguous.set(name, [seen.program, p.name]);
        symbols.delete(name);
      } else symbols.set(name, s);
    }
  }
  return { symbols, ambiguous };
}

/**
 * Programs and memory blocks must lie inside physical memory, programs outside the page-table
 * region and apart from each other. (Memory blocks may overwrite program bytes: that is how a
 * scenario patches data into a program image.)
 */
function checkPlacement(spec: ScenarioFile, programs: readonly LoadedProgram[], paging: PagingSetup | undefined, report: (p: Path, m: string) => void): void {
  const size = spec.machine.memory;
  const range = (a: number, b: number) => `[0x${a.toString(16)}, 0x${b.toString(16)})`;
  const tables = paging && spec.pageTables.length ? { lo: paging.layout.start, hi: paging.layout.end } : undefined;
  const placed: { lo: number; hi: number; i: number }[] = [];
  programs.forEach((p, i) => {
    for (const c of p.asm.chunks) {
      const lo = p.at + c.address - p.org;
      if (lo < 0) {
        report(['programs', i, 'org'], `program '${p.name}' has bytes at address 0x${c.address.toString(16)}, below its org 0x${p.org.toString(16)}`);
        return;
      }
      const hi = lo + c.bytes.length;
      if (hi > size) {
        report(['programs', i, 'at'], `program '${p.name}' does not fit: bytes ${range(lo, hi)} lie beyond memory of 0x${size.toString(16)} bytes`);
        return;
      }
      if (tables && lo < tables.hi && hi > tables.lo) {
        report(['programs', i, 'at'], `program '${p.name}' bytes ${range(lo, hi)} overlap the page-table region ${range(tables.lo, tables.hi)} (see machine.paging.tables)`);
        return;
      }
      placed.push({ lo, hi, i });
    }
  });
  placed.sort((a, b) => a.lo - b.lo);
  placed.forEach((c, k) => {
    const prev = placed[k - 1];
    if (prev && c.lo < prev.hi && prev.i !== c.i) {
      report(['programs', c.i, 'at'], `program '${programs[c.i].name}' bytes ${range(c.lo, c.hi)} overlap program '${programs[prev.i].name}' ${range(prev.lo, prev.hi)}`);
    }
  });
  spec.memory.forEach((b, i) => {
    const digits = b.bytes?.replace(/\s+/g, '');
    if (digits && digits.length % 2 !== 0) report(['memory', i, 'bytes'], 'an odd number of hex digits (each byte needs two)');
    if (b.page !== undefined && !paging) report(['memory', i, 'page'], 'a page number needs the paging hardware (its page size); use `at`');
    const n = b.words ? b.words.length * 4 : (digits?.length ?? 0) / 2;
    if (b.page !== undefined && paging && n !== paging.pageBytes) {
      report(['memory', i, b.words ? 'words' : 'bytes'], `a page image must be exactly one page (${paging.pageBytes} bytes), got ${n} bytes`);
    }
    const at = blockAddress(b, paging);
    if (at + n > size) report(['memory', i, b.page !== undefined ? 'page' : 'at'], `block ${range(at, at + n)} lies beyond memory of 0x${size.toString(16)} bytes`);
  });
}

/** Physical address of a memory block (`at`, or `page` times the page size). */
export function blockAddress(b: ScenarioFile['memory'][number], paging: PagingSetup | undefined): number {
  return b.at ?? (b.page ?? 0) * (paging?.pageBytes ?? 0);
}

/** Symbols, mode names and cause names used by the PSW, registers and expectations must exist. */
/** What checking a scenario's references needs: the names it may use and where to report. */
interface RefContext {
  readonly profile: Profile;
  readonly symbols: ReadonlyMap<string, Symbol>;
  readonly ambiguous: ReadonlyMap<string, string[]>;
  readonly report: (p: Path, m: string) => void;
  readonly reportKey: (p: Path, key: string, m: string) => void;
}

/** Symbols, mode names and cause names used by the PSW, registers, memory and expectations must exist. */
function checkReferences(spec: ScenarioFile, ctx: RefContext): void {
  checkPswRefs(['psw'], spec.psw, ctx);
  for (const [r, v] of Object.entries(spec.registers)) checkValueRef(['registers', r], v, ctx);
  spec.memory.forEach((b, i) => b.words?.forEach((w, j) => checkValueRef(['memory', i, 'words', j], w, ctx)));
  if (spec.expect) checkExpectationRefs(['expect'], spec.expect, ctx);
}

/** The references of an `expect` block at `at`. */
function checkExpectationRefs(at: Path, e: Expectation, ctx: RefContext): void {
  checkPswRefs([...at, 'psw'], e.psw, ctx);
  for (const [r, v] of Object.entries(e.registers ?? {})) checkValueRef([...at, 'registers', r], v, ctx);
  const causes = new Set([...CORE_CAUSES, ...ctx.profile.causes].map((c) => c.name));
  for (const c of Object.keys(e.traps ?? {})) {
    if (!causes.has(c)) ctx.reportKey([...at, 'traps'], c, `unknown trap cause '${c}' (known: ${[...causes].join(', ')})`);
  }
  for (const [k, v] of Object.entries(e.memory ?? {})) {
    if (resolveAddress(k, ctx.symbols) === undefined) ctx.reportKey([...at, 'memory'], k, missingSymbol(k, `'${k}' is neither an address nor a symbol`, ctx));
    checkValueRef([...at, 'memory', k], v, ctx);
  }
}

function checkPswRefs(at: Path, psw: ScenarioFile['psw'] | undefined, ctx: RefContext): void {
  if (!psw) return;
  checkValueRef([...at, 'pc'], psw.pc, ctx);
  checkValueRef([...at, 'extra'], psw.extra, ctx);
  checkValueRef([...at, 'ptbr'], psw.ptbr, ctx);
  const m = psw.mode;
  if (m !== undefined && !ctx.profile.modes.includes(m)) ctx.report([...at, 'mode'], `unknown mode '${m}' (profile ${ctx.profile.name} has ${ctx.profile.modes.join(', ')})`);
}

function checkValueRef(path: Path, v: number | string | undefined, ctx: RefContext): void {
  if (typeof v === 'string' && !ctx.symbols.has(v)) ctx.report(path, missingSymbol(v, `undefined symbol '${v}'`, ctx));
}

/** The message for a name that resolves to no symbol: ambiguous across programs, or `otherwise`. */
function missingSymbol(name: string, otherwise: string, ctx: RefContext): string {
  const where = ctx.ambiguous.get(name);
  return where ? `symbol '${name}' is defined differently by several programs (${where.join(', ')})` : otherwise;
}

/** `path` relative to the working directory when that is shorter (for messages). */
export function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && rel.length < path.length ? rel : path;
}

/** A memory-expectation key: an integer, "0x..." or a symbol (its physical address). */
export function resolveAddress(key: string, symbols: ReadonlyMap<string, Symbol>): number | undefined {
  if (/^(0x[0-9a-f]+|\d+)$/i.test(key)) return Number(key);
  return symbols.get(key)?.physical;
}

/** A value field: an integer, or a symbol's program address. Caller has checked references. */
export function resolveValue(v: number | string, symbols: ReadonlyMap<string, Symbol>): number {
  return typeof v === 'number' ? v : symbols.get(v)!.value;
}
