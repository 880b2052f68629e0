// Test helpers: raw entry writes (no production encoders), so tests state tables bit by bit.

import { expect } from 'vitest';
import { PhysicalMemory } from '../../src/mmu/memory.js';

export const MiB = 1 << 20;

/** A fresh physical memory of `size` bytes (frames allocated lazily). */
export function memory(size = 64 * MiB): PhysicalMemory {
  return new PhysicalMemory(size);
}

/** Writes a 4-byte entry. */
export function put32(mem: PhysicalMemory, pa: number, v: number): void {
  mem.write32(pa, v | 0);
}

/** Writes an 8-byte entry as two halves, low word first. */
export function put64(mem: PhysicalMemory, pa: number, lo: number, hi: number): void {
  mem.write32(pa, lo | 0);
  mem.write32(pa + 4, hi | 0);
}

export function get64(mem: PhysicalMemory, pa: number): { lo: number; hi: number } {
  return { lo: mem.read32(pa) >>> 0, hi: mem.read32(pa + 4) >>> 0 };
}

/** Returns a bump allocator of page-aligned table frames starting at `base`. */
export function bumpAllocator(base: number, page = 4096): () => number {
  let next = base;
  return () => {
    const a = next;
    next += page;
    return a;
  };
}

/** Every OR-combination of the given single-bit flags (2^n values). */
export function combos(flags: number[]): number[] {
  const out: number[] = [];
  for (let m = 0; m < 1 << flags.length; m++) out.push(flags.reduce((acc, f, i) => ((m >> i) & 1 ? acc | f : acc), 0));
  return out;
}

/**
 * expect(got).toEqual(want) for plain data, labelled by `label()`; compared as JSON first so an
 * exhaustive test pays for the matcher and the label only on a mismatch.
 */
export function agree(label: () => string, got: unknown, want: unknown): void {
  if (JSON.stringify(got) !== JSON.stringify(want)) expect(got, label()).toEqual(want);
}
