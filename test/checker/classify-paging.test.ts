// The classifier with paging on: page tables, PTBR and a filled TLB in every state, the
// relocation permuting frames (tables, PTBR and TLB rewritten to match). invlpg and tlbflush
// drop valid entries (control-sensitive), getptbr shows the real root (location-sensitive),
// TLB fills never count; sabotaged relocations turn the verdicts they should.

import { describe, expect, it } from 'vitest';
import { classify, classifyInstruction, executeOnce, replayWitness, type Classification, type InstructionClass, type Witness } from '../../src/checker/classify/classify.js';
import { controlDifferences, stateDifferences, tlbDrops } from '../../src/checker/classify/compare.js';
import { pagingGeometry } from '../../src/checker/classify/paging.js';
import { randomSample } from '../../src/checker/classify/states.js';
import { PROFILES } from '../../src/isa/profiles/index.js';
import type { Profile } from '../../src/isa/profile.js';

const profile = (name: string): Profile => PROFILES.get(name)!;
const x86 = pagingGeometry('x86-32');
let classic: Classification | undefined;
const paged = (): Classification => (classic ??= classify(profile('classic'), { paging: 'x86-32' }));
const of = (c: Classification, name: string): InstructionClass => c.instructions.find((i) => i.name === name)!;
const one = (p: string, name: string, options = {}) => classifyInstruction(profile(p), profile(p).instructions.find((d) => d.mnemonic === name)!, { paging: 'x86-32', ...options });

describe('classic under paging', () => {
  it('invlpg and tlbflush are control-sensitive: their witnesses drop a valid TLB entry', () => {
    for (const n of ['invlpg', 'tlbflush']) {
      const w = of(paged(), n).witnesses.control!;
      expect(w, n).not.toBeNull();
      expect(w.differences.length, n).toBeGreaterThan(0);
      for (const d of w.differences) expect(d, n).toMatchObject({ component: expect.stringMatching(/^tlb\[0x[0-9a-f]+\]$/), b: 'dropped' });
    }
  });

  it('getptbr is location-sensitive (it reads the relocated root), setptbr control- and location-sensitive; all privileged, so both preconditions hold', () => {
    const c = paged();
    expect(of(c, 'getptbr')).toMatchObject({ privileged: true, locationSensitive: true, controlSensitive: false, userSensitive: false });
    expect(of(c, 'getptbr').witnesses.location!.differences).toEqual([expect.objectContaining({ component: expect.stringMatching(/^regs\.r\d+$/) })]);
    expect(of(c, 'setptbr')).toMatchObject({ privileged: true, controlSensitive: true, locationSensitive: true });
    expect(c.instructions.filter((i) => i.sensitive).map((i) => i.name)).toEqual(['lpsw', 'spsw', 'settimer', 'setptbr', 'getptbr', 'invlpg', 'tlbflush']);
    expect(c.theorems).toEqual({ t1: { precondition: true, violators: [] }, t3: { precondition: true, violators: [] } });
    expect(c).toMatchObject({ translation: 'paging', paging: { geometry: 'x86-32' } });
  });

  it('loads, stores and the rest stay innocuous though they fill the TLB and set A/D bits', () => {
    for (const n of ['ld', 'ldb', 'st', 'stb', 'add', 'jmp']) {
      const i = of(paged(), n);
      expect(i.innocuous, n).toBe(true);
      expect(i.evidence.untrapped, n).toBeGreaterThan(50);
    }
  });

  it('a fill, and the eviction it makes, is no change of R; an invalidation is', () => {
    const p = profile('classic');
    const ld = p.instructions.find((d) => d.mnemonic === 'ld')!;
    let fills = 0;
    for (let i = 0; i < 40; i++) {
      const s = randomSample(p, ld, 3, i, x86).state;
      const run = executeOnce(p, s, x86);
      if (run.cause !== undefined) continue;
      if ((run.after.tlb?.entries.length ?? 0) !== (s.tlb?.entries.length ?? 0) || JSON.stringify(run.after.tlb) !== JSON.stringify(s.tlb)) fills++;
      expect(tlbDrops(s.tlb, run.after.tlb)).toEqual([]);
      expect(controlDifferences(s, run.after, { modes: p.modes, control: [], resource: [], banked: [] })).toEqual([]);
    }
    expect(fills).toBeGreaterThan(5);
    const before = { entries: [{ slot: 0, vpn: 1, frame: 0x1000, perms: 5, pageBits: 12 }, { slot: 1, vpn: 2, frame: 0x2000, perms: 5, pageBits: 12 }], victims: [0] };
    const evicted = { entries: [{ slot: 0, vpn: 9, frame: 0x9000, perms: 5, pageBits: 12 }, { slot: 1, vpn: 2, frame: 0x2000, perms: 5, pageBits: 12 }], victims: [1] };
    expect(tlbDrops(before, evicted)).toEqual([]);
    expect(tlbDrops(before, { entries: [before.entries[1]], victims: [0] })).toEqual([before.entries[0]]);
  });

  it('two results differ in the TLB only where both cache a page differently or one dropped a page cached before — never by a fill', () => {
    const p = profile('classic');
    const s = randomSample(p, p.instructions.find((d) => d.mnemonic === 'nop')!, 1, 0, x86).state;
    const names = { modes: p.modes, control: [], resource: [], banked: [] };
    const entry = { slot: 5, vpn: 0x7, frame: 0x3000, perms: 5, pageBits: 12 };
    const filled = { ...s, tlb: { ...s.tlb!, entries: [...s.tlb!.entries, entry] } };
    expect(stateDifferences(s, filled, names, s)).toEqual([]);
    expect(stateDifferences(filled, { ...filled, tlb: { ...filled.tlb, entries: filled.tlb.entries.map((e) => (e === entry ? { ...e, frame: 0x4000 } : e)) } }, names, s)).toEqual([{ component: 'tlb[0x7]', a: 'frame 0x3000 perms 0x5', b: 'frame 0x4000 perms 0x5' }]);
    const dropped = s.tlb!.entries[0];
    expect(stateDifferences(s, { ...s, tlb: { ...s.tlb!, entries: s.tlb!.entries.slice(1) } }, names, s)).toEqual([{ component: `tlb[0x${dropped.vpn.toString(16)}]`, a: expect.stringMatching(/^frame /), b: 'not cached' }]);
  });

  it('witnesses replay', () => {
    for (const n of ['getptbr', 'invlpg', 'spsw']) {
      const ws = Object.values(of(paged(), n).witnesses).filter((w): w is Witness => w !== null);
      for (const w of ws) expect(replayWitness(profile('classic'), n, w, { paging: 'x86-32' }), n).toEqual(w.differences);
    }
  });

  it('the same seed gives the same classification', () => {
    const a = one('classic', 'getptbr', { seed: 5, states: 40 });
    expect(one('classic', 'getptbr', { seed: 5, states: 40 })).toEqual(a);
    expect(JSON.stringify(one('classic', 'getptbr', { seed: 6, states: 40 }))).not.toBe(JSON.stringify(a));
  });
});

describe('sabotaged paging relocations', () => {
  it('one that forgets to rewrite the TLB makes plain loads look location-sensitive (the twin reads through guest frame numbers)', () => {
    expect(one('classic', 'ld').locationSensitive).toBe(false);
    expect(one('classic', 'ld', { moves: { permute: true, tables: true, tlb: false, ptbr: true } }).locationSensitive).toBe(true);
  });

  it('one that forgets to permute lets getptbr go undetected', () => {
    expect(one('classic', 'getptbr', { moves: { permute: false, tables: true, tlb: true, ptbr: true } }).locationSensitive).toBe(false);
  });

  it('one that forgets the tables turns loads location-sensitive', () => {
    // most twins walk the old tables into a fault (no evidence); 400 states hold witnesses under several seeds
    expect(one('classic', 'ld', { states: 400, moves: { permute: true, tables: false, tlb: true, ptbr: true } }).locationSensitive).toBe(true);
  });
});

describe('the exhaustive mode under paging', () => {
  it('every state of the tiny configuration with paging on: the same classes and theorems as random paged states, witnesses that replay, its bounds stated', () => {
    const exhaustive = classify(profile('classic'), { paging: 'x86-32', exhaustive: true });
    const key = (c: InstructionClass) => [c.privileged, c.controlSensitive, c.locationSensitive, c.modeSensitive, c.substitutionSensitive, c.userSensitive].join();
    expect(exhaustive.instructions.map((c) => [c.name, key(c)])).toEqual(paged().instructions.map((c) => [c.name, key(c)]));
    expect(exhaustive.theorems).toEqual(paged().theorems);
    expect(exhaustive.exhaustive?.paging).toMatchObject({ geometry: 'x86-32', pages: 12, tlbFilled: ['read at 0x100', 'read at 0x1000', 'write at 0x1000'] });
    for (const n of ['setptbr', 'getptbr', 'invlpg', 'tlbflush']) {
      const i = of(exhaustive, n);
      const w = (i.witnesses.control ?? i.witnesses.location)!;
      expect(w, n).not.toBeNull();
      expect(replayWitness(profile('classic'), n, w, { paging: 'x86-32', exhaustive: true }), n).toEqual(w.differences);
    }
  });
});

describe('bad paging options', () => {
  it('an unknown or unusable geometry is a RangeError', () => {
    expect(() => classify(profile('classic'), { paging: 'vax' })).toThrow(/unknown geometry 'vax'/);
    expect(() => classify(profile('classic'), { paging: 'tiny' })).toThrow(/4096-byte pages/);
  });
});
