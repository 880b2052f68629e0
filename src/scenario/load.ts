// Loading a scenario file: bounded read → YAML → schema validation → profile, assembled programs,
// resolved symbols, structural checks. Every problem is collected with its location and thrown as
// one InputError; things that are legal but probably not meant become warnings.

import { realpathSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { AsmError, assemble } from '../asm/index.js';
import { LOW_MEMORY_END } from '../isa/arch.js';
import { overrideProblems, withOverrides, type Profile } from '../isa/profile.js';
import { profileByName, PROFILES } from '../isa/profiles/index.js';
import { checkLayout, VMM_RESERVE, type HostLayout } from '../vmm/index.js';
import { FRAME_SIZE } from '../mmu/memory.js';
import { tlbSets } from '../mmu/tlb.js';
import { InputError, type InputProblem } from './errors.js';
import { displayPath, InputFileError, MAX_SOURCE_BYTES, MAX_TOTAL_SOURCE_BYTES, readInputFile } from './input.js';
import { scenarioSchema, type ScenarioFile } from './schema.js';
import { parseYaml, problemAt, scalarOrigin, toPlain, type Path, type YamlSource } from './yaml.js';
import { pagingSetup, type PagingSetup } from './paging.js';
import { checkPlacement, imageBudget, startWarnings } from './placement.js';
import type { LoadedProgram, LoadedVm, Scenario, Symbol } from './model.js';
import { checkExpectationRefs, checkReferences, type RefContext } from './refs.js';
import { issueProblems, reservedKeys } from './issues.js';
import { pageBytesOf, vmmOptions } from './vmm-settings.js';

export interface LoadOptions {
  /** the directory relative paths start from (default: the scenario file's) */
  readonly dir?: string;
  /** loading a VM's guest scenario: a file that lists VMs itself is refused (VM files do not nest) */
  readonly asGuest?: boolean;
}

/** Reads and loads the scenario at `path`. Throws InputError (located) on any bad input. */
export function loadScenario(path: string, options: LoadOptions = {}): Scenario {
  return parseScenario(readFileFor(path, path), path, options);
}

/** The text of `path` for the file that names it; InputFileError becomes a problem about `shown`. */
function readFileFor(path: string, shown: string): string {
  try {
    return readInputFile(path);
  } catch (e) {
    if (e instanceof InputFileError) throw new InputError([{ file: shown, message: e.message }]);
    throw e;
  }
}

/** Loads a scenario from its text; `file` names it in messages and anchors relative paths. */
export function parseScenario(text: string, file: string, options: LoadOptions = {}): Scenario {
  const src = parseYaml(text, file);
  if (Array.isArray(src)) throw new InputError(looksLikeScenario(text) ? src : [notAScenario(file, src[0])]);
  const plain = toPlain(src);
  if (plain instanceof Error) throw new InputError([{ file, message: `YAML: ${plain.message.split('\n')[0]}` }]);
  if (plain === null || typeof plain !== 'object' || Array.isArray(plain)) throw new InputError([notAScenario(file, undefined, plain)]);
  const reserved = reservedKeys(src, plain);
  if (reserved.length) throw new InputError(reserved);
  const parsed = scenarioSchema.safeParse(plain);
  if (!parsed.success) throw new InputError(parsed.error.issues.flatMap((i) => issueProblems(src, i)));
  const spec = parsed.data;
  const dir = options.dir ?? dirname(file);
  if (spec.vms) {
    if (options.asGuest) throw new InputError([problemAt(src, [], "this file lists VMs itself; a VM's scenario must describe one guest (VM files do not nest)", 'vms')]);
    return loadHost(src, spec, spec.vms, dir);
  }
  return loadGuest(src, spec, dir);
}

/** A scenario with one guest: its profile, paging, programs, symbols and checks. */
function loadGuest(src: YamlSource, spec: ScenarioFile, dir: string): Scenario {
  const problems: InputProblem[] = [];
  const report = (path: Path, message: string) => problems.push(problemAt(src, path, message));
  const profile = resolveProfile(spec, report);
  if (spec.machine.memory < LOW_MEMORY_END || spec.machine.memory > 2 ** 32) {
    report(['machine', 'memory'], `memory must be between ${LOW_MEMORY_END} bytes and 4 GiB, got ${spec.machine.memory}`);
  }
  const paging = pagingSetup(spec, report);
  const roots = paging?.layout.roots ?? new Map<string, number>();
  const budget = imageBudget(spec, report);
  const programs = profile && !problems.length ? assemblePrograms(src, spec, { profile, predefined: roots, dir, maxOutput: budget }, problems) : [];
  if (problems.length) throw new InputError(problems);

  const { symbols, ambiguous } = collectSymbols(programs, roots);
  const ctx: RefContext = { profile: profile!, symbols, ambiguous, memory: spec.machine.memory, report, reportKey: (path, key, message) => problems.push(problemAt(src, path, message, key)) };
  checkPlacement(spec, programs, paging, ctx);
  checkReferences(spec, ctx);
  checkTlbContents(spec, paging, report);
  const vmm = vmmOptions(spec.vmm, [{ setting: spec.vmm?.physmap, at: ['vmm', 'physmap'], guestBytes: spec.machine.memory, pageBytes: pageBytesOf(paging?.geometry) }], spec.vmm?.memory, report);
  if (problems.length) throw new InputError(problems);
  return {
    file: src.file,
    name: spec.name ?? scenarioName(src.file),
    description: spec.description ?? '',
    spec,
    profile: profile!,
    programs,
    symbols,
    paging,
    vmm,
    warnings: startWarnings(src.file, spec, profile!, programs, paging, symbols),
    locate: (path, message) => problemAt(src, path, message),
  };
}

function scenarioName(file: string): string {
  return basename(file).replace(/\.ya?ml$/, '');
}

/** Whether unparseable text still looks like it meant to be a scenario (it has a top-level machine: or vms:). */
function looksLikeScenario(text: string): boolean {
  return /^(machine|vms|programs)\s*:/m.test(text);
}

/** One line for a file that is not a scenario at all (a `.s`, /etc/passwd, a list). */
function notAScenario(file: string, yamlProblem?: InputProblem, value?: unknown): InputProblem {
  const what = yamlProblem
    ? `it is not YAML (line ${yamlProblem.line}, column ${yamlProblem.column}: ${yamlProblem.message.replace(/^YAML: /, '')})`
    : `found ${value === null || value === undefined ? 'an empty document' : Array.isArray(value) ? 'a list' : `a ${typeof value === 'string' ? 'text' : typeof value} value`}`;
  return { file, message: `expected a scenario: a YAML mapping with a \`machine\` field (see schema/scenario.schema.json); ${what}` };
}

/** Top-level fields that describe a guest; a file listing `vms` describes only the host. */
const GUEST_FIELDS = ['programs', 'memory', 'pageTables', 'psw', 'registers', 'control', 'timer', 'banks', 'tlb', 'steps', 'expect'] as const;
const HOST_MACHINE_FIELDS = ['memory'];

/**
 * A multi-VM file: loads each VM's guest scenario (problems inside one are reported in that
 * file), applies the VM entry's budget and expectations, and places the VMs in real memory.
 */
function loadHost(src: YamlSource, spec: ScenarioFile, entries: NonNullable<ScenarioFile['vms']>, dir: string): Scenario {
  const problems: InputProblem[] = [];
  const report = (path: Path, message: string) => problems.push(problemAt(src, path, message));
  for (const f of GUEST_FIELDS) if (src.doc.has(f)) report([f], `'${f}' belongs in each VM's own scenario, not in a file that lists vms`);
  for (const k of Object.keys(spec.machine)) {
    if (!HOST_MACHINE_FIELDS.includes(k) && src.doc.hasIn(['machine', k])) report(['machine', k], `the host's ${k} follows its guests; a file that lists vms gives only machine.memory`);
  }
  const self = realPath(src.file);
  const vms: LoadedVm[] = [];
  const loaded = new Map<string, Scenario>(); // a guest file several VMs run is read and assembled once
  entries.forEach((e, i) => {
    const path = resolve(dir, e.scenario);
    const key = realPath(path) ?? path;
    if (key === self) return report(['vms', i, 'scenario'], `'${e.scenario}' is this file itself; a VM runs a guest scenario`);
    let guest = loaded.get(key);
    if (!guest) {
      let text: string;
      try {
        text = readInputFile(path);
      } catch (err) {
        if (err instanceof InputFileError) return report(['vms', i, 'scenario'], `'${e.scenario}': ${err.message}`);
        throw err;
      }
      guest = parseScenario(text, displayPath(path), { asGuest: true });
      loaded.set(key, guest);
    }
    vms.push({ name: e.name ?? guest.name, guest: withRunSettings(guest, e, i, report) });
  });
  if (problems.length) throw new InputError(problems);
  vms.forEach((vm, i) => {
    if (vms.findIndex((o) => o.name === vm.name) !== i) report(['vms', i], `two VMs are named '${vm.name}'; give one a \`name\``);
  });
  const layout = placeVms(spec, vms, report);
  for (const f of ['memory', 'physmap'] as const) {
    if (spec.vmm?.[f] !== undefined) report(['vmm', f], f === 'memory' ? 'a file that lists VMs gives the host memory as machine.memory' : 'a file that lists VMs gives each VM its own physmap (vms[i].physmap)');
  }
  const entries2 = vms.map((vm, i) => ({ setting: spec.vms![i].physmap, at: ['vms', i, 'physmap'] as Path, guestBytes: vm.guest.spec.machine.memory, pageBytes: pageBytesOf(vm.guest.paging?.geometry) }));
  const vmm = vmmOptions(spec.vmm, entries2, spec.machine.memory, report);
  if (problems.length) throw new InputError(problems);
  return {
    file: src.file,
    name: spec.name ?? scenarioName(src.file),
    description: spec.description ?? '',
    spec,
    profile: vms[0].guest.profile,
    programs: [],
    symbols: new Map(),
    paging: undefined,
    host: { vms, layout, vmm, ...(spec.vmm?.quantum === undefined ? {} : { quantum: spec.vmm.quantum }) },
    vmm,
    warnings: vms.flatMap((vm) => vm.guest.warnings),
    locate: (path, message) => problemAt(src, path, message),
  };
}

/** The TLB a scenario states (at the start, and expected): only on a paging machine, each slot inside its TLB and named once, each victim a way of its set. */
function checkTlbContents(spec: ScenarioFile, paging: PagingSetup | undefined, report: (p: Path, m: string) => void): void {
  const lists: [Path, readonly { slot: number }[] | undefined][] = [
    [['tlb', 'entries'], spec.tlb?.entries],
    [['expect', 'tlb'], spec.expect?.tlb],
  ];
  for (const [at, entries] of lists) {
    if (!entries) continue;
    if (!paging) {
      report(at, 'TLB entries need a paging machine (machine.translation paging or segment+paging)');
      continue;
    }
    entries.forEach((e, i) => {
      if (e.slot >= paging.tlb.entries) report([...at, i, 'slot'], `slot ${e.slot} is outside the ${paging.tlb.entries}-entry TLB`);
      else if (entries.findIndex((o) => o.slot === e.slot) !== i) report([...at, i, 'slot'], `slot ${e.slot} is given twice`);
    });
  }
  const victims = spec.tlb?.victims;
  if (!victims || !paging) return;
  const sets = tlbSets(paging.tlb);
  const ways = paging.tlb.ways;
  if (victims.length !== sets) report(['tlb', 'victims'], `expected one victim per set: ${sets}, got ${victims.length}`);
  victims.forEach((v, i) => {
    if (v >= ways) report(['tlb', 'victims', i], `way ${v} is outside a ${ways}-way set`);
  });
}

function realPath(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
}

/** The guest with the VM entry's budget and expectations (checked against the guest's symbols). */
function withRunSettings(guest: Scenario, e: NonNullable<ScenarioFile['vms']>[number], i: number, report: (p: Path, m: string) => void): Scenario {
  const spec = { ...guest.spec, steps: e.steps ?? guest.spec.steps, expect: e.expect ?? guest.spec.expect };
  if (e.expect) {
    const ctx: RefContext = { profile: guest.profile, symbols: guest.symbols, ambiguous: new Map(), memory: guest.spec.machine.memory, report, reportKey: (p, k, m) => report([...p, k], m) };
    checkExpectationRefs(['vms', i, 'expect'], e.expect, ctx);
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
  const bounds = vms[0]?.guest.spec.machine.bounds ?? 'size';
  for (const p of checkLayout(layout, bounds)) {
    if (p.vm === undefined) report(p.message.includes('reserve') ? ['vmm', 'reserve'] : ['machine', 'memory'], p.message);
    else report(['vms', p.vm, spec.vms![p.vm].addr0 === undefined ? 'scenario' : 'addr0'], `VM '${vms[p.vm].name}': ${p.message}`);
  }
  vms.forEach((vm, i) => {
    const m = vm.guest.spec.machine;
    if (m.bounds !== bounds) report(['vms', i, 'scenario'], `VM '${vm.name}' uses the ${m.bounds} bounds convention; the VMs share one real machine, which uses the first VM's (${bounds})`);
  });
  return layout;
}

function resolveProfile(spec: ScenarioFile, report: (p: Path, m: string) => void): Profile | undefined {
  const base = profileByName(spec.machine.profile);
  if (!base) {
    report(['machine', 'profile'], `unknown profile '${spec.machine.profile}' (known: ${[...PROFILES.keys()].join(', ')})`);
    return undefined;
  }
  const overrides = spec.machine.overrides.map((o) => ({ mnemonic: o.instruction, trapsIn: o.trapsIn }));
  const problems = overrideProblems(base, overrides);
  for (const q of problems) report(['machine', 'overrides', q.index, q.field, ...(q.mode === undefined ? [] : [q.mode])], q.message);
  return problems.length ? undefined : withOverrides(base, overrides);
}

/** What assembling a scenario's programs needs. */
interface AsmSetup {
  readonly profile: Profile;
  /** page-table names (so `.psw ptbr=name` works) */
  readonly predefined: ReadonlyMap<string, number>;
  /** where relative `file:` and `.include` paths start */
  readonly dir: string;
  /** bytes all programs together may produce */
  readonly maxOutput: number;
}

/** Assembles every program; assembler problems are reported at their line in the right file. */
function assemblePrograms(src: YamlSource, spec: ScenarioFile, setup: AsmSetup, problems: InputProblem[]): LoadedProgram[] {
  const out: LoadedProgram[] = [];
  let left = setup.maxOutput;
  const readSource = sourceReader();
  spec.programs.forEach((p, i) => {
    const fromFile = p.file !== undefined;
    const file = fromFile ? resolve(setup.dir, p.file!) : src.file;
    let text = p.source ?? '';
    if (fromFile) {
      try {
        text = readSource(file);
      } catch (e) {
        if (!(e instanceof InputFileError)) throw e;
        problems.push(problemAt(src, ['programs', i, 'file'], `'${p.file}': ${e.message}`));
        return;
      }
    }
    const origin = fromFile ? undefined : scalarOrigin(src, ['programs', i, 'source']);
    try {
      const asm = assemble(text, {
        profile: setup.profile,
        file: fromFile ? displayPath(file) : src.file,
        firstLine: origin?.line,
        indent: origin ? origin.column - 1 : 0,
        symbols: Object.fromEntries(setup.predefined),
        maxOutput: Math.max(0, left),
        include: (path, from) => {
          const target = resolve(from === undefined ? (fromFile ? dirname(file) : setup.dir) : dirname(from), path);
          return { file: displayPath(target), text: readSource(target) };
        },
      });
      left -= asm.chunks.reduce((n, c) => n + c.bytes.length, 0);
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
 * Reads assembly files (programs' `file:` and `.include`s) for one scenario: each at most
 * MAX_SOURCE_BYTES, all together at most MAX_TOTAL_SOURCE_BYTES (an include loop of large files
 * cannot multiply the work). Throws InputFileError.
 */
function sourceReader(): (path: string) => string {
  let left = MAX_TOTAL_SOURCE_BYTES;
  return (path) => {
    const text = readInputFile(path, MAX_SOURCE_BYTES);
    left -= Buffer.byteLength(text);
    if (left < 0) throw new InputFileError(`the scenario's assembly files together pass ${MAX_TOTAL_SOURCE_BYTES} bytes, the most one scenario may assemble`);
    return text;
  };
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


export { displayPath };
export { blockAddress, resolveAddress, resolveValue, type HostSpec, type LoadedProgram, type LoadedVm, type Scenario, type Symbol } from './model.js';
