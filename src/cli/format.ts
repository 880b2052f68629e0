// Rendering helpers shared by the commands: plain tables (no colour codes) and numbers.

import Table from 'cli-table3';

export const hex = (v: number, width = 0): string => `0x${(v >>> 0).toString(16).padStart(width, '0')}`;

/** A borderless, colourless table with a header row. */
export function table(head: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const t = new Table({
    head: [...head],
    style: { head: [], border: [], compact: true },
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
  });
  for (const r of rows) t.push(r.map(String));
  return t.toString();
}

/** Heading line for a section. */
export function heading(text: string): string {
  return `\n${text}`;
}
