// The diff's decoding and coalescing (shadow/diff.ts) read entries by the masks of their format
// and compare flags as one of 64 shared texts; this holds them to the straightforward versions —
// every flag tested by name (hasFlag), the frame by readPfn, flags spelled letter by letter, every
// change decoded and compared with the row's first one — on random entries of every format and
// on random change lists in which runs of pages go alike or break in every way.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GEOMETRIES, hasFlag, readPfn, type Geometry, type RawEntry } from '../../src/paging/index.js';
import { decodeShadowEntry, diffRows, entryGrants, type DecodedEntry, type DiffRow, type ShadowChange, type ShadowReason } from '../../src/shadow/index.js';

/** decodeShadowEntry spelled out flag by flag. */
function decodeByName(g: Geometry, e: RawEntry): DecodedEntry | undefined {
  const f = g.entry;
  if (!hasFlag(f, e.lo, e.hi, 'present')) return undefined;
  const allowed = (flag: 'readable' | 'writable' | 'executable' | 'user') => f.flags[flag] === undefined || hasFlag(f, e.lo, e.hi, flag);
  const exec = f.flags.noExecute !== undefined ? !hasFlag(f, e.lo, e.hi, 'noExecute') : allowed('executable');
  const letters: [boolean, string][] = [
    [allowed('readable'), 'r'],
    [allowed('writable'), 'w'],
    [exec, 'x'],
    [allowed('user'), 'u'],
    [hasFlag(f, e.lo, e.hi, 'accessed'), 'a'],
    [hasFlag(f, e.lo, e.hi, 'dirty'), 'd'],
  ];
  return { hpa: readPfn(f, e.lo, e.hi) * 2 ** g.offsetBits, flags: letters.map(([on, l]) => (on ? l : '-')).join('') };
}

/** diffRows as it was first written: each change decoded, then compared with the row's first page. */
function rowsOneByOne(g: Geometry, changes: readonly ShadowChange[]): DiffRow[] {
  const page = 2 ** g.offsetBits;
  const rows: (DiffRow & { pages: number })[] = [];
  for (const c of changes) {
    const before = decodeByName(g, c.before);
    const after = decodeByName(g, c.after);
    const r = rows[rows.length - 1];
    const step = r ? r.pages * page : 0;
    const alike = (a?: DecodedEntry, b?: DecodedEntry) => (a === undefined ? b === undefined : b !== undefined && a.flags === b.flags && b.hpa === a.hpa + step);
    if (r && r.event === c.event && r.reason === c.reason && r.guestRoot === c.guestRoot && r.view === c.view && c.gva === r.gva + step && alike(r.before, before) && alike(r.after, after)) {
      r.pages++;
      continue;
    }
    rows.push({ event: c.event, cause: c.cause, reason: c.reason, guestRoot: c.guestRoot, view: c.view, gva: c.gva, pages: 1, ...(before ? { before } : {}), ...(after ? { after } : {}) });
  }
  return rows;
}

/** Toggles bit `pos` of `e` in place. */
function flip(e: { lo: number; hi: number }, pos: number): void {
  if (pos < 32) e.lo = (e.lo ^ (1 << pos)) >>> 0;
  else e.hi = (e.hi ^ (1 << (pos - 32))) >>> 0;
}

const formats = Object.values(GEOMETRIES);
const u32 = fc.integer({ min: 0, max: 0xffffffff });
/** An entry of `g`'s size, with the present bit set or clear about half the time. */
const entryOf = (g: Geometry) => fc.record({ lo: g.entry.bytes === 1 ? fc.integer({ min: 0, max: 0xff }) : u32, hi: g.entry.bytes === 8 ? u32 : fc.constant(0) });

describe('decodeShadowEntry and entryGrants', () => {
  it('read every format as its flags by name and its frame by readPfn say', () => {
    for (const g of formats) {
      fc.assert(
        fc.property(entryOf(g), (e) => {
          const want = decodeByName(g, e);
          expect(decodeShadowEntry(g, e)).toEqual(want);
          if (want) expect(entryGrants(g, e)).toEqual({ read: want.flags[0] === 'r', write: want.flags[1] === 'w', exec: want.flags[2] === 'x', user: want.flags[3] === 'u' });
        }),
        { numRuns: 500, seed: 7 },
      );
    }
  });
});

describe('diffRows', () => {
  const reasons: ShadowReason[] = ['hidden fault', 'trace write'];
  /** Changes that mostly continue the previous one (next page, next frames, same bits), else break it one way or another (a flag bit toggled may or may not change the decoded flags). */
  const changesOf = (g: Geometry) => {
    const page = 2 ** g.offsetBits;
    const step = fc.record({
      kind: fc.constantFrom('next', 'next', 'next', 'event', 'reason', 'view', 'root', 'gap', 'entry', 'flag'),
      before: entryOf(g),
      after: entryOf(g),
      flag: fc.constantFrom(...Object.values(g.entry.flags)),
      side: fc.boolean(),
    });
    return fc.array(step, { maxLength: 40 }).map((steps) => {
      const out: ShadowChange[] = [];
      let prev: ShadowChange = { seq: 0, event: 1, cause: 'page-fault', reason: 'hidden fault', guestRoot: 0x1000, view: 'user', gva: 0, hostAddress: 0, before: { lo: 0, hi: 0 }, after: { lo: 0, hi: 0 } };
      for (const s of steps) {
        const nextFrame = (e: RawEntry): RawEntry => ({ lo: (e.lo + 2 ** g.entry.pfnShift) % 2 ** (8 * Math.min(4, g.entry.bytes)), hi: e.hi }); // the frame field's lowest bit up one (a carry out of the field breaks the run)
        const c: ShadowChange = {
          ...prev,
          seq: prev.seq + 1,
          gva: prev.gva + (s.kind === 'gap' ? 2 * page : page),
          event: prev.event + (s.kind === 'event' ? 1 : 0),
          reason: s.kind === 'reason' ? reasons[(reasons.indexOf(prev.reason) + 1) % 2] : prev.reason,
          view: s.kind === 'view' ? (prev.view === 'user' ? 'kernel' : 'user') : prev.view,
          guestRoot: prev.guestRoot + (s.kind === 'root' ? page : 0),
          before: s.kind === 'entry' ? s.before : nextFrame(prev.before),
          after: s.kind === 'entry' ? s.after : nextFrame(prev.after),
        };
        if (s.kind === 'flag') flip(s.side ? c.before : c.after, s.flag);
        out.push(c);
        prev = c;
      }
      return out;
    });
  };

  it('coalesces exactly as decoding each change and comparing it with its row would, in every format', () => {
    for (const g of formats) {
      fc.assert(
        fc.property(changesOf(g), (changes) => {
          expect(JSON.stringify(diffRows(g, changes))).toBe(JSON.stringify(rowsOneByOne(g, changes))); // the same fields in the same order, an entry not present absent (as --json prints them)
        }),
        { numRuns: 300, seed: 11 },
      );
    }
  });
});
