// The symbol table: labels (the location counter where they stand), constants (`NAME = expr`,
// `.equ`, evaluated lazily so they may refer forward) and symbols predefined by the caller.
//
// Names are declared while parsing (so every later use can tell "defined later" from
// "undefined"), placed during layout, and valued on demand. During layout (pass 1) a symbol not
// yet placed raises ForwardReference; afterwards every symbol has its place.

import { AlreadyReported, didYouMean, SourceError, type Diagnostics, type Pos } from './errors.js';
import { evaluate, type Expr } from './expr.js';
import { isRegisterName } from './registers.js';

export type SymbolKind = 'label' | 'constant' | 'predefined';

/** A symbol used during layout before the statement defining it was laid out. */
export class ForwardReference extends Error {
  constructor(
    readonly symbol: string,
    /** where it is used */
    readonly pos: Pos,
  ) {
    super(`'${symbol}' is defined later`);
  }
}

interface Entry {
  readonly name: string;
  readonly kind: SymbolKind;
  readonly line?: number;
  /** the included file it was defined in (undefined: the file being assembled) */
  readonly file?: string;
  /** constants: the defining expression (undefined when it did not parse) */
  readonly expr?: Expr;
  /** label address, or constant `.` (the location counter at its definition) once placed */
  place?: number;
  value?: number;
  state: 'unplaced' | 'placed' | 'resolving' | 'done' | 'failed';
}

export class SymbolTable {
  private readonly entries = new Map<string, Entry>();

  constructor(
    predefined: Readonly<Record<string, number>>,
    private readonly diags: Diagnostics,
  ) {
    for (const [name, value] of Object.entries(predefined)) {
      this.entries.set(name, { name, kind: 'predefined', value: value >>> 0, state: 'done' });
    }
  }

  /** Declares label `name` at `pos`. Throws SourceError for a register name or a duplicate. */
  declareLabel(name: string, pos: Pos): void {
    this.declare({ name, kind: 'label', line: pos.line, file: pos.file, state: 'unplaced' }, pos);
  }

  /** Declares constant `name = expr`; `expr` undefined marks it broken (already reported). */
  declareConstant(name: string, pos: Pos, expr: Expr | undefined): void {
    this.declare({ name, kind: 'constant', line: pos.line, file: pos.file, expr, state: expr ? 'unplaced' : 'failed' }, pos);
  }

  private declare(entry: Entry, pos: Pos): void {
    if (isRegisterName(entry.name)) throw new SourceError(pos, `'${entry.name}' is a register name and cannot name a ${entry.kind}`);
    const first = this.entries.get(entry.name);
    if (first) {
      const where = first.line === undefined ? 'predefined by the caller' : `first defined at ${first.file !== pos.file ? `${first.file ?? this.diags.file}:` : 'line '}${first.line}`;
      throw new SourceError(pos, `duplicate ${entry.kind} '${entry.name}' (${where})`);
    }
    this.entries.set(entry.name, entry);
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  /** Layout: label `name` stands at `address` (or constant `name` is defined where `.` = address). */
  place(name: string, address: number): void {
    const e = this.entries.get(name)!;
    e.place = address;
    if (e.state !== 'unplaced') return;
    e.state = 'placed';
    if (e.kind === 'label') {
      e.value = address;
      e.state = 'done';
    }
  }

  /**
   * The value of `name` used at `pos`. Throws SourceError for an undefined symbol,
   * ForwardReference for one not placed yet, AlreadyReported for a broken constant.
   */
  value(name: string, pos: Pos): number {
    const e = this.entries.get(name);
    if (!e) throw new SourceError(pos, `undefined symbol '${name}'${didYouMean(name, this.entries.keys())}`);
    switch (e.state) {
      case 'done':
        return e.value!;
      case 'unplaced':
        throw new ForwardReference(name, pos);
      case 'failed':
        throw new AlreadyReported();
      case 'resolving':
        throw new SourceError(pos, `circular definition: '${name}' depends on itself`);
      case 'placed':
        return this.resolve(e);
    }
  }

  /**
   * Evaluates constant `e`. Its own errors are reported at its definition and mark it broken
   * (uses then throw AlreadyReported); a forward reference leaves it for later.
   */
  private resolve(e: Entry): number {
    e.state = 'resolving';
    try {
      e.value = evaluate(e.expr!, { dot: e.place!, symbol: (n, p) => this.value(n, p) });
      e.state = 'done';
      return e.value;
    } catch (err) {
      if (err instanceof ForwardReference) {
        e.state = 'placed';
        throw err;
      }
      e.state = 'failed';
      if (err instanceof SourceError) this.diags.add(err.pos, err.message);
      else if (!(err instanceof AlreadyReported)) throw err;
      throw new AlreadyReported();
    }
  }

  /** Every symbol with a value (predefined first, then in definition order), and the labels among them. */
  table(): { symbols: Map<string, number>; labels: Map<string, number> } {
    const symbols = new Map<string, number>();
    const labels = new Map<string, number>();
    for (const e of this.entries.values()) {
      if (e.state !== 'done') continue;
      symbols.set(e.name, e.value!);
      if (e.kind === 'label') labels.set(e.name, e.value!);
    }
    return { symbols, labels };
  }
}
