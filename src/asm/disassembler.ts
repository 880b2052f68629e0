// Instruction words → canonical text that assembles back to the same words. A word pair no
// instruction text can express (undefined opcode, reserved header bits, nonzero fields the
// row does not use, a base register beside the A bit) prints as `.word 0x..., 0x...`.

import { INSTR_BYTES } from '../isa/arch.js';
import type { InstructionDef } from '../isa/instructions.js';
import type { Profile } from '../isa/profile.js';
import { decodeFields, encodeFields, mergeFields, OPERAND_CODECS, type AddressNamer, type Fields } from './operands.js';
import { asmProfile, type AsmProfile } from './profile-view.js';

/** Reads the 32-bit little-endian word at an address. */
export type WordReader = (address: number) => number;

export interface ListingLine {
  readonly address: number;
  readonly header: number;
  readonly imm: number;
  readonly text: string;
  /** the label standing at this address, if any */
  readonly label?: string;
}

const noNames: AddressNamer = () => undefined;

/** Canonical text of the instruction `header`, `imm` in `profile` (targets as hex addresses). */
export function disassemble(header: number, imm: number, profile: Profile): string {
  return disassembleWith(header, imm, asmProfile(profile), noNames);
}

/**
 * Lists `count` instructions from `address`. `source` is either bytes whose first byte is at
 * `address`, or a word reader. With `labels` (name → address, e.g. AsmResult.labels), targets
 * and absolute addresses that a label names print as the label. Throws RangeError when the
 * bytes end before `count` instructions.
 */
export function disassembleRange(
  source: Uint8Array | WordReader,
  address: number,
  count: number,
  profile: Profile,
  labels?: ReadonlyMap<string, number>,
): ListingLine[] {
  const read = typeof source === 'function' ? source : byteReader(source, address);
  const view = asmProfile(profile);
  const names = labelNames(labels);
  const name: AddressNamer = (a) => names.get(a);
  const out: ListingLine[] = [];
  for (let i = 0; i < count; i++) {
    const at = (address + i * INSTR_BYTES) >>> 0;
    const header = read(at) >>> 0;
    const imm = read((at + 4) >>> 0) >>> 0;
    const label = names.get(at);
    const text = disassembleWith(header, imm, view, name);
    out.push(label === undefined ? { address: at, header, imm, text } : { address: at, header, imm, text, label });
  }
  return out;
}

/** A listing as text: `label:` lines, then `address  header imm  text` per instruction. */
export function formatListing(lines: readonly ListingLine[]): string {
  return lines.map((l) => `${l.label === undefined ? '' : `${l.label}:\n`}${hex8(l.address)}  ${hex8(l.header)} ${hex8(l.imm)}  ${l.text}`).join('\n');
}

function disassembleWith(header: number, imm: number, view: AsmProfile, name: AddressNamer): string {
  const def = view.byOp[header & 0xff];
  const fields = decodeFields(header, imm);
  if (def && expressible(def, fields, header, imm)) {
    const operands = def.operands.map((k) => OPERAND_CODECS[k].format(fields, name));
    return operands.length === 0 ? def.mnemonic : `${def.mnemonic} ${operands.join(', ')}`;
  }
  return `.word 0x${hex8(header)}, 0x${hex8(imm)}`;
}

/** Whether `def`'s operand text can say everything in the words (re-encoding them gives them back). */
function expressible(def: InstructionDef, fields: Fields, header: number, imm: number): boolean {
  const kept = mergeFields(def.operands.map((k) => OPERAND_CODECS[k].express(fields)));
  const [w0, w1] = encodeFields(def.op, kept);
  return w0 === header >>> 0 && w1 === imm >>> 0;
}

function hex8(v: number): string {
  return (v >>> 0).toString(16).padStart(8, '0');
}

/** Address → first label (in map order) standing there. */
function labelNames(labels: ReadonlyMap<string, number> | undefined): Map<number, string> {
  const names = new Map<number, string>();
  for (const [n, a] of labels ?? []) if (!names.has(a >>> 0)) names.set(a >>> 0, n);
  return names;
}

function byteReader(bytes: Uint8Array, base: number): WordReader {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return (address) => {
    const offset = (address - base) >>> 0;
    if (offset + 4 > bytes.length) throw new RangeError(`disassembleRange: address ${address.toString(16)} is outside the bytes given`);
    return view.getUint32(offset, true);
  };
}
