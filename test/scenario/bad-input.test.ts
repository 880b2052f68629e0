// Bad scenario files: each is refused with exit status 2 and one clear, located message —
// never a stack trace.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from '../cli/helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'shadowlab-bad-'));
let n = 0;

/** Writes `text` as a scenario file (and `extra` files beside it); returns its path. */
function scenario(text: string, extra: Record<string, string> = {}): string {
  for (const [name, body] of Object.entries(extra)) writeFileSync(join(dir, name), body);
  const file = join(dir, `s${n++}.yaml`);
  writeFileSync(file, text);
  return file;
}

const ok = `machine:\n  memory: 64 KiB\nprograms:\n  - at: 0\n    source: |\n      .org 0x80\n      halt\n`;

const cases: { name: string; text: string; extra?: Record<string, string>; where: string; message: RegExp }[] = [
  { name: 'malformed YAML', text: 'machine: [1, 2\n', where: ':2:1', message: /YAML/ },
  { name: 'unknown top-level field', text: `${ok}colour: red\n`, where: ':8:1', message: /colour: unknown field 'colour'/ },
  { name: 'unknown nested field', text: ok.replace('memory: 64 KiB', 'memory: 64 KiB\n  colour: red'), where: ':3:3', message: /machine\.colour: unknown field/ },
  { name: 'wrong type', text: ok.replace('64 KiB', 'lots'), where: ':2:11', message: /machine\.memory: expected a non-negative integer or a size/ },
  { name: 'memory too small', text: ok.replace('64 KiB', '64'), where: ':2:11', message: /between 128 bytes and 4 GiB/ },
  { name: 'memory too large', text: ok.replace('64 KiB', '8 GiB'), where: ':2:11', message: /machine\.memory/ },
  { name: 'unknown profile', text: ok.replace('memory: 64 KiB', 'memory: 64 KiB\n  profile: vax'), where: ':3:12', message: /unknown profile 'vax'/ },
  { name: 'override of an unknown instruction', text: ok.replace('memory: 64 KiB', 'memory: 64 KiB\n  overrides:\n    - { instruction: frob, trapsIn: [] }'), where: ':4:22', message: /machine\.overrides\.0\.instruction: profile classic has no instruction 'frob' \(its instructions: add, / },
  { name: 'override in an unknown mode', text: ok.replace('memory: 64 KiB', 'memory: 64 KiB\n  overrides:\n    - { instruction: out, trapsIn: [u, q] }'), where: ':4:40', message: /machine\.overrides\.0\.trapsIn\.1: profile classic has no mode 'q' \(its modes: s, u\)/ },
  { name: 'a mode named twice in an override', text: ok.replace('memory: 64 KiB', 'memory: 64 KiB\n  overrides:\n    - { instruction: out, trapsIn: [u, u] }'), where: ':4:40', message: /machine\.overrides\.0\.trapsIn\.1: mode 'u' is named twice/ },
  { name: 'contradictory overrides', text: ok.replace('memory: 64 KiB', 'memory: 64 KiB\n  overrides:\n    - { instruction: out, trapsIn: [] }\n    - { instruction: out, trapsIn: [u] }'), where: ':5:22', message: /machine\.overrides\.1\.instruction: 'out' is overridden again \(contradicting override 0\); give each instruction one override/ },
  { name: 'duplicate overrides', text: ok.replace('memory: 64 KiB', 'memory: 64 KiB\n  overrides:\n    - { instruction: out, trapsIn: [u] }\n    - { instruction: out, trapsIn: [u] }'), where: ':5:22', message: /'out' is overridden again \(a duplicate of override 0\)/ },
  { name: 'unknown translation', text: ok.replace('memory: 64 KiB', 'memory: 64 KiB\n  translation: magic'), where: ':3:16', message: /machine\.translation/ },
  { name: 'missing machine', text: 'programs: []\n', where: '', message: /machine/ },
  { name: 'unknown mnemonic', text: ok.replace('halt', 'hlat'), where: ':7:7', message: /programs\.0\.source: unknown mnemonic 'hlat' \(did you mean 'halt'\?\)/ },
  { name: 'undefined label', text: ok.replace('halt', 'jmp nowhere'), where: ':7:11', message: /undefined symbol 'nowhere'/ },
  { name: 'program does not fit', text: ok.replace('at: 0', 'at: 0xFFF0'), where: ':4:9', message: /does not fit/ },
  { name: 'missing program file', text: 'machine:\n  memory: 64 KiB\nprograms:\n  - file: nothere.s\n', where: ':4:11', message: /programs\.0\.file: 'nothere\.s': cannot read it \(no such file\)/ },
  { name: 'error inside a program file', text: 'machine:\n  memory: 64 KiB\nprograms:\n  - file: p1.s\n', extra: { 'p1.s': '  .org 0x80\n  add r1, r2\n' }, where: 'p1.s:2:3', message: /'add' expects 3 operands/ },
  { name: 'both file and source', text: 'machine:\n  memory: 64 KiB\nprograms:\n  - file: p1.s\n    source: nop\n', where: ':4:5', message: /exactly one of `file` or `source`/ },
  { name: 'unknown mode', text: `${ok}psw: { mode: hyper }\n`, where: ':8:14', message: /unknown mode 'hyper'/ },
  { name: 'undefined symbol in psw', text: `${ok}psw: { pc: start }\n`, where: ':8:12', message: /undefined symbol 'start'/ },
  { name: 'bad register name', text: `${ok}registers: { r16: 1 }\n`, where: ':8:14', message: /register name/ },
  { name: 'unknown control register', text: `${ok}control: { gdtr: 1 }\n`, where: ':8:12', message: /control\.gdtr: unknown control register 'gdtr' \(profile classic has none\)/ },
  { name: 'unknown control register in expect', text: ok.replace('memory: 64 KiB', 'memory: 64 KiB\n  profile: x86-lite') + `expect:\n  control: { gdt9: 1 }\n`, where: ':10:14', message: /expect\.control\.gdt9: unknown control register 'gdt9' \(profile x86-lite has gdtr, idtr, / },
  { name: 'flags out of range', text: `${ok}psw: { flags: 16 }\n`, where: ':8:15', message: /psw\.flags/ },
  { name: 'unknown banked register', text: ok.replace('memory: 64 KiB', 'memory: 64 KiB\n  profile: arm') + `banks: { irq.r12: 1 }\n`, where: ':9:10', message: /banks\.irq\.r12: unknown banked register 'irq\.r12' \(profile arm has svc\.r13, svc\.r14, irq\.r13, / },
  { name: "a bank of the initial mode", text: ok.replace('memory: 64 KiB', 'memory: 64 KiB\n  profile: arm') + `banks: { svc.r13: 1 }\n`, where: ':9:10', message: /banks\.svc\.r13: 'svc\.r13' is a register of the initial mode svc: give it in `registers`/ },
  { name: 'TLB entries on a segment machine', text: `${ok}tlb: { entries: [{ slot: 0, vpn: 1, frame: 0x1000, perms: 15, pageBits: 12 }] }\n`, where: ':8:17', message: /tlb\.entries: TLB entries need a paging machine/ },
  { name: 'unknown timer field', text: `${ok}timer: { period: 5 }\n`, where: ':8:10', message: /timer\.period: unknown field/ },
  { name: 'unknown trap cause in expect', text: `${ok}expect:\n  traps: { pagefault: 1 }\n`, where: ':9:12', message: /unknown trap cause 'pagefault'/ },
  { name: 'memory block beyond memory', text: `${ok}memory:\n  - { at: 0xFFFE, words: [1] }\n`, where: ':9:11', message: /beyond memory/ },
  { name: 'odd hex bytes', text: `${ok}memory:\n  - { at: 0x100, bytes: "abc" }\n`, where: ':9:25', message: /odd number of hex digits/ },
  { name: 'negative steps', text: `${ok}steps: -3\n`, where: ':8:8', message: /steps/ },
];

describe('bad scenario input', () => {
  it.each(cases)('$name → exit 2 with a located message', async ({ text, extra, where, message }) => {
    const file = scenario(text, extra);
    const r = await cli('run', file);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toContain(where);
    expect(r.stderr).not.toMatch(/\n\s+at .*\(.*:\d+:\d+\)/);
  });

  it('control registers, flags and the profile byte are set and checked; the VMM kinds refuse a guest that sets control registers', async () => {
    const source = '.org 0x80\\nsgdt r1\\npushf r2\\nhalt';
    const text = `machine:\n  memory: 64 KiB\n  profile: x86-lite\nprograms:\n  - { at: 0, source: "${source}" }\npsw: { mode: r0, flags: 5, profileBits: 3 }\ncontrol: { gdtr: 0x2000 }\nexpect:\n  registers: { r1: 0x2000, r2: 0x05030000 }\n  psw: { flags: 5, profileBits: 3 }\n  control: { gdtr: 0x2000, cs: 8 }\n`;
    const file = scenario(text);
    const bare = await cli('run', file);
    expect(bare.stdout).toContain('expectations: all met');
    expect(bare.code).toBe(0);
    const wrong = await cli('run', scenario(text.replace('control: { gdtr: 0x2000, cs: 8 }', 'control: { gdtr: 0x3000 }')));
    expect(wrong.code).toBe(1);
    expect(wrong.stdout).toMatch(/│ control\.gdtr │ 12288 \(0x3000\) │ 8192 \(0x2000\) │/);
    const vmm = await cli('run', file, '--under', 'vmm');
    expect(vmm.code).toBe(2);
    expect(vmm.stderr).toMatch(/vmm cannot run '.*': it sets control registers, the timer, banked copies or TLB entries \(`control`, `timer`, `banks`, `tlb`\), and a VMM starts a guest's at their reset values; run it bare/);
  });

  it('banked copies are set and checked: after cps into irq its r13 is the copy given', async () => {
    const text = `machine:\n  memory: 64 KiB\n  profile: arm\nprograms:\n  - { at: 0, source: ".org 0x80\\ncps 1\\nmov r1, r13\\ncps 0\\nhalt" }\nregisters: { r13: 0x111 }\nbanks: { irq.r13: 0x222 }\nexpect:\n  registers: { r1: 0x222, r13: 0x111 }\n  banks: { irq.r13: 0x222, svc.r13: 0x111 }\n`;
    const r = await cli('run', scenario(text));
    expect(r.stdout).toContain('expectations: all met');
    expect(r.code).toBe(0);
    const wrong = await cli('run', scenario(text.replace('banks: { irq.r13: 0x222, svc', 'banks: { irq.r13: 0x333, svc')));
    expect(wrong.code).toBe(1);
    expect(wrong.stdout).toMatch(/│ banks\.irq\.r13 +│ 819 \(0x333\) +│ 546 \(0x222\) +│/);
  });

  it('TLB entries are loaded after the PSW and checked: a stated entry that the tables no longer hold serves the load; a bad slot or victim list is refused', async () => {
    // the tables map va 0x4000 to 0x5000; the stated (stale) entry maps it to 0x6000, where 0x77 lies
    const text = `machine:\n  memory: 256 KiB\n  translation: paging\n  paging: { geometry: x86-32, tlb: { entries: 8, ways: 2 } }\npageTables:\n  - name: pt\n    map:\n      - { va: 0, pa: 0, size: 16 KiB, perms: rwx }\n      - { va: 0x4000, pa: 0x5000, size: 4 KiB, perms: rw }\nprograms:\n  - { at: 0, source: ".org 0x80\\nld r1, 0x4000\\nhalt" }\nmemory:\n  - { at: 0x5000, words: [0x55] }\n  - { at: 0x6000, words: [0x77] }\npsw: { pc: 0x80, mode: s, pg: true, ptbr: pt }\ntlb: { entries: [{ slot: 0, vpn: 4, frame: 0x6000, perms: 0x1f, pageBits: 12 }] }\nexpect:\n  registers: { r1: 0x77 }\n`;
    const r = await cli('run', scenario(text));
    expect(r.stdout).toContain('expectations: all met');
    expect(r.code).toBe(0);
    const without = await cli('run', scenario(text.replace(/\ntlb: .*\n/, '\n')));
    expect(without.code).toBe(1);
    expect(without.stdout).toMatch(/│ registers\.r1 +│ 119 \(0x77\) +│ 85 \(0x55\) +│/);
    const badSlot = await cli('run', scenario(text.replace('slot: 0,', 'slot: 8,')));
    expect(badSlot.code).toBe(2);
    expect(badSlot.stderr).toMatch(/tlb\.entries\.0\.slot: slot 8 is outside the 8-entry TLB/);
    const badVictims = await cli('run', scenario(text.replace('pageBits: 12 }] }', 'pageBits: 12 }], victims: [0, 0, 2] }')));
    expect(badVictims.code).toBe(2);
    expect(badVictims.stderr).toMatch(/tlb\.victims: expected one victim per set: 4, got 3/);
  });

  it('the timer is set and checked: settimer changes its reload and count, gettimer reads the count', async () => {
    const text = `machine:\n  memory: 64 KiB\nprograms:\n  - { at: 0, source: ".org 0x80\\ngettimer r1\\nli r2, 500\\nsettimer r2\\nhalt" }\ntimer: { reload: 1000, count: 700, enabled: true }\nexpect:\n  registers: { r1: 700 }\n  timer: { reload: 500, count: 499, enabled: true }\n`;
    const r = await cli('run', scenario(text));
    expect(r.stdout).toContain('expectations: all met');
    expect(r.code).toBe(0);
    const wrong = await cli('run', scenario(text.replace('reload: 500', 'reload: 600')));
    expect(wrong.code).toBe(1);
    expect(wrong.stdout).toMatch(/│ timer\.reload +│ 600 +│ 500 +│/);
    const vmm = await cli('run', scenario(text), '--under', 'vmm');
    expect(vmm.code).toBe(2);
  });

  it('a shadow table pool that cannot hold one address space → exit 2, located at vmm.tables, saying what would do', async () => {
    const text = `machine:\n  memory: 256 KiB\n  translation: paging\n  paging: { geometry: x86-32 }\npageTables:\n  - name: kpt\n    map:\n      - { va: 0, pa: 0, size: 64 KiB, perms: rwx }\nprograms:\n  - { at: 0, source: ".org 0x80\\nhalt" }\npsw: { pc: 0x80, mode: s, pg: true, ptbr: kpt }\nvmm: { tables: 4 KiB }\n`;
    const r = await cli('run', scenario(text), '--under', 'shadow-eager');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/:12:16: vmm\.tables: the shadow table pool \[0x1000, 0x2000\) is full: it cannot hold one shadow address space \(give vmm\.tables more bytes\)/);
  });

  it('a missing scenario file → exit 2', async () => {
    const r = await cli('run', join(dir, 'does-not-exist.yaml'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/does-not-exist\.yaml: cannot read it \(no such file\)/);
  });

  it('a guest that loops forever stops at the budget: exit 1, and says so', async () => {
    const r = await cli('run', scenario(ok.replace('halt', 'loop: jmp loop') + 'steps: 1000\n'));
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/budget \(1000 instructions retired without stopping\)/);
  });

  it('a loop that the scenario expects to hit the budget is fine: exit 0', async () => {
    const r = await cli('run', scenario(ok.replace('halt', 'loop: jmp loop') + 'steps: 1000\nexpect: { end: budget }\n'));
    expect(r.code).toBe(0);
  });

  it('usage errors → exit 2', async () => {
    expect((await cli('frobnicate')).code).toBe(2);
    expect((await cli('run')).code).toBe(2);
    expect((await cli('run', 'x.yaml', '--steps', 'many')).code).toBe(2);
  });
});

const paged = (extra: string) =>
  `machine:\n  memory: 64 KiB\n  translation: paging\n  paging:\n    geometry: x86-32\n${extra}`;

const pagingCases: { name: string; text: string; where: string; message: RegExp }[] = [
  { name: 'unknown geometry', text: paged('').replace('geometry: x86-32', 'geometry: five-level'), where: ':5:15', message: /unknown geometry 'five-level'/ },
  {
    name: 'custom geometry whose bits do not add up past 32',
    text: paged('').replace('geometry: x86-32', 'geometry: { name: odd, indexBits: [20, 20], offsetBits: 12, entry: x86-32 }'),
    where: ':5:39',
    message: /machine\.paging\.geometry\.indexBits: index bits 20 \+ 20 and offset bits 12 make a 52-bit virtual address; at most 32/,
  },
  { name: 'unknown entry format', text: paged('').replace('geometry: x86-32', 'geometry: { name: odd, indexBits: [10, 10], offsetBits: 12, entry: vax }'), where: ':5:72', message: /unknown entry format 'vax'/ },
  { name: 'page image of the wrong length', text: paged('memory:\n  - { page: 3, bytes: "00 11" }\n'), where: ':7:23', message: /exactly one page \(4096 bytes\), got 2 bytes/ },
  { name: 'mapping not page-aligned', text: paged('pageTables:\n  - name: t\n    map:\n      - { va: 0x1001, pa: 0x2000, size: 4096, perms: rw }\n'), where: ':9:9', message: /multiples of the 4096-byte page/ },
  { name: 'mapping past the VA space', text: paged('pageTables:\n  - name: t\n    map:\n      - { va: 0xfffff000, pa: 0x2000, size: 8192, perms: rw }\n'), where: ':9:9', message: /runs past the 32-bit virtual address space of geometry 'x86-32'/ },
  { name: 'mapping that starts beyond memory', text: paged('pageTables:\n  - name: t\n    map:\n      - { va: 0, pa: 0x100000, size: 4096 }\n'), where: ':9:9', message: /maps the frames \[0x100000, 0x101000\), which run past physical memory \(0x10000 bytes\)/ },
  { name: 'bad permission letters', text: paged('pageTables:\n  - name: t\n    map:\n      - { va: 0, pa: 0, size: 4096, perms: rwz }\n'), where: ':9:44', message: /permission letters/ },
  { name: 'page tables on a segment machine', text: 'machine:\n  memory: 64 KiB\npageTables:\n  - { name: t }\n', where: ':4:3', message: /need a machine whose translation includes paging/ },
];

describe('bad paging input', () => {
  it.each(pagingCases)('$name → exit 2 with a located message', async ({ text, where, message }) => {
    const r = await cli('run', scenario(text));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toContain(where);
  });

  it('walk: an address wider than the VA space → exit 2', async () => {
    const r = await cli('walk', 'scenarios/paging/tiny-exercise.yaml', '0x8000');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/wider than the 15-bit virtual address space/);
  });

  it('walk: a malformed address → exit 2', async () => {
    const r = await cli('walk', 'scenarios/paging/tiny-exercise.yaml', '12z');
    expect(r.code).toBe(2);
  });
});

describe('more bad input', () => {
  it.each([
    { name: 'an empty file', text: '', message: /expected a scenario: a YAML mapping with a `machine` field .*; found an empty document/ },
    { name: 'a list at the top', text: '- a\n- b\n', message: /expected a scenario: .*; found a list/ },
    { name: 'a duplicate key', text: 'machine:\n  memory: 64 KiB\n  memory: 32 KiB\n', message: /:3:3: YAML: Map keys must be unique/ },
    { name: 'tabs', text: 'machine:\n\tmemory: 64 KiB\n', message: /:2:1: YAML: Tabs/ },
    { name: 'overlapping programs', text: 'machine:\n  memory: 64 KiB\nprograms:\n  - { at: 0x100, source: "nop" }\n  - { at: 0x100, source: "halt" }\n', message: /:5:11: programs\.1\.at: program 'program 1' bytes \[0x100, 0x108\) overlap program 'program 0'/ },
    { name: 'a fractional budget', text: 'machine: { memory: 64 KiB }\nsteps: 5.5\n', message: /:2:8: steps: expected int/ },
    { name: 'a register value over 32 bits', text: 'machine: { memory: 64 KiB }\nregisters: { r1: 0x1ffffffff }\n', message: /:2:18: registers\.r1/ },
  ])('$name → exit 2, located', async ({ text, message }) => {
    const r = await cli('run', scenario(text));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });
});
