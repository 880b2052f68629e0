// What the guest generator draws from: every instruction of a profile, weighted by what the
// classifier found by executing it (a sensitive instruction that is not privileged most, then
// the sensitive and the privileged ones, the innocuous least), and the classifier's witnesses as
// ready-made lines — the instruction with the operands and register values that showed its
// sensitivity. Nothing here names a mnemonic: a profile edited by hand or by an override is
// classified anew and its palette follows.

import type { InstructionDef } from '../../isa/instructions.js';
import type { Profile } from '../../isa/profile.js';
import type { Classification, Witness } from '../classify/classify.js';

/** A line taken from a witness: registers set as in its state S, then the instruction (`@next` stands for its target). */
export interface Template {
  readonly mnemonic: string;
  /** whether S was in the user mode (the process runs it) or another mode (the kernel does) */
  readonly user: boolean;
  readonly setup: readonly (readonly [number, number])[];
  readonly text: string;
}

export interface PaletteEntry {
  readonly def: InstructionDef;
  readonly weight: number;
  /** sensitive and not privileged (Theorem 1's violators) */
  readonly violator: boolean;
}

export interface Palette {
  readonly profile: Profile;
  readonly entries: readonly PaletteEntry[];
  readonly templates: readonly Template[];
  /** register values the witnesses used (selectors, region addresses, status words ...), for random operands */
  readonly values: readonly number[];
  /** the classification's paging geometry (its states had paging on): the guests are paging guests */
  readonly paging?: string;
}

export interface PaletteOptions {
  /** instructions never drawn (tests take the violators out to watch the search find nothing) */
  readonly omit?: readonly string[];
}

const WEIGHT = { violator: 12, flagged: 3, innocuous: 1 } as const;

/** The palette of `p` from its classification `c`. */
export function paletteOf(p: Profile, c: Classification, o: PaletteOptions = {}): Palette {
  const omit = new Set(o.omit ?? []);
  const byName = new Map(c.instructions.map((x) => [x.name, x]));
  const entries: PaletteEntry[] = [];
  const templates: Template[] = [];
  const values = new Set<number>();
  for (const def of p.instructions) {
    const k = byName.get(def.mnemonic);
    if (!k || omit.has(def.mnemonic)) continue;
    const violator = k.sensitive && !k.privileged;
    entries.push({ def, violator, weight: violator ? WEIGHT.violator : k.sensitive || k.privileged ? WEIGHT.flagged : WEIGHT.innocuous });
    for (const w of Object.values(k.witnesses)) {
      if (!w) continue;
      const t = templateOf(p, def, w);
      if (t && !templates.some((x) => x.text === t.text && x.user === t.user)) templates.push(t);
      for (const v of Object.values(w.state.registers)) values.add(v | 0);
    }
  }
  return { profile: p, entries, templates, values: [...values].sort((a, b) => a - b), ...(c.paging ? { paging: c.paging.geometry } : {}) };
}

/** A palette as plain data, for another thread: its entries by mnemonic. */
export interface PaletteData {
  readonly entries: readonly { readonly mnemonic: string; readonly weight: number; readonly violator: boolean }[];
  readonly templates: readonly Template[];
  readonly values: readonly number[];
  readonly paging?: string;
}

export function paletteData(x: Palette): PaletteData {
  return { entries: x.entries.map((e) => ({ mnemonic: e.def.mnemonic, weight: e.weight, violator: e.violator })), templates: x.templates, values: x.values, ...(x.paging ? { paging: x.paging } : {}) };
}

/** The palette `d` describes, on `p` (the profile it was built from); throws for an instruction `p` lacks. */
export function paletteFromData(p: Profile, d: PaletteData): Palette {
  const entries = d.entries.map((e) => {
    const def = p.instructions.find((x) => x.mnemonic === e.mnemonic);
    if (!def) throw new Error(`paletteFromData: ${p.name} has no instruction ${e.mnemonic}`);
    return { def, weight: e.weight, violator: e.violator };
  });
  return { profile: p, entries, templates: d.templates, values: d.values, ...(d.paging ? { paging: d.paging } : {}) };
}

/** A witness as a guest line: its named registers set, its instruction text with the target replaced by `@next`. */
function templateOf(p: Profile, def: InstructionDef, w: Witness): Template | undefined {
  const [mnemonic, ...rest] = w.instruction.split(' ');
  if (mnemonic !== def.mnemonic) return undefined; // a .word the disassembler could not name
  const operands = rest.join(' ').split(', ').filter((x) => x !== '');
  const at = def.operands.indexOf('target');
  if (at >= 0) operands[at] = '@next';
  const setup = Object.entries(w.state.registers).map(([r, v]) => [Number(r.slice(1)), v | 0] as const);
  const user = w.mode === p.modes[p.modes.length - 1] || (p.userModes ?? []).includes(w.mode);
  return { mnemonic, user, setup, text: operands.length ? `${mnemonic} ${operands.join(', ')}` : mnemonic };
}
