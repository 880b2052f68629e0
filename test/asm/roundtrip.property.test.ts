// Properties over every shipped profile:
//  1. assemble ∘ disassemble is the identity on every word pair (with the `.word` fallback);
//  2. a canonical encoding of every row disassembles to that row's mnemonic, not to `.word`;
//  3. on generated programs, disassemble ∘ assemble is stable: the disassembly of each
//     instruction re-assembles to the same words and disassembles to the same text again,
//     with and without the program's labels.

import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { assemble, disassemble, disassembleRange, type AsmResult } from '../../src/asm/index.js';
import { encodeHeader } from '../../src/isa/arch.js';
import type { InstructionDef, OperandKind } from '../../src/isa/instructions.js';
import type { Profile } from '../../src/isa/profile.js';
import { PROFILES } from '../../src/isa/profiles/index.js';
import { instrAt, wordAt } from './helpers.js';

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const reg = fc.integer({ min: 0, max: 15 });

/** The two words `text` assembles to at address 0. */
function words(text: string, profile: Profile): [number, number] {
  return instrAt(assemble(text, { profile }), 0);
}

/** Word pairs: anything at all, or a defined opcode with arbitrary fields and the odd reserved bit. */
function wordPairs(profile: Profile): fc.Arbitrary<[number, number]> {
  const ops = profile.instructions.map((d) => d.op);
  const defined = fc
    .record({ op: fc.constantFrom(...ops), rd: reg, rs: reg, rt: reg, abs: fc.boolean(), reserved: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0x7ff })), imm: u32 })
    .map(({ op, rd, rs, rt, abs, reserved, imm }): [number, number] => [(encodeHeader(op, rd, rs, rt, abs) | (reserved << 21)) >>> 0, imm]);
  return fc.oneof(fc.tuple(u32, u32), defined);
}

/** Fields of a canonical encoding of `def`: random where its operands put them, zero elsewhere. */
function canonical(def: InstructionDef): fc.Arbitrary<[number, number]> {
  const uses = (k: OperandKind) => def.operands.includes(k);
  const mem = uses('mem') ? fc.record({ abs: fc.boolean(), base: reg }) : fc.constant({ abs: false, base: 0 });
  return fc.record({ rd: reg, rs: reg, rt: reg, imm: u32, mem }).map(({ rd, rs, rt, imm, mem }): [number, number] => {
    const hasImm = uses('imm') || uses('target') || uses('mem');
    const base = uses('mem') ? (mem.abs ? 0 : mem.base) : uses('rs') ? rs : 0;
    return [encodeHeader(def.op, uses('rd') || uses('n4') ? rd : 0, base, uses('rt') ? rt : 0, mem.abs) >>> 0, hasImm ? imm : 0];
  });
}

// ---- generated programs --------------------------------------------------------------------

/** A reference to a label by index (resolved modulo the labels the program has), or a number. */
type Ref = { label: number; offset: number } | { value: number };

/** An operand's text, given the program's label names. */
type OperandText = (labels: readonly string[]) => string;

const ref: fc.Arbitrary<Ref> = fc.oneof(
  fc.record({ label: fc.nat(), offset: fc.constantFrom(0, 0, 8, -8) }),
  fc.record({ value: u32 }),
);

function refText(r: Ref, labels: readonly string[]): string {
  if ('value' in r || labels.length === 0) return numberText('value' in r ? r.value : r.offset);
  const name = labels[r.label % labels.length];
  return r.offset === 0 ? name : `${name} ${r.offset < 0 ? '-' : '+'} ${Math.abs(r.offset)}`;
}

/** `v` written in one of the literal forms, maybe as a small expression. */
function numberText(v: number, form = (v >>> 0) % 5): string {
  const u = v >>> 0;
  switch (form) {
    case 0:
      return String(u);
    case 1:
      return `0x${u.toString(16).toUpperCase()}`;
    case 2:
      return `-${(-u >>> 0).toString()}`;
    case 3:
      return `(${u >>> 16} << 16 | ${u & 0xffff})`;
    default:
      return u >= 0x20 && u < 0x7f && u !== 0x27 && u !== 0x5c ? `'${String.fromCharCode(u)}'` : `0b${u.toString(2)}`;
  }
}

const registerText = reg.chain((n) => fc.constantFrom(`r${n}`, `R${n}`, ...(n === 15 ? ['sp', 'SP'] : n === 14 ? ['lr'] : [])));

const OPERANDS: Readonly<Record<OperandKind, fc.Arbitrary<OperandText>>> = {
  rd: registerText.map((t) => () => t),
  rs: registerText.map((t) => () => t),
  rt: registerText.map((t) => () => t),
  imm: fc.oneof(u32.map((v) => () => numberText(v)), ref.map((r) => (ls: readonly string[]) => refText(r, ls))),
  target: ref.map((r) => (ls: readonly string[]) => refText(r, ls)),
  n4: fc.integer({ min: 0, max: 15 }).map((v) => () => numberText(v, v % 2)),
  mem: fc.oneof(
    fc.tuple(fc.integer({ min: -5000, max: 5000 }), registerText).map(([d, r]) => () => (d === 0 ? `(${r})` : `${d}(${r})`)),
    ref.map((x) => (ls: readonly string[]) => refText(x, ls)),
  ),
};

/** One line of a generated program (labels are added by `program`). */
function statement(profile: Profile): fc.Arbitrary<OperandText> {
  const instruction = fc.constantFrom(...profile.instructions).chain((def) =>
    fc.tuple(fc.constantFrom(def.mnemonic, def.mnemonic.toUpperCase()), fc.tuple(...def.operands.map((k) => OPERANDS[k]))).map(
      ([m, ops]) =>
        (ls: readonly string[]) =>
          `${m} ${ops.map((o) => o(ls)).join(', ')}`,
    ),
  );
  const data = fc.oneof(
    fc.array(fc.integer({ min: -128, max: 255 }), { minLength: 1, maxLength: 9 }).map((bs) => () => `.byte ${bs.join(', ')}\n.align 8`),
    fc.array(u32, { minLength: 1, maxLength: 3 }).map((ws) => () => `.align 4\n.word ${ws.map((w) => numberText(w)).join(', ')}\n.align 8`),
    fc.string({ maxLength: 12 }).map((s) => () => `.asciz "${[...s].map((c) => `\\x${(c.charCodeAt(0) & 0xff).toString(16).padStart(2, '0')}`).join('')}"\n.align 8`),
  );
  return fc.oneof({ arbitrary: instruction, weight: 4 }, { arbitrary: data, weight: 1 });
}

/** A program: statements, some labelled L0, L1, ..., whose operands refer to those labels. */
function program(profile: Profile): fc.Arbitrary<string> {
  return fc.array(fc.tuple(fc.boolean(), statement(profile)), { minLength: 1, maxLength: 25 }).map((lines) => {
    const labels = lines.flatMap(([labelled], i) => (labelled ? [`L${i}`] : []));
    return ['.org 0x80', ...lines.map(([labelled, s], i) => `${labelled ? `L${i}: ` : ''}${s(labels)}`)].join('\n');
  });
}

function instructionWords(r: AsmResult, address: number): [number, number] {
  return [wordAt(r, address), wordAt(r, address + 4)];
}

// ---- the properties --------------------------------------------------------------------------

describe.each([...PROFILES.values()].map((p) => [p.name, p] as const))('profile %s', (_, profile) => {
  test.prop([wordPairs(profile)], { numRuns: 3000 })('assemble(disassemble(w0, imm)) = (w0, imm)', ([w0, imm]) => {
    expect(words(disassemble(w0, imm, profile), profile)).toEqual([w0, imm]);
  });

  test.prop([fc.constantFrom(...profile.instructions).chain((def) => fc.tuple(fc.constant(def), canonical(def)))], { numRuns: 2000 })(
    'a canonical encoding disassembles to its instruction and back',
    ([def, [w0, imm]]) => {
      const text = disassemble(w0, imm, profile);
      expect(text.split(' ')[0]).toBe(def.mnemonic);
      expect(words(text, profile)).toEqual([w0, imm]);
    },
  );

  test.prop([program(profile)], { numRuns: 300 })('disassemble ∘ assemble is stable on generated programs', (source) => {
    const first = assemble(source, { profile });
    const lines = first.sourceMap.map((s) => ({ address: s.address, words: instructionWords(first, s.address) }));
    const texts = lines.map((l) => disassemble(l.words[0], l.words[1], profile));
    // plain text, at the same addresses
    const second = assemble(lines.map((l, i) => `.org ${l.address}\n${texts[i]}`).join('\n'), { profile });
    lines.forEach((l, i) => {
      expect(instructionWords(second, l.address)).toEqual(l.words);
      expect(disassemble(...instructionWords(second, l.address), profile)).toBe(texts[i]);
    });
    // a listing with labels, re-assembled with the labels predefined
    const read = (a: number) => wordAt(first, a);
    const listed = lines.map((l) => disassembleRange(read, l.address, 1, profile, first.labels)[0].text);
    const third = assemble(lines.map((l, i) => `.org ${l.address}\n${listed[i]}`).join('\n'), { profile, symbols: Object.fromEntries(first.labels) });
    lines.forEach((l) => expect(instructionWords(third, l.address)).toEqual(l.words));
  });
});
