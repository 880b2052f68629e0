// Every command the README and docs show with its output is run here and compared with what it
// really prints. A shown block is a fenced block whose lines starting with "$ " are commands
// (`npx shadowlab ...`); the lines after one, up to the next, are its output (stderr, then
// stdout). A line "..." stands for any number of lines. Measured figures (bench, --timing) can't
// repeat, so in their blocks every number matches any number; everything else must be exact.

import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cli } from '../cli/helpers.js';

const ROOT = new URL('../../', import.meta.url);
const FILES = ['README.md', ...readdirSync(new URL('docs/', ROOT)).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

interface Shown {
  readonly file: string;
  readonly line: number;
  readonly command: string;
  readonly output: readonly string[];
}

/** The commands shown in `file`, each with the output shown under it. */
export function shownCommands(file: string, text: string): Shown[] {
  const out: Shown[] = [];
  const lines = text.split('\n');
  let inBlock = false;
  let current: { line: number; command: string; output: string[] } | undefined;
  const flush = () => {
    if (current) out.push({ file, ...current });
    current = undefined;
  };
  lines.forEach((l, i) => {
    if (l.startsWith('```')) {
      flush();
      inBlock = !inBlock;
    } else if (inBlock && l.startsWith('$ ')) {
      flush();
      current = { line: i + 1, command: l.slice(2).trim(), output: [] };
    } else if (inBlock && current) current.output.push(l);
  });
  return out;
}

/** Shell-like words of a command line (single and double quotes; no expansion). */
function words(command: string): string[] {
  return [...command.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]);
}

/** The CLI arguments a shown command stands for, or undefined for commands this test does not run. */
function cliArgs(command: string): string[] | undefined {
  const w = words(command.replace(/\s+#.*$/, ''));
  if (w[0] === 'npx' && w[1] === 'shadowlab') return w.slice(2);
  if (w[0] === 'shadowlab') return w.slice(1);
  if (w.join(' ') === 'npm run bench') return ['bench'];
  return undefined;
}

const measured = (args: readonly string[]) => args[0] === 'bench' || args.includes('--timing');

/** Whether `actual` lines match the `shown` lines ("..." = any lines; `masked`: numbers are wildcards). */
export function matches(shown: readonly string[], actual: readonly string[], masked: boolean): boolean {
  const norm = (l: string) => (masked ? l.replace(/\d+(\.\d+)?/g, '#') : l).trimEnd();
  const memo = new Map<string, boolean>();
  const go = (i: number, j: number): boolean => {
    const key = `${i},${j}`;
    if (memo.has(key)) return memo.get(key)!;
    let r: boolean;
    if (i === shown.length) r = j === actual.length;
    else if (shown[i].trim() === '...') r = go(i + 1, j) || (j < actual.length && go(i, j + 1));
    else r = j < actual.length && norm(shown[i]) === norm(actual[j]) && go(i + 1, j + 1);
    memo.set(key, r);
    return r;
  };
  return go(0, 0);
}

/** Trailing blank lines removed. */
function trimmed(lines: readonly string[]): string[] {
  const out = [...lines];
  while (out.length && out[out.length - 1].trim() === '') out.pop();
  return out;
}

const shown = FILES.flatMap((f) => shownCommands(f, readFileSync(new URL(f, ROOT), 'utf8')));

describe('commands shown in the docs print what the docs show', () => {
  it('the README shows commands', () => {
    expect(shown.filter((s) => s.file === 'README.md').length).toBeGreaterThan(5);
  });

  const runnable = shown.filter((s) => cliArgs(s.command) !== undefined).map((s) => ({ ...s, where: `${s.file}:${s.line}` }));
  it.each(runnable)('$where: $command', async ({ command, output }) => {
    const args = cliArgs(command)!;
    const run = args[0] === 'bench' ? [...args, '--runs', '1', '--instructions', '1000000'] : args;
    const r = await cli(...run);
    const actual = trimmed(`${r.stderr}${r.stdout}`.split('\n'));
    const want = trimmed(output);
    expect(want.length, 'a shown command shows its output').toBeGreaterThan(0);
    if (!matches(want, actual, measured(args))) expect(actual.join('\n')).toBe(want.join('\n'));
  });
});

describe('the docs checker itself', () => {
  it('matches exactly, with "..." standing for any lines, and fails on a changed line', () => {
    expect(matches(['a', '...', 'd'], ['a', 'b', 'c', 'd'], false)).toBe(true);
    expect(matches(['a', '...'], ['a'], false)).toBe(true);
    expect(matches(['a', 'x', 'd'], ['a', 'b', 'd'], false)).toBe(false);
    expect(matches(['a', 'b'], ['a', 'b', 'c'], false)).toBe(false);
    expect(matches(['a 12.5 ms'], ['a 3 ms'], false)).toBe(false);
    expect(matches(['a 12.5 ms'], ['a 3 ms'], true)).toBe(true);
    expect(matches(['a 12.5 ms'], ['b 3 ms'], true)).toBe(false);
  });

  it('finds the commands of a block and their output', () => {
    const doc = 'text\n```\n$ npx shadowlab list\nline 1\n$ shadowlab run x\nline 2\n```\n```yaml\n$ not: a command\n```\n';
    expect(shownCommands('d.md', doc).map((s) => [s.command, s.output])).toEqual([
      ['npx shadowlab list', ['line 1']],
      ['shadowlab run x', ['line 2']],
      ['not: a command', []],
    ]);
  });
});
