// The shadow tables as they stood after a chosen exit, rebuilt from `diff --json`'s rows: every
// row up to that exit applied in log order (a row covers `pages` consecutive guest pages on
// consecutive host frames). The entries the exit dropped are kept apart, to be drawn as ghosts.

import type { DiffRow } from '../../shadow/diff.js';
import type { TableEntryJson, TableJson } from '../tables.js';

export interface Levels {
  readonly indexBits: readonly number[];
  readonly offsetBits: number;
}

export interface ShadowLeaf {
  readonly gva: number;
  readonly hpa: number;
  readonly flags: string;
  /** set by the chosen exit, or dropped by it (a ghost: no longer in the table) */
  readonly mark?: 'changed' | 'dropped';
}

/** Space key of a row or a shadow tree: guest root and view. */
export const spaceKey = (guestRoot: number, view: string): string => `${guestRoot}/${view}`;

/** The leaves of every space after exit `upTo` (rows of later exits ignored), with the exit's own changes marked. */
export function shadowAt(rows: readonly DiffRow[], upTo: number, pageBytes: number): Map<string, Map<number, ShadowLeaf>> {
  const spaces = new Map<string, Map<number, ShadowLeaf>>();
  for (const r of rows) {
    if (r.event > upTo) break;
    const key = spaceKey(r.guestRoot, r.view);
    let leaves = spaces.get(key);
    if (!leaves) spaces.set(key, (leaves = new Map()));
    for (let p = 0; p < r.pages; p++) {
      const gva = r.gva + p * pageBytes;
      const mark = r.event === upTo ? (r.after ? 'changed' : 'dropped') : undefined;
      const e = r.after ?? (mark ? r.before : undefined);
      if (e) leaves.set(gva, { gva, hpa: e.hpa + p * pageBytes, flags: e.flags, ...(mark ? { mark } : {}) });
      else leaves.delete(gva);
    }
  }
  return spaces;
}

/** The leaves as a tree of tables in `levels` (directory entries without host addresses: the rows do not say them). */
export function leavesTable(leaves: Iterable<ShadowLeaf>, levels: Levels): TableJson {
  const root: TableJson & { entries: TableEntryJson[] } = { depth: 0, base: -1, slots: 2 ** levels.indexBits[0], entries: [] };
  const sorted = [...leaves].sort((a, b) => a.gva - b.gva);
  for (const leaf of sorted) {
    let table = root;
    for (let depth = 0; depth < levels.indexBits.length; depth++) {
      const shift = levels.offsetBits + levels.indexBits.slice(depth + 1).reduce((a, b) => a + b, 0);
      const index = Math.floor(leaf.gva / 2 ** shift) % 2 ** levels.indexBits[depth];
      const va = leaf.gva - (leaf.gva % 2 ** shift);
      if (depth === levels.indexBits.length - 1) {
        table.entries.push({ index, va, entryAddress: -1, entryHex: '', flags: {}, role: 'leaf', next: leaf.hpa, decoded: leaf.flags, ...(leaf.mark ? { mark: leaf.mark } : {}) });
        break;
      }
      let e = table.entries[table.entries.length - 1];
      if (!e || e.index !== index) {
        e = { index, va, entryAddress: -1, entryHex: '', flags: {}, role: 'table', next: -1, table: { depth: depth + 1, base: -1, slots: 2 ** levels.indexBits[depth + 1], entries: [] } };
        table.entries.push(e);
      }
      table = e.table as TableJson & { entries: TableEntryJson[] };
    }
  }
  return root;
}
