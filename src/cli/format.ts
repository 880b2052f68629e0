// Rendering helpers shared by the commands: plain tables (no colour codes) and numbers.


export const hex = (v: number, width = 0): string => `0x${(v >>> 0).toString(16).padStart(width, '0')}`;

/**
 * A colourless box-drawn table with a header row and no rules between rows — the layout
 * cli-table3 draws in its compact style (test/cli/format.test.ts holds it to that), in time
 * linear in the cells: a diff of a thousand rows renders in about 0.4 ms (as lines joined in
 * chunks, see textChunks), where cli-table3 took 170. A cell is one line; its width is its length
 * in UTF-16 code units (the lab prints ASCII and a few one-column symbols). Rows shorter than the
 * header get empty cells.
 */
export function table(head: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  return tableLines(head, rows).join('\n');
}

/** The lines of `table(head, rows)`, without line ends. */
export function tableLines(head: readonly string[], rows: readonly (readonly (string | number)[])[]): string[] {
  const widths = columnWidths(head, rows);
  const rule = (left: string, mid: string, right: string) => left + widths.map((w) => '─'.repeat(w + 2)).join(mid) + right;
  const lines = [rule('┌', '┬', '┐'), tableLine(head, widths)];
  for (const r of rows) lines.push(tableLine(r, widths));
  lines.push(rule('└', '┴', '┘'));
  return lines;
}

/** Each column's width: its longest cell, header included (a row longer than the header adds columns). */
function columnWidths(head: readonly string[], rows: readonly (readonly (string | number)[])[]): number[] {
  const widths = head.map((h) => h.length);
  for (const r of rows) for (let c = 0; c < r.length; c++) widths[c] = Math.max(widths[c] ?? 0, String(r[c]).length);
  return widths;
}

/** Row `r` drawn: each cell padded to its column's width, and empty cells where the row is short. */
function tableLine(r: readonly (string | number)[], widths: readonly number[]): string {
  let line = '│';
  for (let c = 0; c < widths.length; c++) {
    const text = c < r.length ? String(r[c]) : '';
    line = line + (c === 0 ? ' ' : ' │ ') + text + spaces(widths[c] - text.length);
  }
  return widths.length === 0 ? line : `${line} │`;
}

const SPACES: string[] = [];

/** `n` spaces (each length made once: a table pads every cell). */
function spaces(n: number): string {
  return (SPACES[n] ??= ' '.repeat(n));
}

/** Characters per chunk of textChunks: a chunk of box-drawn lines (two bytes a character) stays far below V8's 128 KiB large-object size. */
const CHUNK_CHARS = 1 << 14;

/**
 * `lines`, each ended by a newline, joined into chunks of whole lines of about CHUNK_CHARS
 * characters: the chunks written one after another are the text. A long report made one string
 * costs more than building it: V8 allocates a string over 128 KiB (a 1024-row diff table is 200
 * KiB) in fresh memory of its own, 0.8 ms on this project's machine; chunks live in the ordinary
 * heap.
 */
export function textChunks(lines: readonly string[]): string[] {
  const chunks: string[] = [];
  let first = 0;
  let chars = 0;
  lines.forEach((line, i) => {
    chars += line.length + 1;
    if (chars < CHUNK_CHARS && i < lines.length - 1) return;
    chunks.push(`${lines.slice(first, i + 1).join('\n')}\n`);
    first = i + 1;
    chars = 0;
  });
  return chunks;
}

/** Heading line for a section. */
export function heading(text: string): string {
  return `\n${text}`;
}

/** "1 event", "3 events" (or the plural given). */
export function count(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/**
 * The JSON every command prints: 2-space indented, bigints as exact integer literals, and the
 * characters a terminal could act on that JSON.stringify leaves raw (DEL, the C1 controls,
 * direction overrides) escaped. Bigints go through a marker chosen so that it occurs nowhere
 * else in the text (a string in the data cannot turn into a number).
 */
export function jsonText(data: unknown): string {
  const plain = (marker: string) => JSON.stringify(data, (_k, v: unknown) => (typeof v === 'bigint' ? `${marker}${v}` : v), 2);
  let text = plain('');
  if (text === undefined) return 'null';
  let marker = '#int:';
  while (text.includes(marker)) marker = `#${marker}`;
  text = plain(marker);
  return text
    .split(`"${marker}`)
    .map((part, i) => (i === 0 ? part : part.replace(/^(\d+)"/, '$1')))
    .join('')
    .replace(/[\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
