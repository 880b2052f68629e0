// `.include "file"`: included lines assemble in place, diagnostics and the source map name the
// included file, cycles and unreadable files are reported where the `.include` stands.

import { describe, expect, it } from 'vitest';
import { AsmError, assemble, type IncludeReader } from '../../src/asm/index.js';
import { classic } from '../../src/isa/profiles/classic.js';

const files: Record<string, string> = {
  'lib.s': 'double: add r1, r1, r1\n        ret\nK = 7\n',
  'bad.s': '        nop\n        lod r1, 2\n',
  'loop.s': '        .include "loop.s"\n',
  'nested.s': '        .include "lib.s"\n',
};
const read: IncludeReader = (path) => {
  if (!(path in files)) throw new Error('ENOENT');
  return { file: path, text: files[path] };
};

function diagnostics(source: string): string {
  try {
    assemble(source, { profile: classic, file: 'main.s', include: read });
  } catch (e) {
    if (e instanceof AsmError) return e.format();
    throw e;
  }
  throw new Error('expected an AsmError');
}

describe('.include', () => {
  it('splices the file in place: labels and constants are shared both ways', () => {
    const r = assemble('        .org 0x80\nstart:  li r1, K\n        call double\n        .include "lib.s"\nafter:  halt\n', { profile: classic, file: 'main.s', include: read });
    expect(r.symbols.get('double')).toBe(0x90);
    expect(r.symbols.get('after')).toBe(0xa0);
    expect(r.symbols.get('K')).toBe(7);
    expect(r.sourceMap.map((l) => `${l.file}:${l.line}`)).toEqual(['main.s:2', 'main.s:3', 'lib.s:1', 'lib.s:2', 'main.s:5']);
    expect(r.sourceMap[2].text).toBe('double: add r1, r1, r1');
  });

  it('includes nest', () => {
    const r = assemble('        .include "nested.s"\n', { profile: classic, include: read });
    expect(r.symbols.get('double')).toBe(0);
  });

  it('reports problems inside the included file by its own name and line', () => {
    expect(diagnostics('        .include "bad.s"\n')).toBe("bad.s:2:9: unknown mnemonic 'lod' (did you mean 'ld'?)");
  });

  it('reports an unreadable file, a cycle and a malformed directive at the .include', () => {
    expect(diagnostics('  .include "nope.s"\n')).toBe("main.s:1:12: cannot include 'nope.s' (ENOENT)");
    expect(diagnostics('  .include "loop.s"\n')).toMatch(/^loop\.s:1:18: 'loop\.s' includes itself \(main\.s -> loop\.s -> loop\.s\)$/);
    expect(diagnostics('  .include lib.s\n')).toMatch(/^main\.s:1:12: \.include expects one quoted file name/);
  });

  it('a file that includes the file being assembled is a cycle, not a depth problem', () => {
    const files: Record<string, string> = { 'a.s': '  .include "main.s"\n' };
    const reader = (path: string) => ({ file: path, text: files[path] ?? '  .include "a.s"\n' });
    expect(() => assemble('  .include "a.s"\n', { profile: classic, file: 'main.s', include: reader })).toThrow(/'main\.s' includes itself \(main\.s -> a\.s -> main\.s\)/);
  });

  it('a chain of distinct files deeper than the limit is reported as too deep, with the chain', () => {
    const reader = (path: string) => {
      const n = Number(path.slice(1, -2));
      return { file: path, text: `  .include "f${n + 1}.s"\n` };
    };
    expect(() => assemble('  .include "f1.s"\n', { profile: classic, file: 'main.s', include: reader })).toThrow(/\.include nests more than 16 files deep \(main\.s -> f1\.s -> .* -> f17\.s\)/);
  });

  it('is refused when the caller gives no way to read files', () => {
    expect(() => assemble('  .include "lib.s"\n', { profile: classic, file: 'main.s' })).toThrow(/\.include is not available here/);
  });

  it('duplicate labels across files name the other file', () => {
    expect(diagnostics('double: nop\n        .include "lib.s"\n')).toBe("lib.s:1:1: duplicate label 'double' (first defined at main.s:1)");
  });
});
