// The tables in docs/assembly.md that restate code are generated; this test keeps them current.
// UPDATE_DOCS=1 rewrites them in place instead of failing.

import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { assemble, renderDirectiveTable, renderEncodingTable, renderPswTable } from '../../src/asm/index.js';
import { classic } from '../../src/isa/profiles/classic.js';
import { PROFILES } from '../../src/isa/profiles/index.js';

const DOC = new URL('../../docs/assembly.md', import.meta.url);

const SECTIONS: Readonly<Record<string, () => string>> = {
  'encoding-table': () => renderEncodingTable([...PROFILES.values()]),
  directives: renderDirectiveTable,
  'psw-keys': renderPswTable,
};

function section(name: string): RegExp {
  return new RegExp(`(<!-- BEGIN ${name} -->\\n)([\\s\\S]*?)(<!-- END ${name} -->)`);
}

describe('docs/assembly.md', () => {
  for (const [name, render] of Object.entries(SECTIONS)) {
    it(`has the current ${name} table`, () => {
      const doc = readFileSync(DOC, 'utf8');
      const m = section(name).exec(doc);
      expect(m, `markers for ${name}`).not.toBeNull();
      if (process.env.UPDATE_DOCS) writeFileSync(DOC, doc.replace(section(name), (_, open: string, _old: string, close: string) => open + render() + close));
      else expect(m![2], 'stale: run UPDATE_DOCS=1 npx vitest run test/asm/docs.test.ts').toBe(render());
    });
  }

  it('has asm examples that assemble', () => {
    const blocks = [...readFileSync(DOC, 'utf8').matchAll(/```asm\n([\s\S]*?)```/g)].map((m) => m[1]);
    expect(blocks.length).toBeGreaterThan(0);
    for (const block of blocks) expect(() => assemble(block, { profile: classic, file: 'docs/assembly.md' })).not.toThrow();
  });

  it('lists every opcode of every shipped profile', () => {
    const table = renderEncodingTable([...PROFILES.values()]);
    for (const p of PROFILES.values()) {
      for (const d of p.instructions) expect(table).toContain(`| \`${d.mnemonic}\` |`);
    }
  });
});
