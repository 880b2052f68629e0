// Shadow-table changes as a diff: the log's changes (space.ts), decoded and coalesced into ranges
// — consecutive guest pages of one space, changed in one exit for one reason, whose entries went
// alike (both absent, or the same flags on consecutive host frames) become one row.

import { entryBits, hasBits, pfnOf, pow2, type EntryBits, type Geometry, type RawEntry } from '../paging/index.js';
import { grantMask, type ShadowChange, type ShadowReason, type ShadowView } from './space.js';

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

/** The flags text of every grant mask with A (16) and D (32) added: bit i set gives the i-th letter of 'rwxuad', clear gives '-'. */
const FLAG_TEXTS: readonly string[] = Array.from({ length: 64 }, (_, m) => Array.from('rwxuad', (letter, i) => (m & (1 << i) ? letter : '-')).join(''));
const ACCESSED = 16;
const DIRTY = 32;

/** `e` decoded in `g`'s format, or undefined when it is not present. */
export function decodeShadowEntry(g: Geometry, e: Readonly<RawEntry>): DecodedEntry | undefined {
  return decode(entryBits(g.entry), pow2(g.offsetBits), e);
}

/** decodeShadowEntry by the masks `b` of the format, for pages of `page` bytes. */
function decode(b: EntryBits, page: number, e: Readonly<RawEntry>): DecodedEntry | undefined {
  const { lo, hi } = e;
  if (!hasBits(lo, hi, b.presentLo, b.presentHi)) return undefined;
  const ad = (hasBits(lo, hi, b.accessedLo, b.accessedHi) ? ACCESSED : 0) | (hasBits(lo, hi, b.dirtyLo, b.dirtyHi) ? DIRTY : 0);
  return new Decoded(pfnOf(b, lo, hi) * page, FLAG_TEXTS[grantMask(b, lo, hi) | ad]);
}

// Decoded entries and rows are instances of classes, not object literals (as the log's changes,
// space.ts): after the rest of `shadowlab bench` had run, 1024 rows made as literals took about
// 0.5 ms to build instead of 0.05, and longer to render.

class Decoded implements DecodedEntry {
  constructor(
    readonly hpa: number,
    readonly flags: string,
  ) {}
}

/** A row being built: the row of change `c` alone (`before` and `after` its entries decoded; absent when not present), whose `pages` grows while changes continue it. */
class OpenRow implements DiffRow {
  readonly event: number;
  readonly cause: string;
  readonly reason: ShadowReason;
  readonly guestRoot: number;
  readonly view: ShadowView;
  readonly gva: number;
  pages = 1;
  // not fields: a row has them only when the entry was present (as `--json` shows)
  declare readonly before?: DecodedEntry;
  declare readonly after?: DecodedEntry;

  constructor(c: ShadowChange, before: DecodedEntry | undefined, after: DecodedEntry | undefined) {
    this.event = c.event;
    this.cause = c.cause;
    this.reason = c.reason;
    this.guestRoot = c.guestRoot;
    this.view = c.view;
    this.gva = c.gva;
    if (before) this.before = before;
    if (after) this.after = after;
  }
}

/** The changes as rows, in log order, consecutive alike changes coalesced. */
export function diffRows(g: Geometry, changes: readonly ShadowChange[]): DiffRow[] {
  const b = entryBits(g.entry);
  const page = pow2(g.offsetBits);
  const rows: OpenRow[] = [];
  let last: OpenRow | undefined;
  for (const c of changes) {
    const before = decode(b, page, c.before);
    const after = decode(b, page, c.after);
    if (last && continues(last, c, before, after, page)) last.pages++;
    else rows.push((last = new OpenRow(c, before, after)));
  }
  return rows;
}

/** Whether change `c` extends row `r` by its next page. */
function continues(r: OpenRow, c: ShadowChange, before: DecodedEntry | undefined, after: DecodedEntry | undefined, page: number): boolean {
  if (r.event !== c.event || r.reason !== c.reason || r.guestRoot !== c.guestRoot || r.view !== c.view) return false;
  const step = r.pages * page;
  return c.gva === r.gva + step && alike(r.before, before, step) && alike(r.after, after, step);
}

/** Whether entry `b` is entry `a` `step` bytes of host memory on: both absent, or the same flags on a frame that far. */
function alike(a: DecodedEntry | undefined, b: DecodedEntry | undefined, step: number): boolean {
  return a === undefined ? b === undefined : b !== undefined && a.flags === b.flags && b.hpa === a.hpa + step;
}
