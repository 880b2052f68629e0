// Source text → statements. A line is `[label:]... [statement] [; comment]`, where the
// statement is an instruction, a directive or `NAME = expr`. A line that cannot be parsed is
// reported and skipped — except that a broken instruction still takes its 8 bytes, so the
// addresses after it (and the errors about them) stay right.

import { INSTR_BYTES } from '../isa/arch.js';
import type { InstructionDef } from '../isa/instructions.js';
import { count, didYouMean, SourceError, type Diagnostics, type Pos } from './errors.js';
import { describe, TokenCursor } from './expr.js';
import { tokenizeLine, type Token } from './lexer.js';
import { checkOperandCount, constantStatement, DIRECTIVES, labelStatement, type ParseContext } from './directives.js';
import { encodeFields, mergeFields, OPERAND_CODECS, type OperandText } from './operands.js';
import { fixedStatement, wordBytes, type Statement } from './statement.js';

export interface SourceOptions {
  /** line number of the first line of the text (default 1) */
  readonly firstLine: number;
  /** columns each line is indented by in its enclosing file (default 0) */
  readonly indent: number;
  /** the included file this text is (undefined: the file being assembled) */
  readonly file?: string;
}

/** Reads an included file: its name for messages and its text, or throws Error (unreadable). */
export type IncludeReader = (path: string, from: string | undefined) => { readonly file: string; readonly text: string };

export interface IncludeContext {
  readonly read?: IncludeReader;
  /** every file's lines, by file name ('' = the file being assembled), for the source map */
  readonly sources: Map<string, readonly string[]>;
  /** the chain of files being assembled, the outermost first (to refuse cycles) */
  readonly stack: string[];
}

/** How `.include` is written and what it does (for the docs). */
export const INCLUDE_DIRECTIVE = { syntax: '.include "file"', summary: 'assemble the named file here, as if its lines stood in place of this one (path relative to the including file)' };
const MAX_INCLUDE_DEPTH = 16;

/** The statements of `source`, in order, included files spliced in; problems go to `diags` (parsing stops when it is full). */
export function parseProgram(source: string, ctx: ParseContext, diags: Diagnostics, opts: SourceOptions, inc: IncludeContext): Statement[] {
  const out: Statement[] = [];
  const lines = source.split('\n');
  inc.sources.set(opts.file ?? '', lines);
  for (let i = 0; i < lines.length && !diags.full; i++) {
    const line = opts.firstLine + i;
    const tokens = diags.guard(() => tokenizeLine(lines[i], line, 1 + opts.indent, opts.file));
    if (!tokens) continue;
    const r = new LineReader(lines[i], line, 1 + opts.indent, tokens, opts.file);
    if (tokens[0]?.kind === 'directive' && tokens[0].text.toLowerCase() === '.include') out.push(...(diags.guard(() => include(r, ctx, diags, opts, inc)) ?? []));
    else parseLine(r, ctx, diags, out);
  }
  return out;
}

/** `.include "file"`: the statements of that file. Throws SourceError (unreadable, cycle, too deep). */
function include(r: LineReader, ctx: ParseContext, diags: Diagnostics, opts: SourceOptions, inc: IncludeContext): Statement[] {
  const head = r.next()!;
  const name = r.next();
  if (name?.kind !== 'string' || !r.atEnd()) throw new SourceError(name?.pos ?? r.endPos, `.include expects one quoted file name, e.g. .include "lib.s"`);
  if (!inc.read) throw new SourceError(head.pos, '.include is not available here (the caller gave no way to read files)');
  const path = String.fromCharCode(...name.bytes!);
  let source: { file: string; text: string };
  try {
    source = inc.read(path, opts.file);
  } catch (e) {
    throw new SourceError(name.pos, `cannot include '${path}' (${(e as Error).message})`);
  }
  const chain = [...inc.stack, source.file].join(' -> ');
  if (inc.stack.includes(source.file)) throw new SourceError(name.pos, `'${path}' includes itself (${chain})`);
  if (inc.stack.length > MAX_INCLUDE_DEPTH) throw new SourceError(name.pos, `.include nests more than ${MAX_INCLUDE_DEPTH} files deep (${chain})`);
  inc.stack.push(source.file);
  try {
    return parseProgram(source.text, ctx, diags, { firstLine: 1, indent: 0, file: source.file }, inc);
  } finally {
    inc.stack.pop();
  }
}

/** One line's tokens plus what is needed to quote operand text. */
class LineReader extends TokenCursor {
  constructor(
    readonly text: string,
    readonly line: number,
    readonly firstColumn: number,
    tokens: Token[],
    file?: string,
  ) {
    const column = tokens.length > 0 ? tokens[tokens.length - 1].end : firstColumn;
    super(tokens, file === undefined ? { line, column } : { line, column, file });
  }

  /** The source text from token `a` through token `b`. */
  slice(a: Token, b: Token): string {
    return this.text.slice(a.pos.column - this.firstColumn, b.end - this.firstColumn);
  }
}

/** Appends the statements of one line to `out`. */
function parseLine(r: LineReader, ctx: ParseContext, diags: Diagnostics, out: Statement[]): void {
  while (r.peek()?.kind === 'ident' && r.peek(1)?.text === ':') {
    const name = r.next()!;
    r.next();
    const declared = diags.guard(() => (ctx.symbols.declareLabel(name.text, name.pos), true));
    if (declared) out.push(labelStatement(name, ctx.symbols));
  }
  const head = r.peek();
  if (!head) return;
  const isInstruction = head.kind === 'ident' && r.peek(1)?.text !== '=';
  const statement = diags.guard(() => parseStatement(r, ctx));
  if (statement) out.push(statement);
  else if (isInstruction) out.push(placeholder(head.pos));
}

/** The statement at the reader (labels already taken). Throws SourceError. */
function parseStatement(r: LineReader, ctx: ParseContext): Statement {
  const head = r.next()!;
  if (head.kind === 'ident' && r.eat('=')) return constantStatement(head, restAsOperand(r, head), ctx.symbols);
  if (head.kind === 'directive') return directiveStatement(head, splitOperands(r), ctx);
  if (head.kind === 'ident') return instructionStatement(head, splitOperands(r), ctx);
  throw new SourceError(head.pos, `label, instruction or directive expected, found ${describe(head)}`);
}

function directiveStatement(head: Token, args: OperandText[], ctx: ParseContext): Statement {
  const name = head.text.toLowerCase();
  const def = DIRECTIVES.get(name);
  if (!def) throw new SourceError(head.pos, `unknown directive '${head.text}'${didYouMean(head.text, DIRECTIVES.keys())}`);
  checkOperandCount(name, def, args, head.pos);
  return def.parse(args, head.pos, ctx);
}

/** An instruction (or an alias of one): 8 bytes, 8-aligned, encoded from its row's operand kinds. */
function instructionStatement(head: Token, args: OperandText[], ctx: ParseContext): Statement {
  const { def, operands } = resolveMnemonic(head, args, ctx);
  const parts = def.operands.map((kind, i) => OPERAND_CODECS[kind].parse(operands[i]));
  return fixedStatement(
    head.pos,
    INSTR_BYTES,
    INSTR_BYTES,
    (start, ev) => wordBytes(encodeFields(def.op, mergeFields(parts.map((p) => p((e) => ev.value(e, start)))))),
    true,
  );
}

/**
 * The row `head` names and its full operand list (an alias's own operands first). Throws
 * SourceError for an unknown mnemonic or a wrong operand count.
 */
function resolveMnemonic(head: Token, args: OperandText[], ctx: ParseContext): { def: InstructionDef; operands: OperandText[] } {
  const name = head.text.toLowerCase();
  const { byMnemonic, aliases, profile } = ctx.view;
  const alias = aliases.get(name);
  const def = alias?.def ?? byMnemonic.get(name);
  if (!def) {
    const next = args[0]?.tokens[0]?.text.toLowerCase();
    const missingColon = next !== undefined && (byMnemonic.has(next) || aliases.has(next));
    const hint = missingColon ? ` (a label needs a colon: '${head.text}:')` : didYouMean(name, [...byMnemonic.keys(), ...aliases.keys()]) || ` in profile ${profile.name}`;
    throw new SourceError(head.pos, `unknown mnemonic '${head.text}'${hint}`);
  }
  const fixed = (alias?.operands ?? []).map((text) => aliasOperand(text, head));
  const kinds = def.operands.slice(fixed.length);
  if (args.length !== kinds.length) {
    const expected = kinds.length === 0 ? 'no operands' : `${count(kinds.length, 'operand')} (${kinds.join(', ')})`;
    throw new SourceError(head.pos, `'${name}' expects ${expected}, found ${args.length}`);
  }
  return { def, operands: [...fixed, ...args] };
}

/** An operand an alias supplies, located at the alias's mnemonic. */
function aliasOperand(text: string, head: Token): OperandText {
  const tokens = tokenizeLine(text, head.pos.line, 1, head.pos.file).map((t) => ({ ...t, pos: head.pos, end: head.end }));
  return { tokens, pos: head.pos, endPos: head.pos, endText: 'end of line', text };
}

/** The rest of the line, split at top-level commas. An empty operand is an error. */
function splitOperands(r: LineReader): OperandText[] {
  const out: OperandText[] = [];
  if (r.atEnd()) return out;
  let group: Token[] = [];
  let depth = 0;
  for (;;) {
    const t = r.next();
    const ends = t === undefined || (t.text === ',' && t.kind === 'punct' && depth === 0);
    if (!ends) {
      if (t.kind === 'punct') depth += t.text === '(' ? 1 : t.text === ')' ? -1 : 0;
      group.push(t);
      continue;
    }
    if (group.length === 0) throw new SourceError(t?.pos ?? r.endPos, `operand expected, found ${t ? describe(t) : 'end of line'}`);
    out.push(operandText(r, group, t));
    if (t === undefined) return out;
    group = [];
  }
}

/** `tokens` as one operand; `follow` is the token after it (a comma) or undefined at the end of the line. */
function operandText(r: LineReader, tokens: Token[], follow: Token | undefined): OperandText {
  const first = tokens[0];
  const last = tokens[tokens.length - 1];
  return {
    tokens,
    pos: first.pos,
    endPos: follow?.pos ?? r.endPos,
    endText: follow ? describe(follow) : 'end of line',
    text: r.slice(first, last),
  };
}

/** Everything after `NAME =` as one operand (it may not contain commas). */
function restAsOperand(r: LineReader, head: Token): OperandText {
  const tokens = r.rest();
  if (tokens.length === 0) throw new SourceError(r.endPos, `value expected after '${head.text} =', found end of line`);
  return operandText(r, tokens, undefined);
}

/** Stands in for an instruction that failed to parse: keeps its 8 bytes so later addresses stay right. */
function placeholder(pos: Pos): Statement {
  return fixedStatement(pos, INSTR_BYTES, 1, () => new Uint8Array(INSTR_BYTES));
}
