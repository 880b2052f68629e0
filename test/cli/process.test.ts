// The real binary in a real process: pipes that close early, standard input, exit statuses, and
// hostile inputs refused inside a small heap. (dist/ is built by test/global-setup.ts.)

import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(new URL('../..', import.meta.url).pathname);
const BIN = join(ROOT, 'bin', 'shadowlab.js');
const dir = mkdtempSync(join(tmpdir(), 'shadowlab-proc-'));

/** `shadowlab args` in a child process (optionally with `input` on stdin and extra node flags). */
function shadowlab(args: string[], o: { input?: string | Buffer; node?: string[] } = {}) {
  const r = spawnSync(process.execPath, [...(o.node ?? []), BIN, ...args], { cwd: ROOT, input: o.input, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('the shadowlab process', () => {
  it('a reader that closes the pipe early (| head) ends it quietly', () => {
    const out = execFileSync('bash', ['-c', `set -o pipefail; node ${BIN} run scenarios/lde.yaml --trace 2>${join(dir, 'err.txt')} | head -n 2; echo "status $?"`], { cwd: ROOT, encoding: 'utf8' });
    expect(out).toMatch(/^scenario lde — .*\n\nstatus 0\n$/);
    expect(execFileSync('cat', [join(dir, 'err.txt')], { encoding: 'utf8' })).toBe('');
  });

  it('- reads the scenario from standard input, relative paths from the working directory', () => {
    const text = 'machine: { memory: 64 KiB }\nprograms:\n  - { file: scenarios/lde/print3.s, at: 0 }\n';
    const r = shadowlab(['run', '-', '--json'], { input: text });
    expect(r.stderr).not.toMatch(/internal error/);
    const d = JSON.parse(r.stdout);
    expect(d.scenario.file).toBe('<stdin>');
  });

  it('standard input that never ends (/dev/zero) is refused at its bound', () => {
    const r = spawnSync('bash', ['-c', `node ${BIN} run - < /dev/zero`], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^shadowlab: <stdin>: (it is more than 65536 bytes|expected a text file, found binary data)/);
  });

  it('exit statuses: 0 ok, 1 an expectation failed, 2 bad input', () => {
    expect(shadowlab(['run', 'x-plus-3']).code).toBe(0);
    expect(shadowlab(['run', 'x-plus-3', '--steps', '2']).code).toBe(1);
    expect(shadowlab(['run', 'nope.yaml']).code).toBe(2);
  });

  it('hostile inputs are refused inside a 128 MB heap', () => {
    const rows = ['x0: &a0 [1, 2, 3, 4, 5, 6, 7, 8, 9]'];
    for (let i = 1; i < 14; i++) rows.push(`x${i}: &a${i} [${Array(9).fill(`*a${i - 1}`).join(', ')}]`);
    const bomb = join(dir, 'bomb.yaml');
    writeFileSync(bomb, `${rows.join('\n')}\nmachine: { memory: 64 KiB }\n`);
    const dense = join(dir, 'dense.yaml');
    writeFileSync(dense, `machine: { memory: 64 KiB }\nmemory:\n${Array.from({ length: 1200 }, (_, i) => `  - { at: ${i * 64}, words: [1, 2, 3, 4, 5, 6, 7, 8] }`).join('\n')}\ncolour: red\n`);
    const space = join(dir, 'space.yaml');
    writeFileSync(space, `machine: { memory: 4 GiB }\nprograms:\n  - source: |\n${Array.from({ length: 70 }, () => '      .space 0x1000000').join('\n')}\n`);
    for (const f of [bomb, dense, space, '/dev/zero', process.execPath]) {
      const r = shadowlab(['run', f], { node: ['--max-old-space-size=128'] });
      expect(r.stderr, f).not.toMatch(/heap out of memory|internal error/);
      expect(r.code, f).toBe(2);
    }
  });
});
