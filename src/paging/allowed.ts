// The allowed set (docs/paging.md): after a page-table change, an access may use any translation
// the tables held for that address since the last invalidation covering it. Given the table
// contents at each change since then, this computes that set with side-effect-free walks.

import type { AccessKind, ReadBus, Switches, WalkFaultKind } from './bus.js';
import type { Geometry } from './geometry.js';
import { walk } from './walk.js';

/** One member of an allowed set: a translation with its permissions, or the fault a state gave. */
export type Translation =
  | { readonly ok: true; readonly pa: number; readonly perms: number; readonly pageBits: number }
  | { readonly ok: false; readonly kind: WalkFaultKind; readonly depth: number };

/** What an access actually did: the physical address it used, or the fault it raised. */
export type Outcome = { readonly ok: true; readonly pa: number } | { readonly ok: false; readonly kind: WalkFaultKind; readonly depth?: number };

/**
 * The deduplicated translations of `va` for (access, user, switches) under each table state in
 * `images` (oldest first, the last the current one), in first-seen order. Nothing is written.
 */
export function allowedTranslations(
  g: Geometry,
  images: readonly ReadBus[],
  ptbr: number,
  va: number,
  access: AccessKind,
  user: boolean,
  switches: Switches,
): Translation[] {
  const seen = new Map<string, Translation>();
  for (const image of images) {
    const t = translationOf(g, image, ptbr, va, access, user, switches);
    const key = t.ok ? `ok:${t.pa}:${t.perms}:${t.pageBits}` : `fault:${t.kind}:${t.depth}`;
    if (!seen.has(key)) seen.set(key, t);
  }
  return [...seen.values()];
}

function translationOf(g: Geometry, image: ReadBus, ptbr: number, va: number, access: AccessKind, user: boolean, switches: Switches): Translation {
  const r = walk(g, image, ptbr, va, { access, user, switches, trace: false });
  return r.ok ? { ok: true, pa: r.pa, perms: r.perms, pageBits: r.pageBits } : { ok: false, kind: r.fault.kind, depth: r.fault.depth };
}

/**
 * Whether `used` is a member of `set`: the same physical address, or the same fault kind (and
 * depth, when `used` gives one).
 */
export function isAllowed(used: Outcome, set: readonly Translation[]): boolean {
  return set.some((t) => {
    if (used.ok || t.ok) return used.ok && t.ok && used.pa === t.pa;
    return used.kind === t.kind && (used.depth === undefined || used.depth === t.depth);
  });
}
