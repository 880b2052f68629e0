import { describe, expect, it } from 'vitest';
import { allowedTranslations, GEOMETRIES, isAllowed, map, READ, WRITE, type Translation } from '../../src/paging/index.js';
import { bumpAllocator, memory, put32 } from './helpers.js';

const g = GEOMETRIES['x86-32'];
const SW = { wp: true, nxe: false, sum: false };
const VA = 0x00401000;

/** x86-32 tables with VA mapped user-writable to 0x5000; returns memory, root and the PTE address. */
function setup() {
  const mem = memory();
  const alloc = bumpAllocator(0x100000);
  const root = alloc();
  map(g, mem, root, VA, 0x5000, 0x1000, { write: true, user: true }, alloc);
  const pte = 0x101000 + 1 * 4;
  expect(mem.read32(pte) >>> 12).toBe(5);
  return { mem, root, pte };
}

describe('allowed set (SPEC §2.4)', () => {
  it('holds every translation the tables held since the last invalidation, deduplicated, oldest first', () => {
    const { mem, root, pte } = setup();
    const images = [mem.image()];
    put32(mem, pte, 0x6000 | 7);
    images.push(mem.image());
    put32(mem, pte, 0x5000 | 7);
    images.push(mem.image());
    put32(mem, pte, 0);
    images.push(mem.image());
    const set = allowedTranslations(g, images, root, VA + 0x10, READ, true, SW);
    expect(set).toEqual<Translation[]>([
      { ok: true, pa: 0x5010, perms: 15, pageBits: 12 },
      { ok: true, pa: 0x6010, perms: 15, pageBits: 12 },
      { ok: false, kind: 'page', depth: 1 },
    ]);
    expect(isAllowed({ ok: true, pa: 0x5010 }, set)).toBe(true);
    expect(isAllowed({ ok: true, pa: 0x6010 }, set)).toBe(true);
    expect(isAllowed({ ok: true, pa: 0x7010 }, set)).toBe(false);
    expect(isAllowed({ ok: false, kind: 'page' }, set)).toBe(true);
    expect(isAllowed({ ok: false, kind: 'page', depth: 0 }, set)).toBe(false);
    expect(isAllowed({ ok: false, kind: 'protection' }, set)).toBe(false);
  });

  it('permissions are per state: a write may succeed on the old writable mapping or fault on the new read-only one', () => {
    const { mem, root, pte } = setup();
    const images = [mem.image()];
    put32(mem, pte, 0x5000 | 5);
    images.push(mem.image());
    const set = allowedTranslations(g, images, root, VA, WRITE, true, SW);
    expect(set.map((t) => (t.ok ? t.pa : t.kind))).toEqual([0x5000, 'protection']);
    expect(allowedTranslations(g, images.slice(1), root, VA, WRITE, true, SW).map((t) => (t.ok ? t.pa : t.kind))).toEqual(['protection']);
  });

  it('a single current state gives exactly the fresh walk', () => {
    const { mem, root } = setup();
    expect(allowedTranslations(g, [mem.image()], root, VA, READ, false, SW)).toHaveLength(1);
  });

  it('computing the set writes nothing', () => {
    const { mem, root } = setup();
    const before = mem.hash();
    allowedTranslations(g, [mem], root, VA, WRITE, true, SW);
    expect(mem.hash()).toBe(before);
  });
});
