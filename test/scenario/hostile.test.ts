// Hostile and malformed input: every file the tool opens is bounded before it is read, YAML's
// anchors work while its bombs are refused, structural mistakes are located, and every refusal
// is exit 2 with at most six lines, no stack trace and no raw control byte.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from '../cli/helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'shadowlab-hostile-'));
let n = 0;

/** Writes `text` as a scenario (and `extra` files beside it); returns its path. */
function scenario(text: string | Buffer, extra: Record<string, string | Buffer> = {}): string {
  for (const [name, body] of Object.entries(extra)) writeFileSync(join(dir, name), body);
  const file = join(dir, `h${n++}.yaml`);
  writeFileSync(file, text);
  return file;
}

const halt = 'programs:\n  - { at: 0x80, source: "halt" }\n';
const small = `machine: { memory: 64 KiB }\n${halt}`;

/** The refusal every bad input gets: exit 2, nothing on stdout, a short located message. */
async function refused(args: string[], message: RegExp): Promise<string> {
  const r = await cli(...args);
  expect(r.stdout).toBe('');
  expect(r.stderr).toMatch(message);
  expect(r.code).toBe(2);
  expect(r.stderr.trimEnd().split('\n').length).toBeLessThanOrEqual(6);
  expect(r.stderr).not.toMatch(/\n\s+at .*:\d+:\d+\)?/);
  expect(r.stderr).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
  return r.stderr;
}

describe('files are bounded before they are read', () => {
  it.each([
    { name: 'a device as a program file', text: 'machine: { memory: 64 KiB }\nprograms:\n  - { file: /dev/zero }\n', message: /:3:13: programs\.0\.file: '\/dev\/zero': expected a regular file, found a character device/ },
    { name: 'a device as an include', text: 'machine: { memory: 64 KiB }\nprograms:\n  - source: |\n      .include "/dev/zero"\n', message: /:4:16: programs\.0\.source: cannot include '\/dev\/zero' \(expected a regular file, found a character device\)/ },
    { name: "a device as a VM's scenario", text: 'machine: { memory: 256 KiB }\nvms:\n  - scenario: /dev/zero\n', message: /:3:15: vms\.0\.scenario: '\/dev\/zero': expected a regular file/ },
    { name: 'a huge executable as a program file', text: `machine: { memory: 64 KiB }\nprograms:\n  - { file: ${process.execPath} }\n`, message: /programs\.0\.file: .*: it is \d+ bytes, more than the 262144 bytes an input file may have/ },
    { name: 'a directory as a program file', text: `machine: { memory: 64 KiB }\nprograms:\n  - { file: ${tmpdir()} }\n`, message: /expected a regular file, found a directory/ },
  ])('$name → exit 2', async ({ text, message }) => {
    await refused(['run', scenario(text)], message);
  });

  it('a FIFO with no writer is refused at once, not waited on', async () => {
    const fifo = join(dir, `fifo${n++}`);
    execFileSync('mkfifo', [fifo]);
    await refused(['run', scenario(`machine: { memory: 64 KiB }\nprograms:\n  - { file: ${fifo} }\n`)], /expected a regular file, found a pipe \(FIFO\)/);
    await refused(['run', fifo], /expected a regular file, found a pipe/);
  });

  it('a scenario of more than 64 KiB, binary data and bytes that are not UTF-8 → exit 2, one line', async () => {
    await refused(['run', scenario(`${small}${'# padding\n'.repeat(7000)}`)], /h\d+\.yaml: it is \d+ bytes, more than the 65536 bytes an input file may have/);
    await refused(['run', scenario(Buffer.from([0x6d, 0x61, 0, 0x01, 0x02]))], /expected a text file, found binary data \(a NUL byte at offset 2\)/);
    await refused(['run', scenario(Buffer.from([0x6d, 0x3a, 0x20, 0xff, 0xfe, 0x0a]))], /expected a text file in UTF-8/);
  });

  it('assembly files: at most 256 KiB each, 1 MiB for a whole scenario (includes of big files cannot multiply the work)', async () => {
    const line = '      nop\n';
    const big = line.repeat(Math.floor(200 * 1024 / line.length));
    const includes = Array.from({ length: 6 }, () => '  .include "big.s"').join('\n');
    await refused(['run', scenario('machine: { memory: 64 MiB }\nprograms:\n  - { file: main.s }\n', { 'big.s': big, 'main.s': `${includes}\n` })], /cannot include 'big\.s' \(the scenario's assembly files together pass 1048576 bytes/);
    await refused(['run', scenario('machine: { memory: 64 KiB }\nprograms:\n  - { file: huge.s }\n', { 'huge.s': line.repeat(30_000) })], /'huge\.s': it is 300000 bytes, more than the 262144 bytes/);
  });

  it('a VM list that names its own file, or a cycle of host files → exit 2 (no recursion)', async () => {
    const self = join(dir, 'self.yaml');
    writeFileSync(self, 'machine: { memory: 256 KiB }\nvms:\n  - scenario: self.yaml\n');
    await refused(['run', self], /self\.yaml:3:15: vms\.0\.scenario: 'self\.yaml' is this file itself/);
    writeFileSync(join(dir, 'cyc-a.yaml'), 'machine: { memory: 256 KiB }\nvms:\n  - scenario: cyc-b.yaml\n');
    writeFileSync(join(dir, 'cyc-b.yaml'), 'machine: { memory: 256 KiB }\nvms:\n  - scenario: cyc-a.yaml\n');
    await refused(['run', join(dir, 'cyc-a.yaml')], /cyc-b\.yaml:2:1: vms: this file lists VMs itself/);
  });

  it('.space reserving more than the 64 MiB budget is refused before anything is allocated', async () => {
    const spaces = Array.from({ length: 64 }, () => '      .space 0x1000000').join('\n');
    const before = process.memoryUsage().rss;
    await refused(['run', scenario(`machine: { memory: 2 GiB }\nprograms:\n  - source: |\n${spaces}\n`)], /:8:7: programs\.0\.source: the output reaches 0x5000000 bytes here, more than the 0x4000000 bytes/);
    expect(process.memoryUsage().rss - before).toBeLessThan(400 * 2 ** 20);
  });
});

describe('YAML, all of it', () => {
  it('one anchor merged 150 times is ordinary YAML and runs', async () => {
    const blocks = Array.from({ length: 150 }, (_, i) => (i === 0 ? `  - { <<: &w { words: [7] }, at: 0x1000 }` : `  - { <<: *w, at: ${0x1000 + 8 * i} }`));
    const r = await cli('run', scenario(`machine: { memory: 64 KiB }\n${halt}memory:\n${blocks.join('\n')}\nexpect: { memory: { "0x1000": 7, "0x14a8": 7 } }\n`));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('an alias bomb → exit 2, one line', async () => {
    const rows = ['x0: &a0 [1, 2, 3, 4, 5, 6, 7, 8, 9]'];
    for (let i = 1; i < 12; i++) rows.push(`x${i}: &a${i} [${Array(9).fill(`*a${i - 1}`).join(', ')}]`);
    await refused(['run', scenario(`${rows.join('\n')}\n${small}`)], /:\d+:\d+: YAML: with its aliases expanded this holds more than 200000 values/);
  });

  it.each([
    { name: 'an unresolved alias', text: `${small}registers: { r1: *nope }\n`, message: /:4:18: YAML: the alias \*nope has no anchor &nope before it/ },
    { name: 'a complex key', text: `${small}? [a, b]\n: c\n`, message: /:4:3: YAML: a key must be a plain value/ },
    { name: 'deep flow nesting', text: `machine: ${'['.repeat(5000)}${']'.repeat(5000)}\n`, message: /:1:\d+: YAML: nesting deeper than 64 levels/ },
    { name: 'deep block nesting', text: `machine:\n${Array.from({ length: 300 }, (_, i) => `${' '.repeat(i + 1)}a:`).join('\n')} 1\n`, message: /YAML: nesting deeper than 64 levels/ },
    { name: 'two documents', text: `${small}---\n${small}`, message: /:4:1: YAML: a scenario file holds one document/ },
    { name: '__proto__ as a key', text: `${small}expect: { traps: { __proto__: 1 } }\n`, message: /:4:20: expect\.traps\.__proto__: '__proto__' cannot be a key/ },
  ])('$name → exit 2, located', async ({ text, message }) => {
    await refused(['run', scenario(text)], message);
  });

  it('escape sequences from a file are never echoed raw', async () => {
    const esc = scenario(`machine: { memory: 64 KiB }\nname: "\\e[31mred\\e]0;title\\a"\nprograms:\n  - { at: 0x80, source: "halt" }\n`);
    const r = await cli('run', esc);
    expect(r.stdout).toContain('\\x1b[31mred');
    expect(r.stdout + r.stderr).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
    const json = await cli('run', esc, '--json');
    expect(json.stdout).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
    const stderr = await refused(['run', scenario(`machine: { memory: 64 KiB }\nprograms:\n  - { at: 0x80, source: "hlt\\e[2J" }\n`)], /unexpected character '\\x1b'/);
    expect(stderr).not.toContain('\x1b');
  });

  it('a guest that prints escape sequences is shown escaped in the table, exactly in JSON', async () => {
    const f = scenario(`machine: { memory: 64 KiB }\nprograms:\n  - at: 0x80\n    source: |\n      li r1, 27\n      out r1, 0\n      li r1, 0x9b\n      out r1, 0\n      halt\n`);
    const r = await cli('run', f);
    expect(r.stdout).toContain('\\x1b\\x9b');
    expect(r.stdout).not.toMatch(/[\x1b\x9b]/);
    const j = await cli('run', f, '--json');
    expect(j.stdout).toContain('"console": "\\u001b\\u009b"');
    expect(JSON.parse(j.stdout).runs[0].console).toBe('\x1b\x9b');
  });
});

describe('names that are also JavaScript object keys', () => {
  it.each([
    { name: 'a register', text: `${small}registers: { constructor: 1 }\n`, message: /registers\.constructor/ },
    { name: 'a profile', text: `machine: { memory: 64 KiB, profile: constructor }\n${halt}`, message: /unknown profile 'constructor'/ },
    { name: 'a preset geometry', text: `machine: { memory: 64 KiB, translation: paging, paging: { geometry: toString } }\n`, message: /unknown geometry 'toString'/ },
    { name: 'an entry format', text: `machine: { memory: 64 KiB, translation: paging, paging: { geometry: { name: g, indexBits: [10, 10], offsetBits: 12, entry: constructor } } }\n`, message: /unknown entry format 'constructor'/ },
    { name: 'a trap cause', text: `${small}expect: { traps: { toString: 1 } }\n`, message: /unknown trap cause 'toString'/ },
    { name: 'a memory expectation', text: `${small}expect: { memory: { hasOwnProperty: 1 } }\n`, message: /'hasOwnProperty' is neither an address nor a symbol/ },
  ])('$name named like an Object method → exit 2', async ({ text, message }) => {
    await refused(['run', scenario(text)], message);
  });

  it('--geometry constructor → exit 2', async () => {
    await refused(['run', 'scenarios/bounds-size.yaml', '--compare', 'segment', '--geometry', 'constructor'], /--geometry: unknown geometry 'constructor'/);
  });
});

const paged = (extra: string, memory = '64 KiB') => `machine:\n  memory: ${memory}\n  translation: paging\n  paging: { geometry: x86-32 }\n${extra}`;

describe('structural checks', () => {
  it.each([
    { name: 'overlapping memory blocks', text: `${small}memory:\n  - { at: 0x1000, words: [1, 2] }\n  - { at: 0x1004, words: [3] }\n`, message: /:6:11: memory\.1\.at: block \[0x1004, 0x1008\) overlaps memory block 0 \[0x1000, 0x1008\)/ },
    { name: 'a page-table map that overlaps itself', text: paged('pageTables:\n  - name: t\n    map:\n      - { va: 0x400000, pa: 0x1000, size: 8 KiB }\n      - { va: 0x401000, pa: 0x4000, size: 4 KiB }\n'), message: /:9:9: pageTables\.0\.map\.1: maps \[0x401000, 0x402000\), which overlaps mapping 0 of the same table/ },
    { name: 'a map that runs past memory', text: paged('pageTables:\n  - name: t\n    map:\n      - { va: 0, pa: 0xf000, size: 8 KiB }\n'), message: /pageTables\.0\.map\.0: maps the frames \[0xf000, 0x11000\), which run past physical memory/ },
    { name: 'base + limit past 2^32', text: `machine: { memory: 64 KiB, translation: segment+paging, paging: { geometry: x86-32 } }\npsw: { base: 0xf0000000, limit: 0x20000000 }\n`, message: /:2:33: psw\.limit: base 0xf0000000 \+ limit 0x20000000 = 0x110000000 runs past the 32-bit linear address space/ },
    { name: 'a limit past memory', text: `${small}psw: { base: 0x8000, limit: 0x9000 }\n`, message: /psw\.limit: base 0x8000 \+ limit 0x9000 = 0x11000 runs past physical memory \(0x10000 bytes\)/ },
    { name: 'an end address past memory', text: `machine: { memory: 64 KiB, bounds: end }\n${halt}psw: { limit: 0x20000 }\n`, message: /psw\.limit: the end address 0x20000 lies past physical memory/ },
    { name: 'a base alone past memory', text: `${small}psw: { base: 0x20000 }\n`, message: /psw\.base: base 0x20000 \+ limit 0x0 = 0x20000 runs past physical memory/ },
    { name: 'a PTBR past memory', text: paged('psw: { ptbr: 0x10000 }\n'), message: /psw\.ptbr: the root table \[0x10000, 0x11000\) lies past physical memory/ },
    { name: 'a PTBR not aligned to the root table', text: paged('psw: { ptbr: 0x1800 }\n'), message: /psw\.ptbr: the root table at 0x1800 must be aligned to its size \(4096 bytes for geometry x86-32\)/ },
    { name: 'a custom geometry with a zero-bit level', text: paged('').replace('geometry: x86-32', 'geometry: { name: g, indexBits: [0, 10], offsetBits: 12, entry: x86-32 }'), message: /machine\.paging\.geometry\.indexBits\.0: Too small/ },
    { name: 'a custom geometry whose large-page depth is the leaf', text: paged('').replace('geometry: x86-32', 'geometry: { name: g, indexBits: [10, 10], offsetBits: 12, entry: x86-32, largePageDepths: [1] }'), message: /machine\.paging\.geometry\.largePageDepths: 1 is not an upper level \(0\.\.0\)/ },
    { name: 'a custom geometry whose table outgrows a page', text: paged('').replace('geometry: x86-32', 'geometry: { name: g, indexBits: [11, 9], offsetBits: 12, entry: x86-32 }'), message: /machine\.paging\.geometry\.indexBits\.0: a table of 2\^11 4-byte entries/ },
    { name: 'a geometry that is neither a name nor a row', text: paged('').replace('geometry: x86-32', 'geometry: 42'), message: /machine\.paging\.geometry: expected string or object, received number/ },
    { name: 'an expectation outside memory', text: `${small}expect: { memory: { "0xfffe": 1 } }\n`, message: /:4:21: expect\.memory\.0xfffe: the word at 0xfffe lies outside memory \(0x10000 bytes\)/ },
  ])('$name → exit 2, located', async ({ text, message }) => {
    await refused(['run', scenario(text)], message);
  });

  it("a VM's expectation outside the VM's memory → exit 2, located in the host file", async () => {
    writeFileSync(join(dir, 'guest.yaml'), small);
    await refused(['run', scenario('machine: { memory: 256 KiB }\nvms:\n  - { scenario: guest.yaml, expect: { memory: { "0x10000": 1 } } }\n')], /:3:60: vms\.0\.expect\.memory\.0x10000: the word at 0x10000 lies outside memory/);
  });

  it('an include chain deeper than the limit is a depth problem, not a cycle', async () => {
    const extra: Record<string, string> = {};
    for (let i = 0; i < 20; i++) extra[`inc${i}.s`] = `  .include "inc${i + 1}.s"\n`;
    const stderr = await refused(['run', scenario('machine: { memory: 64 KiB }\nprograms:\n  - { file: inc0.s }\n', extra)], /\.include nests more than 16 files deep/);
    expect(stderr).not.toMatch(/includes itself/);
  });

  it('a program assembled at 0 while the pc defaults to 0x80 gets a warning naming both', async () => {
    const r = await cli('run', scenario('machine: { memory: 64 KiB }\nprograms:\n  - { name: boot, at: 0, source: "li r1, 1\\nhalt" }\nexpect: { end: double-fault }\n'));
    expect(r.stderr).toMatch(/warning: the initial pc 0x80 \(the default, psw\.pc is not set\) is at physical 0x80, where no program or memory block puts anything; program 'boot' starts at physical 0x0/);
    expect(r.code).toBe(0);
    const json = await cli('run', scenario('machine: { memory: 64 KiB }\nprograms:\n  - { at: 0, source: "halt" }\nexpect: { end: double-fault }\n'), '--json');
    expect(JSON.parse(json.stdout).warnings[0]).toMatch(/the initial pc 0x80/);
  });

  it('a scenario with no expect block says that nothing was checked', async () => {
    const r = await cli('run', scenario(small));
    expect(r.stdout).toMatch(/expectations: none given \(the scenario has no expect block: nothing was checked\)/);
    const j = await cli('run', scenario(small), '--json');
    expect(JSON.parse(j.stdout).runs[0].expectations).toEqual({ ok: true, checked: false, failures: [] });
  });
});

describe('messages stay short', () => {
  it('twenty mistakes → six lines: five problems and how many more', async () => {
    const fields = Array.from({ length: 20 }, (_, i) => `  colour${i}: red`).join('\n');
    const stderr = await refused(['run', scenario(`machine:\n  memory: 64 KiB\n${fields}\n`)], /unknown field 'colour0'/);
    const lines = stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(6);
    expect(lines[0]).toMatch(/h\d+\.yaml:3:3: machine\.colour0: unknown field 'colour0'/);
    expect(lines[5]).toBe('shadowlab: and 15 more problems');
  });

  it.each([
    { name: '/etc/passwd', file: '/etc/passwd', message: /^shadowlab: \/etc\/passwd: expected a scenario: a YAML mapping with a `machine` field .*; found a text value\n$/ },
    { name: 'an assembly file', file: 'scenarios/lde/kernel.s', message: /^shadowlab: scenarios\/lde\/kernel\.s: expected a scenario: a YAML mapping with a `machine` field .*; it is not YAML \(line \d+, column \d+: .*\)\n$/ },
  ])('a file that is not a scenario ($name) → one line saying what was expected', async ({ file, message }) => {
    await refused(['run', file], message);
  });
});
