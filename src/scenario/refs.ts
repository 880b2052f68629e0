// The names and addresses a scenario refers to: symbols, modes, trap causes, and the physical
// addresses its expectations read — each must exist.

import { CORE_CAUSES } from '../isa/arch.js';
import type { Profile } from '../isa/profile.js';
import { resolveAddress, type Symbol } from './model.js';
import type { Expectation, ScenarioFile } from './schema.js';
import type { Path } from './yaml.js';

/** What checking a scenario's references needs: the names it may use and where to report. */
export interface RefContext {
  readonly profile: Profile;
  readonly symbols: ReadonlyMap<string, Symbol>;
  readonly ambiguous: ReadonlyMap<string, string[]>;
  /** bytes of (guest-)physical memory, for the addresses expectations read */
  readonly memory: number;
  readonly report: (p: Path, m: string) => void;
  readonly reportKey: (p: Path, key: string, m: string) => void;
}

/** Symbols, mode names and cause names used by the PSW, registers, memory and expectations must exist. */
export function checkReferences(spec: ScenarioFile, ctx: RefContext): void {
  checkPswRefs(['psw'], spec.psw, ctx);
  for (const [r, v] of Object.entries(spec.registers)) checkValueRef(['registers', r], v, ctx);
  checkControlRefs(['control'], spec.control, ctx);
  checkBankRefs(['banks'], spec.banks, ctx, spec.psw.mode ?? ctx.profile.modes[0]);
  spec.memory.forEach((b, i) => b.words?.forEach((w, j) => checkValueRef(['memory', i, 'words', j], w, ctx)));
  if (spec.expect) checkExpectationRefs(['expect'], spec.expect, ctx);
}

/** The references of an `expect` block at `at`: symbols, modes, causes, and words inside memory. */
export function checkExpectationRefs(at: Path, e: Expectation, ctx: RefContext): void {
  checkPswRefs([...at, 'psw'], e.psw, ctx);
  for (const [r, v] of Object.entries(e.registers ?? {})) checkValueRef([...at, 'registers', r], v, ctx);
  checkControlRefs([...at, 'control'], e.control, ctx);
  checkBankRefs([...at, 'banks'], e.banks, ctx);
  const causes = new Set([...CORE_CAUSES, ...ctx.profile.causes].map((c) => c.name));
  for (const c of Object.keys(e.traps ?? {})) {
    if (!causes.has(c)) ctx.reportKey([...at, 'traps'], c, `unknown trap cause '${c}' (known: ${[...causes].join(', ')})`);
  }
  for (const [k, v] of Object.entries(e.memory ?? {})) {
    const pa = resolveAddress(k, ctx.symbols);
    if (pa === undefined) ctx.reportKey([...at, 'memory'], k, missingSymbol(k, `'${k}' is neither an address nor a symbol`, ctx));
    else if (pa + 4 > ctx.memory) ctx.reportKey([...at, 'memory'], k, `the word at 0x${pa.toString(16)} lies outside memory (0x${ctx.memory.toString(16)} bytes)`);
    checkValueRef([...at, 'memory', k], v, ctx);
  }
}

/** Control registers by name: each a register of the profile, its value a number or a symbol. */
function checkControlRefs(at: Path, control: Readonly<Record<string, number | string>> | undefined, ctx: RefContext): void {
  checkNamedValues(at, control, ctx.profile.controlRegisters.map((r) => r.name), 'control register', ctx);
}

/** Banked copies by 'mode.rN': a mode and a banked register of the profile, not the mode `visible` runs in (its copies are its registers). */
function checkBankRefs(at: Path, banks: Readonly<Record<string, number | string>> | undefined, ctx: RefContext, visible?: string): void {
  const p = ctx.profile;
  const names = p.modes.flatMap((m) => p.bankedRegisters.map((r) => `${m}.r${r}`));
  checkNamedValues(at, banks, names, 'banked register', ctx, (name) => (name.startsWith(`${visible}.`) ? `'${name}' is a register of the initial mode ${visible}: give it in \`registers\`` : undefined));
}

/**
 * Values keyed by name: each name one of `names` (else reported as an unknown `what`, with the
 * profile's list), then `refuse`'s objection to it if any; each value a number or a symbol.
 */
function checkNamedValues(at: Path, values: Readonly<Record<string, number | string>> | undefined, names: readonly string[], what: string, ctx: RefContext, refuse?: (name: string) => string | undefined): void {
  for (const [name, v] of Object.entries(values ?? {})) {
    const objection = !names.includes(name) ? `unknown ${what} '${name}' (profile ${ctx.profile.name} has ${names.length ? names.join(', ') : 'none'})` : refuse?.(name);
    if (objection) ctx.reportKey(at, name, objection);
    checkValueRef([...at, name], v, ctx);
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
