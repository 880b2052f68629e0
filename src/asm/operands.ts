// Operand kinds as data: for each kind, the header fields it fills, how its text is parsed
// into those fields, and how the fields print back as canonical text. The assembler and the
// disassembler both go through this table, so one kind's syntax lives in one place.

import { encodeHeader, HDR_ABS } from '../isa/arch.js';
import type { OperandKind } from '../isa/instructions.js';
import { SourceError, type Pos } from './errors.js';
import { describe, parseExpression, type Expr } from './expr.js';
import type { Token } from './lexer.js';
import { parseRegister, registerName } from './registers.js';

/** The decoded fields of an instruction (see the header layout in arch.ts). */
export interface Fields {
  readonly rd: number;
  readonly rs: number;
  readonly rt: number;
  /** the A bit: the memory operand is the absolute address imm */
  readonly abs: boolean;
  /** the immediate word, 0 .. 2^32-1 */
  readonly imm: number;
}
export type FieldName = keyof Fields;

export const ZERO_FIELDS: Fields = { rd: 0, rs: 0, rt: 0, abs: false, imm: 0 };

/** One operand as written: its tokens, where it starts, and its text. */
export interface OperandText {
  readonly tokens: readonly Token[];
  readonly pos: Pos;
  /** what follows the operand, for "found ..." errors: its position and description */
  readonly endPos: Pos;
  readonly endText: string;
  readonly text: string;
}

/** Turns an expression into its value once symbols are known. */
export type Evaluate = (e: Expr) => number;

/** Names an address (a label) for listings, or undefined to print it as a number. */
export type AddressNamer = (address: number) => string | undefined;

export interface OperandCodec {
  /** header fields it fills (a row may fill each field at most once) */
  readonly fills: readonly FieldName[];
  /** parse time: checks the operand's shape; the result yields its fields once values are known */
  parse(o: OperandText): (value: Evaluate) => Partial<Fields>;
  /** the fields its canonical text can express, taken from `f` (others are left out) */
  express(f: Fields): Partial<Fields>;
  /** its canonical text for the fields in `f` */
  format(f: Fields, name: AddressNamer): string;
}

/** A register in header field `field`. */
function registerCodec(field: 'rd' | 'rs' | 'rt'): OperandCodec {
  return {
    fills: [field],
    parse(o) {
      const r = registerOperand(o);
      return () => ({ [field]: r });
    },
    express: (f) => ({ [field]: f[field] }),
    format: (f) => registerName(f[field]),
  };
}

/** An expression in the immediate word; `format` prints it as a number or an address. */
function immediateCodec(format: (v: number, name: AddressNamer) => string): OperandCodec {
  return {
    fills: ['imm'],
    parse(o) {
      const e = expressionOperand(o);
      return (value) => ({ imm: value(e) });
    },
    express: (f) => ({ imm: f.imm }),
    format: (f, name) => format(f.imm, name),
  };
}

const memCodec: OperandCodec = {
  fills: ['rs', 'abs', 'imm'],
  parse(o) {
    const m = memoryOperand(o);
    if (m.abs) return (value) => ({ abs: true, imm: value(m.address) });
    const { base, disp } = m;
    return (value) => ({ rs: base, imm: disp ? value(disp) : 0 });
  },
  express: (f) => (f.abs ? { abs: true, imm: f.imm } : { rs: f.rs, imm: f.imm }),
  format: (f, name) => (f.abs ? formatAddress(f.imm, name) : `${f.imm === 0 ? '' : formatImmediate(f.imm)}(${registerName(f.rs)})`),
};

const n4Codec: OperandCodec = {
  fills: ['rd'],
  parse(o) {
    const e = expressionOperand(o);
    return (value) => ({ rd: checkRange(value(e), 0, 15, 'n4', o.pos) });
  },
  express: (f) => ({ rd: f.rd }),
  format: (f) => String(f.rd),
};

export const OPERAND_CODECS: Readonly<Record<OperandKind, OperandCodec>> = {
  rd: registerCodec('rd'),
  rs: registerCodec('rs'),
  rt: registerCodec('rt'),
  mem: memCodec,
  imm: immediateCodec((v) => formatImmediate(v)),
  target: immediateCodec(formatAddress),
  n4: n4Codec,
};

/** The register an operand names. Throws SourceError for anything else. */
function registerOperand(o: OperandText): number {
  const t = o.tokens[0];
  const r = o.tokens.length === 1 && t.kind === 'ident' ? parseRegister(t.text) : undefined;
  if (r === undefined) throw new SourceError(o.pos, `register expected, found '${o.text}'`);
  return r;
}

/** An operand that is one expression; a register there is reported as such. */
function expressionOperand(o: OperandText): Expr {
  return parseExpression(o.tokens, o.endPos, o.endText);
}

type MemoryOperand = { readonly abs: true; readonly address: Expr } | { readonly abs: false; readonly base: number; readonly disp?: Expr };

/**
 * A memory operand: `expr(rN)` or `(rN)` (base + displacement) when it ends in a parenthesised
 * register, else a bare absolute address. Throws SourceError naming what was found.
 */
function memoryOperand(o: OperandText): MemoryOperand {
  const ts = o.tokens;
  const n = ts.length;
  const closes = n >= 3 && ts[n - 1].text === ')' && ts[n - 3].text === '(' && ts[n - 2].kind === 'ident';
  const base = closes ? parseRegister(ts[n - 2].text) : undefined;
  if (closes && base === undefined && n > 3) throw new SourceError(ts[n - 2].pos, `register expected, found ${describe(ts[n - 2])}`);
  if (base === undefined) {
    if (n === 1 && ts[0].kind === 'ident' && parseRegister(ts[0].text) !== undefined) {
      throw new SourceError(o.pos, `memory operand expected (expr(rN), (rN) or an address), found register '${o.text}'`);
    }
    return { abs: true, address: parseExpression(ts, o.endPos, o.endText) };
  }
  const prefix = ts.slice(0, n - 3);
  return { abs: false, base, disp: prefix.length === 0 ? undefined : parseExpression(prefix, ts[n - 3].pos, "'('") };
}

/** `v` read as a signed 32-bit value, if within lo..hi; else throws "value V does not fit WHAT (lo..hi)". */
export function checkRange(v: number, lo: number, hi: number, what: string, pos: Pos): number {
  const s = v | 0;
  if (s < lo || s > hi) throw new SourceError(pos, `value ${s} does not fit ${what} (${lo}..${hi})`);
  return s;
}

/** An immediate: decimal when |signed value| < 4096, else unsigned hex. */
export function formatImmediate(v: number): string {
  const s = v | 0;
  return Math.abs(s) < 4096 ? String(s) : hex(v);
}

/** An address: its label when `name` knows one, else hex. */
export function formatAddress(v: number, name: AddressNamer): string {
  return name(v >>> 0) ?? hex(v);
}

export function hex(v: number): string {
  return '0x' + (v >>> 0).toString(16);
}

/** The fields given by `parts` (each filling some), zero where none does. */
export function mergeFields(parts: readonly Partial<Fields>[]): Fields {
  return Object.assign({}, ZERO_FIELDS, ...parts);
}

/** The two words of instruction `op` with fields `f`. */
export function encodeFields(op: number, f: Fields): [number, number] {
  return [encodeHeader(op, f.rd, f.rs, f.rt, f.abs) >>> 0, f.imm >>> 0];
}

/** The fields of header `w0` and immediate `imm` (reserved bits are not represented). */
export function decodeFields(w0: number, imm: number): Fields {
  return { rd: (w0 >>> 8) & 15, rs: (w0 >>> 12) & 15, rt: (w0 >>> 16) & 15, abs: (w0 & HDR_ABS) !== 0, imm: imm >>> 0 };
}
