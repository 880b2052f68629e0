// Splits one source line into tokens. Comments (`;` or `#` to the end of the line, outside
// quotes) are dropped. Character literals become number tokens; strings carry their bytes.

import { SourceError, type Pos } from './errors.js';

export type TokenKind = 'ident' | 'number' | 'string' | 'directive' | 'punct';

export interface Token {
  readonly kind: TokenKind;
  /** the token as written */
  readonly text: string;
  /** number tokens: the value (0 .. 2^32-1); otherwise 0 */
  readonly value: number;
  /** string tokens: the decoded bytes */
  readonly bytes?: readonly number[];
  readonly pos: Pos;
  /** column just past the token */
  readonly end: number;
}

/** Longest first, so `<<` wins over `<`. */
const PUNCTUATION = ['<<', '>>', ',', '(', ')', '+', '-', '*', '/', '%', '&', '|', '^', '~', '=', ':', '.'];

const SIMPLE_ESCAPES: Readonly<Record<string, number>> = { n: 10, t: 9, r: 13, '0': 0, '\\': 92, '"': 34, "'": 39 };

const IDENT = /[A-Za-z_][A-Za-z0-9_]*/y;
const WORD = /[0-9][A-Za-z0-9_]*/y;

/**
 * Tokens of `text`, line `line` of `file` (undefined: the file being assembled); the first
 * character is at column `firstColumn`. Throws SourceError at the first malformed token.
 */
export function tokenizeLine(text: string, line: number, firstColumn = 1, file?: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    if (ch === ' ' || ch === '\t' || ch === '\r') i++;
    else if (ch === ';' || ch === '#') break;
    else {
      const token = readToken(text, i, file === undefined ? { line, column: firstColumn + i } : { line, column: firstColumn + i, file });
      tokens.push(token);
      i += token.end - token.pos.column;
    }
  }
  return tokens;
}

/** The token starting at `text[i]` (not blank, not a comment), located at `pos`. */
function readToken(text: string, i: number, pos: Pos): Token {
  const ch = text[i];
  if (ch === '"') return readString(text, i, pos);
  if (ch === "'") return readChar(text, i, pos);
  const word = match(WORD, text, i);
  if (word) return numberToken(word, pos);
  if (ch === '.') {
    const name = match(IDENT, text, i + 1);
    if (name) return token('directive', '.' + name, pos);
  }
  const ident = match(IDENT, text, i);
  if (ident) return token('ident', ident, pos);
  const punct = PUNCTUATION.find((p) => text.startsWith(p, i));
  if (punct) return token('punct', punct, pos);
  throw new SourceError(pos, `unexpected character '${ch}'`);
}

function match(re: RegExp, text: string, i: number): string | undefined {
  re.lastIndex = i;
  return re.exec(text)?.[0];
}

function token(kind: TokenKind, text: string, pos: Pos, value = 0, bytes?: number[]): Token {
  return { kind, text, value, bytes, pos, end: pos.column + text.length };
}

/** Decimal, `0x` hex or `0b` binary; at most 32 bits. */
function numberToken(word: string, pos: Pos): Token {
  if (!/^(0x[0-9a-f]+|0b[01]+|[0-9]+)$/i.test(word)) throw new SourceError(pos, `invalid number '${word}'`);
  const big = BigInt(word.toLowerCase());
  if (big > 0xffffffffn) throw new SourceError(pos, `number ${word} does not fit 32 bits`);
  return token('number', word, pos, Number(big));
}

/** A double-quoted string with escapes; its bytes. */
function readString(text: string, start: number, pos: Pos): Token {
  const bytes: number[] = [];
  let i = start + 1;
  while (i < text.length && text[i] !== '"') {
    const c = readCharacter(text, i, pos, pos.column - start);
    bytes.push(c.byte);
    i = c.next;
  }
  if (i >= text.length) throw new SourceError(pos, 'unterminated string (missing closing ")');
  return token('string', text.slice(start, i + 1), pos, 0, bytes);
}

/** A character literal `'a'` or `'\n'`: a number token. */
function readChar(text: string, start: number, pos: Pos): Token {
  if (start + 1 >= text.length || text[start + 1] === "'") throw new SourceError(pos, "character expected after '");
  const c = readCharacter(text, start + 1, pos, pos.column - start);
  if (text[c.next] !== "'") throw new SourceError(pos, "unterminated character literal (missing closing ')");
  return token('number', text.slice(start, c.next + 1), pos, c.byte);
}

/** One (possibly escaped) character at `text[i]` of the line at `pos`; `base` is the column of `text[0]`. */
function readCharacter(text: string, i: number, pos: Pos, base: number): { byte: number; next: number } {
  const ch = text[i];
  const at = { ...pos, column: base + i };
  if (ch !== '\\') {
    const code = ch.codePointAt(0)!;
    if (code > 0x7e || (code < 0x20 && code !== 9)) throw new SourceError(at, `character '${ch}' is not printable ASCII (use \\xNN)`);
    return { byte: code, next: i + 1 };
  }
  const e = text[i + 1];
  if (e === 'x' || e === 'X') {
    const hex = text.slice(i + 2, i + 4);
    if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw new SourceError(at, `\\x needs two hex digits, found '${hex}'`);
    return { byte: parseInt(hex, 16), next: i + 4 };
  }
  if (e !== undefined && e in SIMPLE_ESCAPES) return { byte: SIMPLE_ESCAPES[e], next: i + 2 };
  throw new SourceError(at, `unknown escape '\\${e ?? ''}' (expected \\n \\t \\r \\0 \\\\ \\" \\' or \\xNN)`);
}
