// Rendering helpers shared by the commands: plain tables (no colour codes) and numbers.


export const hex = (v: number, width = 0): string => `0x${(v >>> 0).toString(16).padStart(width, '0')}`;

/**
 * A colourless box-drawn table with a header row and no rules between rows — the layout
 * cli-table3 draws in its compact style (test/cli/format.test.ts holds it to that), in time
 * linear in the cells: a diff of a thousand rows renders in about a millisecond, where
 * cli-table3 took 170. A cell is one line; its width is its length in UTF-16 code units (the
 * lab prints ASCII and a few one-column symbols). Rows shorter than the header get empty cells.
 */
export function table(head: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const cells: string[][] = [head.map(String)];
  for (const r of rows) cells.push(r.map(String));
  const widths: number[] = [];
  for (const r of cells) for (let c = 0; c < r.length; c++) widths[c] = Math.max(widths[c] ?? 0, r[c].length);
  const rule = (left: string, mid: string, right: string) => left + widths.map((w) => '─'.repeat(w + 2)).join(mid) + right;
  let out = rule('┌', '┬', '┐');
  for (const r of cells) {
    out += '\n│';
    for (let c = 0; c < widths.length; c++) out += ` ${(r[c] ?? '').padEnd(widths[c])} │`;
  }
  return `${out}\n${rule('└', '┴', '┘')}`;
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
