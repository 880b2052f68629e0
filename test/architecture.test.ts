// The layers of src/ import in one direction only (STYLE.md):
// paging ← mmu ← isa ← (asm) ← vmm/shadow ← checker ← bench ← scenario ← cli, and the library
// entry src/index.ts on top beside cli (it imports no cli; nothing imports it). The report
// (src/report) sits beside cli, and only cli imports it.

import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, posix, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(new URL(import.meta.url).pathname), '..');
const SRC = join(ROOT, 'src');

/** Rank of each top-level folder of src/: a folder may import its own and lower ranks only. */
const RANK: Readonly<Record<string, number>> = {
  paging: 0,
  mmu: 1,
  isa: 2,
  asm: 3,
  vmm: 4,
  shadow: 4,
  checker: 5,
  bench: 6,
  scenario: 7,
  cli: 8,
  /** `shadowlab report`'s page: beside cli, imported by cli alone */
  report: 8,
  /** the library API, src/index.ts: ranked above everything, so nothing in src/ imports it */
  index: 9,
};

/** Stricter rules than the ranks: exactly which layers these may import. */
const ONLY: Readonly<Record<string, readonly string[]>> = {
  paging: ['paging'],
  mmu: ['paging', 'mmu'],
  isa: ['paging', 'mmu', 'isa'],
  asm: ['isa', 'asm'],
  shadow: ['paging', 'mmu', 'shadow'],
};

export interface SourceFile {
  /** path relative to the repository, with forward slashes (e.g. src/mmu/memory.ts) */
  readonly path: string;
  readonly text: string;
}

export interface Offence {
  readonly file: string;
  readonly line: number;
  readonly text: string;
  readonly why: string;
}

/** The layer of a repository path under src/ (its first folder; 'index' for src/index.ts), or undefined for other src/x.ts. */
function layerOf(path: string): string | undefined {
  if (/^src\/index\.[jt]s$/.test(path)) return 'index';
  const parts = path.split('/');
  return parts[0] === 'src' && parts.length > 2 ? parts[1] : undefined;
}

/** Every import/export-from/dynamic import of our own modules that breaks the layer order. */
export function checkImports(files: readonly SourceFile[]): Offence[] {
  const out: Offence[] = [];
  for (const f of files) {
    const from = layerOf(f.path);
    const info = ts.preProcessFile(f.text, true, true);
    const lines = f.text.split('\n');
    for (const imp of info.importedFiles) {
      if (!imp.fileName.startsWith('.')) continue; // packages and node: builtins
      const target = posix.normalize(posix.join(posix.dirname(f.path), imp.fileName));
      const to = layerOf(target);
      const line = f.text.slice(0, imp.pos).split('\n').length;
      const offend = (why: string) => out.push({ file: f.path, line, text: lines[line - 1].trim(), why });
      if (!target.startsWith('src/')) {
        offend(`imports ${target}, outside src/`);
        continue;
      }
      if (from === undefined || to === undefined || !(from in RANK) || !(to in RANK)) {
        offend(`unknown layer (${from ?? f.path} → ${to ?? target}): add it to RANK in test/architecture.test.ts`);
        continue;
      }
      if (from === to) continue;
      if (ONLY[from] && !ONLY[from].includes(to)) offend(`src/${from} may import only ${ONLY[from].join(', ')}`);
      else if (to === 'cli') offend('nothing but src/cli imports src/cli');
      else if (to === 'report' && from !== 'cli') offend('nothing but src/cli imports src/report');
      else if (RANK[to] > RANK[from]) offend(`src/${from} (rank ${RANK[from]}) imports the higher layer src/${to} (rank ${RANK[to]})`);
    }
  }
  return out;
}

function sourceFiles(dir: string): SourceFile[] {
  const out: SourceFile[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...sourceFiles(p));
    else if (/\.(ts|mts|cts|tsx)$/.test(e.name)) out.push({ path: relative(ROOT, p).split('\\').join('/'), text: readFileSync(p, 'utf8') });
  }
  return out;
}

const format = (o: readonly Offence[]) => o.map((x) => `${x.file}:${x.line}: ${x.text}\n    ${x.why}`).join('\n');

describe('architecture: import direction', () => {
  it('every import under src/ respects the layer order', () => {
    const files = sourceFiles(SRC);
    expect(files.length).toBeGreaterThan(30);
    const offences = checkImports(files);
    expect(format(offences), `offending imports:\n${format(offences)}`).toBe('');
  });

  it('the check catches each kind of offence (and reads multi-line, type-only, re-export and dynamic imports)', () => {
    const files: SourceFile[] = [
      { path: 'src/paging/a.ts', text: "import { x } from '../mmu/tlb.js';\n" },
      { path: 'src/mmu/b.ts', text: "import type {\n  Machine,\n} from '../isa/machine.js';\n" },
      { path: 'src/isa/c.ts', text: "export { y } from '../asm/index.js';\n" },
      { path: 'src/asm/d.ts', text: "import { z } from '../mmu/memory.js';\n" },
      { path: 'src/scenario/e.ts', text: "const m = await import('../cli/main.js');\n" },
      { path: 'src/vmm/f.ts', text: "import '../checker/index.js';\n" },
      { path: 'src/bench/g.ts', text: "import { b } from '../scenario/load.js';\n" },
      { path: 'src/isa/ok.ts', text: "import { a } from '../mmu/memory.js';\nimport fc from 'fast-check';\nimport { q } from './arch.js';\n" },
      { path: 'src/cli/ok.ts', text: "import { r } from '../bench/bench.js';\n" },
      { path: 'src/mystery/h.ts', text: "import { a } from '../isa/arch.js';\n" },
      { path: 'src/cli/i.ts', text: "import { runScenario } from '../index.js';\n" },
      { path: 'src/index.ts', text: "import { runRecord } from './scenario/record.js';\nimport { main } from './cli/main.js';\n" },
      { path: 'src/scenario/j.ts', text: "import { reportData } from '../report/data.js';\n" },
      { path: 'src/report/k.ts', text: "import { jsonText } from '../cli/format.js';\n" },
      { path: 'src/cli/ok2.ts', text: "import { reportData } from '../report/data.js';\n" },
    ];
    const offences = checkImports(files);
    expect(offences.map((o) => `${o.file}:${o.line}`)).toEqual([
      'src/paging/a.ts:1',
      'src/mmu/b.ts:3',
      'src/isa/c.ts:1',
      'src/asm/d.ts:1',
      'src/scenario/e.ts:1',
      'src/vmm/f.ts:1',
      'src/bench/g.ts:1',
      'src/mystery/h.ts:1',
      'src/cli/i.ts:1',
      'src/index.ts:2',
      'src/scenario/j.ts:1',
      'src/report/k.ts:1',
    ]);
    expect(offences[4].why).toMatch(/src\/cli/);
    expect(format(offences)).toContain("src/mmu/b.ts:3: } from '../isa/machine.js';");
  });
});

/** The import graph of `files` (own modules only, .js specifiers mapped to .ts): path → imported paths. */
function importGraph(files: readonly SourceFile[]): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const f of files) {
    const targets = ts
      .preProcessFile(f.text, true, true)
      .importedFiles.filter((imp) => imp.fileName.startsWith('.'))
      .map((imp) => posix.normalize(posix.join(posix.dirname(f.path), imp.fileName)).replace(/\.js$/, '.ts'));
    graph.set(f.path, targets);
  }
  return graph;
}

/** One import cycle through `start` in `graph` (as the list of its files), or undefined. */
function cycleThrough(graph: Map<string, string[]>, start: string): string[] | undefined {
  const seen = new Set<string>();
  const walk = (path: string, trail: string[]): string[] | undefined => {
    for (const next of graph.get(path) ?? []) {
      if (next === start) return [...trail, next];
      if (seen.has(next)) continue;
      seen.add(next);
      const found = walk(next, [...trail, next]);
      if (found) return found;
    }
    return undefined;
  };
  return walk(start, [start]);
}

describe('architecture: no import cycles in the machine', () => {
  it('no module of src/isa imports itself back through others (types included): instruction rows and profiles see the CPU through src/isa/cpu.ts', () => {
    const files = sourceFiles(join(SRC, 'isa'));
    const graph = importGraph(files);
    const cycles = files.map((f) => cycleThrough(graph, f.path)).filter((c) => c !== undefined);
    expect(cycles.map((c) => c.join(' → '))).toEqual([]);
  });

  it('the check finds a cycle made of type-only imports', () => {
    const graph = importGraph([
      { path: 'src/isa/a.ts', text: "import type { B } from './b.js';\n" },
      { path: 'src/isa/b.ts', text: "import type { A } from './a.js';\n" },
      { path: 'src/isa/c.ts', text: "import { A } from './a.js';\n" },
    ]);
    expect(cycleThrough(graph, 'src/isa/a.ts')).toEqual(['src/isa/a.ts', 'src/isa/b.ts', 'src/isa/a.ts']);
    expect(cycleThrough(graph, 'src/isa/c.ts')).toBeUndefined();
  });
});
