// Expressions: parsed once into a tree, evaluated when the symbols they name have values.
// Values are 32-bit unsigned; every operator wraps. `/`, `%` and `>>` are unsigned; a shift by
// 32 or more gives 0. Precedence and associativity are C's (all binary operators left-assoc).

import { SourceError, type Pos } from './errors.js';
import type { Token } from './lexer.js';
import { isRegisterName } from './registers.js';

export type UnaryOp = '-' | '~';
export type BinaryOp = '*' | '/' | '%' | '+' | '-' | '<<' | '>>' | '&' | '^' | '|';

export type Expr =
  | { readonly kind: 'number'; readonly value: number; readonly pos: Pos }
  | { readonly kind: 'symbol'; readonly name: string; readonly pos: Pos }
  | { readonly kind: 'dot'; readonly pos: Pos }
  | { readonly kind: 'unary'; readonly op: UnaryOp; readonly arg: Expr; readonly pos: Pos }
  | { readonly kind: 'binary'; readonly op: BinaryOp; readonly left: Expr; readonly right: Expr; readonly pos: Pos };

interface BinaryDef {
  readonly precedence: number;
  /** the result, 0 .. 2^32-1, of unsigned operands; undefined when undefined (x / 0) */
  readonly apply: (a: number, b: number) => number | undefined;
}

const BINARY: Readonly<Record<BinaryOp, BinaryDef>> = {
  '*': { precedence: 10, apply: (a, b) => Math.imul(a, b) >>> 0 },
  '/': { precedence: 10, apply: (a, b) => (b === 0 ? undefined : Math.floor(a / b)) },
  '%': { precedence: 10, apply: (a, b) => (b === 0 ? undefined : a % b) },
  '+': { precedence: 9, apply: (a, b) => (a + b) >>> 0 },
  '-': { precedence: 9, apply: (a, b) => (a - b) >>> 0 },
  '<<': { precedence: 8, apply: (a, b) => (b >= 32 ? 0 : (a << b) >>> 0) },
  '>>': { precedence: 8, apply: (a, b) => (b >= 32 ? 0 : a >>> b) },
  '&': { precedence: 7, apply: (a, b) => (a & b) >>> 0 },
  '^': { precedence: 6, apply: (a, b) => (a ^ b) >>> 0 },
  '|': { precedence: 5, apply: (a, b) => (a | b) >>> 0 },
};

const UNARY: Readonly<Record<UnaryOp, (a: number) => number>> = {
  '-': (a) => -a >>> 0,
  '~': (a) => ~a >>> 0,
};

/**
 * Reads tokens left to right. Past the last token, errors point at `endPos` and call what is
 * there `endText` (the following ',' or '(' when the tokens are part of a line).
 */
export class TokenCursor {
  private i = 0;

  constructor(
    readonly tokens: readonly Token[],
    readonly endPos: Pos,
    readonly endText = 'end of line',
  ) {}

  peek(offset = 0): Token | undefined {
    return this.tokens[this.i + offset];
  }

  next(): Token | undefined {
    return this.tokens[this.i++];
  }

  atEnd(): boolean {
    return this.i >= this.tokens.length;
  }

  /** Position of the next token, or the end of the line. */
  pos(): Pos {
    return this.peek()?.pos ?? this.endPos;
  }

  /** The remaining tokens; the cursor moves to the end. */
  rest(): Token[] {
    const r = this.tokens.slice(this.i);
    this.i = this.tokens.length;
    return r;
  }

  /** Consumes punctuation `p` if it is next. */
  eat(p: string): boolean {
    const t = this.peek();
    if (t?.kind !== 'punct' || t.text !== p) return false;
    this.i++;
    return true;
  }

  /** Throws SourceError "`what` expected, found X" at the next token. */
  fail(what: string): never {
    const t = this.peek();
    throw new SourceError(this.pos(), `${what} expected, found ${t ? describe(t) : this.endText}`);
  }
}

/** How an error message names a token: its quoted text, or "end of line". */
export function describe(t: Token | undefined): string {
  return t === undefined ? 'end of line' : `'${t.text}'`;
}

/**
 * The expression spanning all of `tokens` (followed by `endText` at `endPos`). Throws
 * SourceError if they are not exactly one expression.
 */
export function parseExpression(tokens: readonly Token[], endPos: Pos, endText?: string): Expr {
  const c = new TokenCursor(tokens, endPos, endText);
  const e = parseBinary(c, 0);
  if (!c.atEnd()) throw new SourceError(c.pos(), `unexpected ${describe(c.peek())} after expression`);
  return e;
}

/** Precedence climbing: operands joined by operators binding tighter than `min`. */
function parseBinary(c: TokenCursor, min: number): Expr {
  let left = parseUnary(c);
  for (;;) {
    const t = c.peek();
    const def = t?.kind === 'punct' ? BINARY[t.text as BinaryOp] : undefined;
    if (!t || !def || def.precedence <= min) return left;
    c.next();
    const right = parseBinary(c, def.precedence);
    left = { kind: 'binary', op: t.text as BinaryOp, left, right, pos: t.pos };
  }
}

function parseUnary(c: TokenCursor): Expr {
  const t = c.peek();
  if (t?.kind === 'punct' && (t.text === '-' || t.text === '~')) {
    c.next();
    return { kind: 'unary', op: t.text, arg: parseUnary(c), pos: t.pos };
  }
  return parsePrimary(c);
}

function parsePrimary(c: TokenCursor): Expr {
  const t = c.peek();
  if (t?.kind === 'number') {
    c.next();
    return { kind: 'number', value: t.value, pos: t.pos };
  }
  if (t?.kind === 'ident') {
    if (isRegisterName(t.text)) throw new SourceError(t.pos, `value expected, found register '${t.text}'`);
    c.next();
    return { kind: 'symbol', name: t.text, pos: t.pos };
  }
  if (c.eat('.')) return { kind: 'dot', pos: t!.pos };
  if (c.eat('(')) {
    const e = parseBinary(c, 0);
    if (!c.eat(')')) c.fail("')'");
    return e;
  }
  return c.fail('value');
}

/** What an expression's names mean when it is evaluated. */
export interface Scope {
  /** the address `.` stands for */
  readonly dot: number;
  /** the value of symbol `name` (throws when it has none) */
  symbol(name: string, pos: Pos): number;
}

/** The value of `e`, 0 .. 2^32-1. Throws SourceError on division by zero; `scope` may throw too. */
export function evaluate(e: Expr, scope: Scope): number {
  switch (e.kind) {
    case 'number':
      return e.value;
    case 'symbol':
      return scope.symbol(e.name, e.pos) >>> 0;
    case 'dot':
      return scope.dot >>> 0;
    case 'unary':
      return UNARY[e.op](evaluate(e.arg, scope));
    case 'binary': {
      const v = BINARY[e.op].apply(evaluate(e.left, scope), evaluate(e.right, scope));
      if (v === undefined) throw new SourceError(e.pos, `division by zero in '${e.op}'`);
      return v;
    }
  }
}
