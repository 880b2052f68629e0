// A parsed statement: where it goes (pass 1, layout) and what bytes it holds (pass 2, emit).
// Instructions, directives, labels and constants are all statements; the driver in
// assembler.ts runs them without knowing which is which.

import { SourceError, type Pos } from './errors.js';
import { evaluate, type Expr } from './expr.js';
import { ForwardReference, type SymbolTable } from './symbols.js';

export interface Placement {
  /** first address */
  readonly start: number;
  /** bytes it occupies */
  readonly size: number;
}

/** Values of expressions, backed by the symbol table. */
export interface Evaluator {
  /** the value of `e` where `.` = `dot` (throws SourceError, ForwardReference or AlreadyReported) */
  value(e: Expr, dot: number): number;
  /**
   * Like `value`, for layout, where the value must be known now: a symbol defined later is a
   * SourceError saying `what` needs it.
   */
  early(e: Expr, dot: number, what: string): number;
  /** whether symbol `name` is defined anywhere (or predefined) */
  defines(name: string): boolean;
}

export interface Statement {
  /** where errors about the statement point */
  readonly pos: Pos;
  /** its start address must be a multiple of this (1: anywhere) */
  readonly align: number;
  /** an instruction: recorded in the source map */
  readonly instruction?: boolean;
  /** pass 1: its placement when the location counter is `lc` (it may define symbols) */
  layout(lc: number, ev: Evaluator): Placement;
  /** pass 2: exactly `size` bytes for the placement `start` (it may check symbols) */
  emit(start: number, ev: Evaluator): Uint8Array;
}

/** The evaluator over `symbols` (which must outlive it; values are read at call time). */
export function evaluator(symbols: SymbolTable): Evaluator {
  const value = (e: Expr, dot: number): number => evaluate(e, { dot, symbol: (name, pos) => symbols.value(name, pos) });
  return {
    value,
    early(e, dot, what) {
      try {
        return value(e, dot);
      } catch (err) {
        if (!(err instanceof ForwardReference)) throw err;
        // point at the symbol when it is used right here, else (via a constant) at the expression
        const at = err.pos.line === e.pos.line ? err.pos : startOf(e);
        throw new SourceError(at, `${what} must be known here, but '${err.symbol}' is defined later`);
      }
    },
    defines: (name) => symbols.has(name),
  };
}

/** Where expression `e` starts in the source. */
function startOf(e: Expr): Pos {
  return e.kind === 'binary' ? startOf(e.left) : e.pos;
}

/** A statement of `size` bytes at the location counter, its bytes from `bytes(start, ev)`. */
export function fixedStatement(
  pos: Pos,
  size: number,
  align: number,
  bytes: (start: number, ev: Evaluator) => Uint8Array,
  instruction = false,
): Statement {
  return { pos, align, instruction, layout: (lc) => ({ start: lc, size }), emit: bytes };
}

/** Little-endian bytes of 32-bit words. */
export function wordBytes(words: readonly number[]): Uint8Array {
  const out = new Uint8Array(words.length * 4);
  const view = new DataView(out.buffer);
  words.forEach((w, i) => view.setUint32(i * 4, w >>> 0, true));
  return out;
}
