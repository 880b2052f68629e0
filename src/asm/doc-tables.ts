// The tables of docs/assembly.md that restate code — the encoding table (from the profiles'
// instruction rows), the directives and the `.psw` keys — generated, so the document cannot
// drift from the code (test/asm/docs.test.ts compares them).

import { compileProfile, type Profile } from '../isa/profile.js';
import type { InstructionDef } from '../isa/instructions.js';
import { DIRECTIVES } from './directives.js';
import { INCLUDE_DIRECTIVE } from './parser.js';
import { PSW_KEYS, shiftOf } from './psw.js';

/**
 * Every opcode of `profiles`: opcode, mnemonic, operand kinds, the modes it traps in as
 * privileged, the profiles that have it, and its summary. An instruction identical in several
 * profiles is one row.
 */
export function renderEncodingTable(profiles: readonly Profile[]): string {
  const rows = new Map<string, { def: InstructionDef; trapsIn: string; profiles: string[] }>();
  for (const p of profiles) {
    const compiled = compileProfile(p);
    for (const def of p.instructions) {
      const trapsIn = p.modes.filter((_, m) => (compiled.opInfo[def.op] >> m) & 1).join(', ');
      const key = [def.op, def.mnemonic, def.operands.join(' '), trapsIn, def.summary].join('|');
      const row = rows.get(key) ?? { def, trapsIn, profiles: [] };
      row.profiles.push(p.name);
      rows.set(key, row);
    }
  }
  const sorted = [...rows.values()].sort((a, b) => a.def.op - b.def.op || a.def.mnemonic.localeCompare(b.def.mnemonic));
  return table(
    ['opcode', 'mnemonic', 'operands', 'traps in', 'profiles', 'summary'],
    sorted.map((r) => [hex2(r.def.op), code(r.def.mnemonic), r.def.operands.length ? code(r.def.operands.join(', ')) : '—', r.trapsIn || '—', r.profiles.join(', '), r.def.summary]),
  );
}

/** The directives: syntax and meaning. */
export function renderDirectiveTable(): string {
  return table(
    ['directive', 'meaning'],
    [...DIRECTIVES.values(), INCLUDE_DIRECTIVE].map((d) => [code(d.syntax), d.summary]),
  );
}

/** The `.psw` keys: where each goes in the image, and its values. */
export function renderPswTable(): string {
  return table(
    ['key', 'PSW word', 'bits', 'value'],
    PSW_KEYS.map((k) => {
      const lo = shiftOf(k.mask);
      const hi = 31 - Math.clz32(k.mask);
      const width = hi - lo + 1;
      const values = k.values ?? (width === 32 ? 'any' : `0..${2 ** width - 1}`);
      return [code(k.key), `+${k.offset}`, lo === hi ? `${lo}` : `${hi}..${lo}`, `${k.summary} (${values})`];
    }),
  );
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(header), `|${header.map(() => '---').join('|')}|`, ...rows.map(line)].join('\n') + '\n';
}

function code(text: string): string {
  return '`' + text + '`';
}

function hex2(op: number): string {
  return `0x${op.toString(16).padStart(2, '0')}`;
}
