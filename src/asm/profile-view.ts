// What the assembler needs from a profile: its instruction rows by (lower-case) mnemonic and by
// opcode, and the aliases whose target it has. Built once per profile and cached.

import { ALIASES, type InstructionDef } from '../isa/instructions.js';
import { compileProfile, type Profile } from '../isa/profile.js';
import { OPERAND_CODECS, type FieldName } from './operands.js';

export interface AliasDef {
  /** the instruction the alias stands for */
  readonly def: InstructionDef;
  /** operands the alias supplies, first; the source supplies the rest */
  readonly operands: readonly string[];
}

export interface AsmProfile {
  readonly profile: Profile;
  readonly byMnemonic: ReadonlyMap<string, InstructionDef>;
  readonly byOp: readonly (InstructionDef | undefined)[];
  readonly aliases: ReadonlyMap<string, AliasDef>;
}

const cache = new WeakMap<Profile, AsmProfile>();

/**
 * The assembler's view of `profile`. Throws Error when the profile is broken: duplicate
 * opcodes or mnemonics, or a row whose operands fill one header field twice.
 */
export function asmProfile(profile: Profile): AsmProfile {
  let view = cache.get(profile);
  if (!view) {
    view = buildView(profile);
    cache.set(profile, view);
  }
  return view;
}

function buildView(profile: Profile): AsmProfile {
  const compiled = compileProfile(profile);
  const byMnemonic = new Map<string, InstructionDef>();
  for (const d of profile.instructions) {
    checkFields(profile, d);
    byMnemonic.set(d.mnemonic.toLowerCase(), d);
  }
  const aliases = new Map<string, AliasDef>();
  for (const [name, a] of Object.entries({ ...ALIASES, ...profile.aliases })) {
    const def = byMnemonic.get(a.mnemonic);
    if (def && !byMnemonic.has(name)) aliases.set(name, { def, operands: a.operands });
  }
  return { profile, byMnemonic, byOp: compiled.byOp, aliases };
}

function checkFields(profile: Profile, d: InstructionDef): void {
  const seen = new Set<FieldName>();
  for (const kind of d.operands) {
    for (const field of OPERAND_CODECS[kind].fills) {
      if (seen.has(field)) throw new Error(`asmProfile: ${profile.name} instruction ${d.mnemonic} fills field ${field} twice`);
      seen.add(field);
    }
  }
}
