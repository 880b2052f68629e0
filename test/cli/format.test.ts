// The report tables: format.ts draws them itself (in linear time; `bench shadow-diff` measures a
// 1024-row diff) in the layout cli-table3's compact style draws; this holds the two to the same
// text on random tables.

import Table from 'cli-table3';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { table, tableLines, textChunks } from '../../src/cli/format.js';

/** The same table drawn by cli-table3, as format.ts drew it before it drew tables itself. */
function cliTable3(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const t = new Table({ head: [...head], style: { head: [], border: [], compact: true }, chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' } });
  for (const r of rows) t.push([...r]);
  return t.toString();
}

// one-line cells of printable ASCII and the one-column symbols reports use
const cell = fc.string({ unit: fc.constantFrom(...' abcxyz0189-_.:,()[]/+%|'.split(''), '→', '−', '×'), maxLength: 12 });

describe('table', () => {
  it('draws what cli-table3 draws (compact, colourless), on random tables', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }).chain((n) => fc.tuple(fc.array(cell, { minLength: n, maxLength: n }), fc.array(fc.array(cell, { minLength: n, maxLength: n }), { maxLength: 8 }))),
        ([head, rows]) => {
          expect(table(head, rows)).toBe(cliTable3(head, rows));
        },
      ),
      { numRuns: 300, seed: 11 },
    );
  });

  it('numbers are printed as strings; short rows get empty cells', () => {
    expect(table(['a', 'bb'], [[1, 22], ['x']])).toBe(['┌───┬────┐', '│ a │ bb │', '│ 1 │ 22 │', '│ x │    │', '└───┴────┘'].join('\n'));
  });
});

describe('textChunks', () => {
  it('cuts the lines, each ended by a newline, into chunks of whole lines that join to the text, none far over 16 Ki characters', () => {
    const line = fc.string({ unit: fc.constantFrom('a', '│', ' '), maxLength: 3000 });
    fc.assert(
      fc.property(fc.array(line, { maxLength: 60 }), (lines) => {
        const chunks = textChunks(lines);
        expect(chunks.join('')).toBe(lines.map((l) => `${l}\n`).join(''));
        for (const c of chunks) {
          expect(c.endsWith('\n')).toBe(true);
          expect(c.length).toBeLessThan((1 << 14) + 3001);
        }
      }),
      { numRuns: 200, seed: 5 },
    );
  });

  it('a thousand-row table comes in several chunks', () => {
    const lines = tableLines(['a', 'b'], Array.from({ length: 1000 }, (_, i) => [i, 'x'.repeat(40)]));
    expect(lines.join('\n')).toBe(table(['a', 'b'], Array.from({ length: 1000 }, (_, i) => [i, 'x'.repeat(40)])));
    expect(textChunks(lines).length).toBeGreaterThan(2);
  });
});

describe('list --json', () => {
  it('counts each profile\'s instructions and those that trap in some mode: pdp10 is classic plus JRST, which traps in no mode', async () => {
    const { cli } = await import('./helpers.js');
    const r = await cli('list', '--json');
    const byName = new Map((JSON.parse(r.stdout).profiles as { name: string; modes: string[]; instructions: number; trapping: number }[]).map((p) => [p.name, p]));
    const classic = byName.get('classic')!;
    const pdp10 = byName.get('pdp10')!;
    expect(classic.modes).toEqual(['s', 'u']);
    expect(pdp10.instructions).toBe(classic.instructions + 1);
    expect(pdp10.trapping).toBe(classic.trapping);
    expect(classic.trapping).toBeGreaterThan(0);
  });
});
