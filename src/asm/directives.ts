// Directives as data: each row parses its operands into a Statement. `.equ` and `NAME = expr`
// share `constantStatement`; `.psw` lives in psw.ts.

import { count, SourceError, type Pos } from './errors.js';
import { parseExpression, type Expr } from './expr.js';
import type { Token } from './lexer.js';
import { checkRange, hex, type OperandText } from './operands.js';
import type { AsmProfile } from './profile-view.js';
import { pswStatement } from './psw.js';
import { fixedStatement, wordBytes, type Evaluator, type Statement } from './statement.js';
import type { SymbolTable } from './symbols.js';

/** Largest `.space` (and `.align` padding), so a typo cannot allocate gigabytes. */
export const MAX_SPACE = 1 << 24;

export interface ParseContext {
  readonly view: AsmProfile;
  readonly symbols: SymbolTable;
}

export interface DirectiveDef {
  /** how it is written, for errors and docs */
  readonly syntax: string;
  readonly summary: string;
  /** least and most operands (most = Infinity for lists) */
  readonly operands: readonly [number, number];
  /** the statement for `args` (count already checked); throws SourceError on bad operands */
  parse(args: readonly OperandText[], pos: Pos, ctx: ParseContext): Statement;
}

const NOTHING = new Uint8Array(0);

export const DIRECTIVES: ReadonlyMap<string, DirectiveDef> = new Map<string, DirectiveDef>([
  ['.org', { syntax: '.org expr', summary: 'set the location counter; it may move backwards, but output overlapping earlier output is an error', operands: [1, 1], parse: orgStatement }],
  ['.word', { syntax: '.word expr, ...', summary: '32-bit little-endian words; must start 4-aligned', operands: [1, Infinity], parse: wordsStatement }],
  ['.byte', { syntax: '.byte expr, ...', summary: 'bytes; each value in -128..255', operands: [1, Infinity], parse: bytesStatement }],
  ['.ascii', { syntax: '.ascii "text", ...', summary: 'the bytes of the strings', operands: [1, Infinity], parse: (a, p) => stringStatement(a, p, false) }],
  ['.asciz', { syntax: '.asciz "text", ...', summary: 'each string followed by a 0 byte', operands: [1, Infinity], parse: (a, p) => stringStatement(a, p, true) }],
  ['.space', { syntax: '.space n[, fill]', summary: 'n bytes of fill (default 0; -128..255), at most 16 MiB', operands: [1, 2], parse: spaceStatement }],
  ['.align', { syntax: '.align n', summary: 'zero bytes up to the next multiple of n bytes (a power of two)', operands: [1, 1], parse: alignStatement }],
  ['.equ', { syntax: '.equ NAME, expr', summary: 'define constant NAME, like NAME = expr (evaluated lazily; may refer forward)', operands: [2, 2], parse: equStatement }],
  ['.psw', { syntax: '.psw key=value, ...', summary: 'a 32-byte PSW image in the layout of arch.ts (keys below); must start 4-aligned', operands: [0, Infinity], parse: (a, p, c) => pswStatement(a, p, c.view) }],
]);

/** Throws unless `args` has as many operands as directive `name` takes. */
export function checkOperandCount(name: string, def: DirectiveDef, args: readonly OperandText[], pos: Pos): void {
  const [min, max] = def.operands;
  if (args.length >= min && args.length <= max) return;
  const expected = min === max ? count(min, 'operand') : max === Infinity ? `at least ${count(min, 'operand')}` : `${min} to ${max} operands`;
  throw new SourceError(pos, `'${name}' expects ${expected} (${def.syntax}), found ${args.length}`);
}

function expr(a: OperandText): Expr {
  return parseExpression(a.tokens, a.endPos, a.endText);
}

function orgStatement(args: readonly OperandText[], pos: Pos): Statement {
  const e = expr(args[0]);
  return { pos, align: 1, layout: (lc, ev) => ({ start: ev.early(e, lc, "'.org' address"), size: 0 }), emit: () => NOTHING };
}

function wordsStatement(args: readonly OperandText[], pos: Pos): Statement {
  const es = args.map(expr);
  return fixedStatement(pos, 4 * es.length, 4, (start, ev) => wordBytes(es.map((e) => ev.value(e, start))));
}

function bytesStatement(args: readonly OperandText[], pos: Pos): Statement {
  const es = args.map(expr);
  return fixedStatement(pos, es.length, 1, (start, ev) => Uint8Array.from(es, (e, i) => byteValue(e, start, ev, args[i].pos)));
}

/** `e` as a byte (-128..255 accepted; negative values are two's complement). */
function byteValue(e: Expr, dot: number, ev: Evaluator, pos: Pos): number {
  return checkRange(ev.value(e, dot), -128, 255, 'a byte', pos) & 0xff;
}

function stringStatement(args: readonly OperandText[], pos: Pos, zero: boolean): Statement {
  const bytes: number[] = [];
  for (const a of args) {
    const t = a.tokens[0];
    if (a.tokens.length !== 1 || t.kind !== 'string') throw new SourceError(a.pos, `string expected, found '${a.text}'`);
    bytes.push(...t.bytes!);
    if (zero) bytes.push(0);
  }
  const out = Uint8Array.from(bytes);
  return fixedStatement(pos, out.length, 1, () => out);
}

function spaceStatement(args: readonly OperandText[], pos: Pos): Statement {
  const count = expr(args[0]);
  const fill = args[1] ? expr(args[1]) : undefined;
  let size = 0;
  return {
    pos,
    align: 1,
    layout(lc, ev) {
      size = checkSpace(ev.early(count, lc, "'.space' count"), "'.space' count", count.pos);
      return { start: lc, size };
    },
    emit: (start, ev) => new Uint8Array(size).fill(fill ? byteValue(fill, start, ev, args[1].pos) : 0),
  };
}

function alignStatement(args: readonly OperandText[], pos: Pos): Statement {
  const e = expr(args[0]);
  let size = 0;
  return {
    pos,
    align: 1,
    layout(lc, ev) {
      const n = ev.early(e, lc, "'.align' boundary");
      if (n === 0 || (n & (n - 1)) !== 0) throw new SourceError(e.pos, `'.align' expects a power of two (bytes), found ${n}`);
      size = checkSpace((n - (lc % n)) % n, "'.align' padding", e.pos);
      return { start: lc, size };
    },
    emit: () => new Uint8Array(size),
  };
}

function checkSpace(n: number, what: string, pos: Pos): number {
  if (n > MAX_SPACE) throw new SourceError(pos, `${what} ${hex(n)} is too large (at most ${hex(MAX_SPACE)})`);
  return n;
}

function equStatement(args: readonly OperandText[], _pos: Pos, ctx: ParseContext): Statement {
  const [name, value] = args;
  if (name.tokens.length !== 1 || name.tokens[0].kind !== 'ident') throw new SourceError(name.pos, `constant name expected, found '${name.text}'`);
  return constantStatement(name.tokens[0], value, ctx.symbols);
}

/** `NAME = expr` (or `.equ NAME, expr`): declares the constant; its value is resolved lazily. */
export function constantStatement(name: Token, value: OperandText, symbols: SymbolTable): Statement {
  let e: Expr | undefined;
  try {
    e = expr(value);
  } finally {
    symbols.declareConstant(name.text, name.pos, e);
  }
  return {
    pos: name.pos,
    align: 1,
    layout(lc) {
      symbols.place(name.text, lc);
      return { start: lc, size: 0 };
    },
    emit() {
      symbols.value(name.text, name.pos);
      return NOTHING;
    },
  };
}

/** A label: takes the location counter's value. */
export function labelStatement(name: Token, symbols: SymbolTable): Statement {
  return {
    pos: name.pos,
    align: 1,
    layout(lc) {
      symbols.place(name.text, lc);
      return { start: lc, size: 0 };
    },
    emit: () => NOTHING,
  };
}
