// Shadow-table changes as a diff: the log's changes (space.ts), decoded and coalesced into ranges
// — consecutive guest pages of one space, changed in one exit for one reason, whose entries went
// alike (both absent, or the same flags on consecutive host frames) become one row.

import { hasFlag, readPfn, type Geometry, type RawEntry } from '../paging/index.js';
import { entryGrants, type ShadowChange } from './space.js';

/** A shadow entry, decoded: the host frame it maps and its permissions (A and D as set). */
export interface DecodedEntry {
  readonly hpa: number;
  /** letters r w x u a d, '-' where clear (x: not NX / X set; r: always for x86 formats; r w x u for a format without those bits, like tiny, whose present entries allow everything; a d only where the format has them) */
  readonly flags: string;
}

/** Consecutive pages changed alike: the first change's exit, cause, reason, space and guest page, and how many pages the row covers. */
export interface DiffRow extends Pick<ShadowChange, 'event' | 'cause' | 'reason' | 'guestRoot' | 'view' | 'gva'> {
  readonly pages: number;
  /** the first page's entry before and after (undefined: not present) */
  readonly before?: DecodedEntry;
  readonly after?: DecodedEntry;
}

/** `e` decoded in `g`'s format, or undefined when it is not present. */
export function decodeShadowEntry(g: Geometry, e: Readonly<RawEntry>): DecodedEntry | undefined {
  const f = g.entry;
  if (!hasFlag(f, e.lo, e.hi, 'present')) return undefined;
  const a = entryGrants(g, e);
  const bit = (on: boolean, letter: string) => (on ? letter : '-');
  const flags = bit(a.read, 'r') + bit(a.write, 'w') + bit(a.exec, 'x') + bit(a.user, 'u') + bit(hasFlag(f, e.lo, e.hi, 'accessed'), 'a') + bit(hasFlag(f, e.lo, e.hi, 'dirty'), 'd');
  return { hpa: readPfn(f, e.lo, e.hi) * 2 ** g.offsetBits, flags };
}

/** The changes as rows, in log order, consecutive alike changes coalesced. */
export function diffRows(g: Geometry, changes: readonly ShadowChange[]): DiffRow[] {
  const page = 2 ** g.offsetBits;
  const rows: (Omit<DiffRow, 'pages'> & { pages: number })[] = [];
  for (const c of changes) {
    const before = decodeShadowEntry(g, c.before);
    const after = decodeShadowEntry(g, c.after);
    const last = rows[rows.length - 1];
    if (last && continues(last, c, before, after, page)) {
      last.pages++;
      continue;
    }
    rows.push({ event: c.event, cause: c.cause, reason: c.reason, guestRoot: c.guestRoot, view: c.view, gva: c.gva, pages: 1, ...(before ? { before } : {}), ...(after ? { after } : {}) });
  }
  return rows;
}

/** Whether change `c` extends row `r` by its next page. */
function continues(r: DiffRow, c: ShadowChange, before: DecodedEntry | undefined, after: DecodedEntry | undefined, page: number): boolean {
  if (r.event !== c.event || r.reason !== c.reason || r.guestRoot !== c.guestRoot || r.view !== c.view) return false;
  if (c.gva !== r.gva + r.pages * page) return false;
  const step = r.pages * page;
  const alike = (a: DecodedEntry | undefined, b: DecodedEntry | undefined) => (a === undefined ? b === undefined : b !== undefined && a.flags === b.flags && b.hpa === a.hpa + step);
  return alike(r.before, before) && alike(r.after, after);
}
