// The assembler driver: parse every line into statements, lay them out (pass 1: addresses,
// labels), emit their bytes (pass 2: expressions, encodings), then check that no two outputs
// overlap and merge them into chunks. Everything is table-driven from the profile's instruction
// rows; nothing here knows a mnemonic.

import { INSTR_BYTES } from '../isa/arch.js';
import type { Profile } from '../isa/profile.js';
import { Diagnostics, SourceError } from './errors.js';
import { hex } from './operands.js';
import { parseProgram, type IncludeReader } from './parser.js';
import { asmProfile } from './profile-view.js';
import { evaluator, type Evaluator, type Placement, type Statement } from './statement.js';
import { SymbolTable } from './symbols.js';

export interface AsmOptions {
  readonly profile: Profile;
  /** file name used in diagnostics and the source map (default '<source>') */
  readonly file?: string;
  /** initial location counter (default 0) */
  readonly origin?: number;
  /** symbols defined before the first line (constants; the source may not redefine them) */
  readonly symbols?: Readonly<Record<string, number>>;
  /** line number of the first line, when the text is embedded in a larger file (default 1) */
  readonly firstLine?: number;
  /** columns the text is indented by in its enclosing file (default 0) */
  readonly indent?: number;
  /**
   * Reads the file named by `.include "path"` (`from`: the including file, undefined for the
   * text being assembled). Without it, `.include` is an error.
   */
  readonly include?: IncludeReader;
  /** most bytes of output (all statements together, `.space` included), checked before any is emitted (default MAX_OUTPUT) */
  readonly maxOutput?: number;
}

/** Default output limit of one assembly: 64 MiB. */
export const MAX_OUTPUT = 64 * 2 ** 20;

/** Contiguous output bytes at the program's own addresses (the loader adds its load offset). */
export interface AsmChunk {
  readonly address: number;
  readonly bytes: Uint8Array;
}

/** Where an instruction came from. */
export interface SourceLine {
  readonly address: number;
  readonly file: string;
  readonly line: number;
  /** the source line, trimmed */
  readonly text: string;
}

export interface AsmResult {
  /** sorted by address, non-overlapping, none empty */
  readonly chunks: readonly AsmChunk[];
  /** every symbol: labels, constants and the caller's predefined ones, name → value */
  readonly symbols: ReadonlyMap<string, number>;
  /** the labels among them (addresses), in definition order — what listings name addresses by */
  readonly labels: ReadonlyMap<string, number>;
  /** one entry per instruction, sorted by address */
  readonly sourceMap: readonly SourceLine[];
}

/** A statement's output: where it went and its bytes. */
interface Piece {
  readonly statement: Statement;
  readonly start: number;
  readonly bytes: Uint8Array;
}

const ADDRESS_SPACE = 2 ** 32;

/**
 * Assembles `source` for `options.profile`. Returns the output chunks, symbols and source map;
 * throws AsmError listing every problem found (file:line:column: message). Throws Error only for
 * a broken profile or an origin that is not a 32-bit address.
 */
export function assemble(source: string, options: AsmOptions): AsmResult {
  const origin = options.origin ?? 0;
  if (!Number.isInteger(origin) || origin < 0 || origin >= ADDRESS_SPACE) throw new Error(`assemble: origin ${origin} is not a 32-bit address`);
  const file = options.file ?? '<source>';
  const diags = new Diagnostics(file);
  const view = asmProfile(options.profile);
  const symbols = new SymbolTable(options.symbols ?? {}, diags);
  const lines = { firstLine: options.firstLine ?? 1, indent: options.indent ?? 0 };
  const sources = new Map<string, readonly string[]>();
  const statements = parseProgram(source, { view, symbols }, diags, lines, { read: options.include, sources, stack: [file] });
  if (diags.full) diags.throwIfAny();
  const ev = evaluator(symbols);
  const placements = layout(statements, origin, ev, diags);
  checkOutputSize(statements, placements, options.maxOutput ?? MAX_OUTPUT, diags);
  const pieces = emit(statements, placements, ev, diags);
  checkOverlaps(pieces, diags);
  diags.throwIfAny();
  return {
    chunks: mergeChunks(pieces),
    ...symbols.table(),
    sourceMap: sourceMap(pieces, sources, file, lines.firstLine),
  };
}

/**
 * Pass 1: the placement of every statement (undefined where layout failed), moving the
 * location counter from `origin`. Labels and constants get their places here.
 */
function layout(statements: readonly Statement[], origin: number, ev: Evaluator, diags: Diagnostics): (Placement | undefined)[] {
  let lc = origin;
  return statements.map((s) => {
    const placed = diags.guard(() => {
      const p = s.layout(lc, ev);
      if (p.start % s.align !== 0) throw new SourceError(s.pos, misaligned(s, p.start));
      if (p.start + p.size > ADDRESS_SPACE) throw new SourceError(s.pos, `output at ${hex(p.start)} runs past the end of the 32-bit address space`);
      return p;
    });
    if (placed) lc = (placed.start + placed.size) % ADDRESS_SPACE;
    return placed;
  });
}

/**
 * Reports the statement at which the output laid out so far passes `max` bytes (before pass 2
 * allocates any of it), and drops every placement from there on so nothing is emitted.
 */
function checkOutputSize(statements: readonly Statement[], placements: (Placement | undefined)[], max: number, diags: Diagnostics): void {
  let total = 0;
  for (let i = 0; i < placements.length; i++) {
    total += placements[i]?.size ?? 0;
    if (total <= max) continue;
    diags.add(statements[i].pos, `the output reaches ${hex(total)} bytes here, more than the ${hex(max)} bytes one assembly may produce`);
    placements.fill(undefined, i);
    return;
  }
}

function misaligned(s: Statement, start: number): string {
  const what = s.instruction ? 'instruction' : 'data';
  const why = s.instruction ? 'instructions are fetched 8 bytes at a time' : 'it holds words';
  return `${what} at ${hex(start)} is not ${s.align}-aligned (${why}; use .align ${s.align})`;
}

/** Pass 2: the bytes of every statement that was laid out. Throws Error if one breaks its size. */
function emit(statements: readonly Statement[], placements: readonly (Placement | undefined)[], ev: Evaluator, diags: Diagnostics): Piece[] {
  const pieces: Piece[] = [];
  statements.forEach((statement, i) => {
    const p = placements[i];
    if (!p) return;
    const bytes = diags.guard(() => statement.emit(p.start, ev));
    if (bytes && bytes.length !== p.size) throw new Error(`assemble: line ${statement.pos.line} emitted ${bytes.length} bytes, laid out ${p.size}`);
    if (bytes && bytes.length > 0) pieces.push({ statement, start: p.start, bytes });
  });
  return pieces;
}

/** Reports every piece that overlaps an earlier-placed one (at whichever comes later in the source). */
function checkOverlaps(pieces: readonly Piece[], diags: Diagnostics): void {
  const sorted = byAddress(pieces);
  let reach: Piece | undefined;
  for (const p of sorted) {
    if (reach && p.start < end(reach)) {
      const [later, earlier] = p.statement.pos.line >= reach.statement.pos.line ? [p, reach] : [reach, p];
      const where = earlier.statement.pos.file === later.statement.pos.file ? 'line ' : `${earlier.statement.pos.file ?? diags.file}:`;
      diags.add(later.statement.pos, `output at ${range(later)} overlaps output of ${where}${earlier.statement.pos.line} (${range(earlier)})`);
    }
    if (!reach || end(p) > end(reach)) reach = p;
  }
}

function byAddress(pieces: readonly Piece[]): Piece[] {
  return [...pieces].sort((a, b) => a.start - b.start);
}

function end(p: Piece): number {
  return p.start + p.bytes.length;
}

function range(p: Piece): string {
  return `${hex(p.start)}..${hex(end(p) - 1)}`;
}

/** Pieces joined into maximal contiguous chunks (pieces do not overlap). */
function mergeChunks(pieces: readonly Piece[]): AsmChunk[] {
  const runs: Piece[][] = [];
  for (const p of byAddress(pieces)) {
    const run = runs[runs.length - 1];
    if (run && end(run[run.length - 1]) === p.start) run.push(p);
    else runs.push([p]);
  }
  return runs.map((run) => ({ address: run[0].start, bytes: concat(run.map((p) => p.bytes)) }));
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** One entry per instruction: where it came from (included files by their own name and lines). */
function sourceMap(pieces: readonly Piece[], sources: ReadonlyMap<string, readonly string[]>, file: string, firstLine: number): SourceLine[] {
  return byAddress(pieces.filter((p) => p.statement.instruction && p.bytes.length === INSTR_BYTES)).map((p) => {
    const { line, file: included } = p.statement.pos;
    const lines = sources.get(included ?? '')!;
    const text = lines[line - (included === undefined ? firstLine : 1)].trim();
    return { address: p.start, file: included ?? file, line, text };
  });
}
