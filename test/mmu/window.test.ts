import { describe, expect, it } from 'vitest';
import { TranslationWindow } from '../../src/mmu/window.js';

describe('TranslationWindow', () => {
  it('covers nothing until opened', () => {
    const w = new TranslationWindow();
    for (const va of [0, 1, 0x1000]) expect(w.covers(va, -1, -1)).toBe(false);
    expect(w.covers(0, 0, 0)).toBe(false);
  });

  it('covers exactly [lo, hi) under the generations it was opened with', () => {
    const w = new TranslationWindow();
    const frame = new Int32Array(1024);
    w.open(0x2010, 0x3000, 0x9010, frame, 0x10, 7, 3);
    expect(w.covers(0x2010, 7, 3)).toBe(true);
    expect(w.covers(0x2fff, 7, 3)).toBe(true);
    expect(w.covers(0x200f, 7, 3)).toBe(false);
    expect(w.covers(0x3000, 7, 3)).toBe(false);
    expect(w.covers(0x2010, 8, 3)).toBe(false); // translation state changed
    expect(w.covers(0x2010, 7, 4)).toBe(false); // a frame was replaced or an epoch closed
  });

  it('maps a covered address to its word and byte in the frame', () => {
    const w = new TranslationWindow();
    const frame = new Int32Array(1024);
    w.open(0x2010, 0x3000, 0x9010, frame, 0x10, 0, 0);
    expect(w.byteOffset(0x2010)).toBe(0x10);
    expect(w.wordIndex(0x2010)).toBe(4);
    expect(w.byteOffset(0x2ffc)).toBe(0xffc);
    expect(w.wordIndex(0x2ffc)).toBe(1023);
    expect(w.frame).toBe(frame);
  });

  it('close makes it cover nothing', () => {
    const w = new TranslationWindow();
    w.open(0, 0x1000, 0, new Int32Array(1024), 0, 1, 1);
    w.close();
    expect(w.covers(0, 1, 1)).toBe(false);
    expect(w.covers(0xffc, 1, 1)).toBe(false);
  });
});
