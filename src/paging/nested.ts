// Stage 2 of nested paging over a real host table: the gPA -> hPA translator the walker's
// `stage2` callback calls (the same walker, over the host geometry), and the side-effect-free
// two-stage inspection that shows, under each guest step, the stage-2 walk that located it.
//
// Stage 2 checks every access as a user access with WP and NXE on, whatever the guest's mode
// and switches (as RISC-V's G-stage treats every guest access as a U-mode access): host
// entries must grant U, W for writes (guest A/D updates write the guest's table pages) and
// execute for fetches.

import { FETCH, READ, WRITE, type AccessKind, type PhysicalBus, type ReadBus, type Switches } from './bus.js';
import type { Geometry } from './geometry.js';
import { PERM_VALUES, RULES } from './rules.js';
import { tableAccessFor, walk, walkInto, WalkState, type Stage2, type WalkOptions, type WalkResult } from './walk.js';

/** The switches every stage-2 walk runs under. */
export const STAGE2_SWITCHES: Switches = { wp: true, nxe: true, sum: false };

/** A stage-2 success, reused by every translation of one translator. */
class Stage2Hit {
  readonly ok = true as const;
  pa = 0;
  refs = 0;
  adWrites = 0;
}

/**
 * gPA -> hPA through the host table at `root` (host-physical) in `bus`, walked with `walkInto`
 * into one reused state: no allocation per translation (a fault allocates its value). With
 * `updateAD` the host's A/D bits are set by its own rules on every successful stage-2 walk,
 * even when the guest walk it serves then faults (each stage-2 walk is an access of its own).
 */
export class Stage2Walker {
  /** one walk state per access kind, so each keeps its decoded options */
  private readonly states: readonly WalkState[];
  /** host combined permissions of the last 'final' translation (PERM_*) */
  finalPerms = 0;
  private readonly hit = new Stage2Hit();
  private readonly options: readonly WalkOptions[];

  constructor(
    readonly geometry: Geometry,
    private readonly bus: ReadBus | PhysicalBus,
    public root: number,
    updateAD: boolean,
  ) {
    this.states = [READ, WRITE, FETCH].map(() => new WalkState(geometry));
    this.options = ([READ, WRITE, FETCH] as const).map((access): WalkOptions => ({ access, user: true, switches: STAGE2_SWITCHES, updateAD }));
  }

  /** The callback for the walker's `stage2` option. */
  readonly translate: Stage2 = (address, use, access) => {
    const s = this.states[access];
    if (!walkInto(s, this.bus, this.root, address, this.options[access])) {
      return { ok: false, fault: s.fault(), refs: s.refs, adWrites: s.adWrites };
    }
    if (use === 'final') this.finalPerms = s.perms;
    const hit = this.hit;
    hit.pa = s.pa;
    hit.refs = s.refs;
    hit.adWrites = s.adWrites;
    return hit;
  };
}

/**
 * For each host combined-permission value p (0..PERM_VALUES-1), the accesses stage 2 allows
 * under `g`'s rules: bit a set for access kind a (READ, WRITE, FETCH).
 */
export function stage2AccessMasks(g: Geometry): Uint8Array {
  const rules = RULES[g.rules];
  const masks = new Uint8Array(PERM_VALUES);
  for (let p = 0; p < PERM_VALUES; p++) {
    for (const access of [READ, WRITE, FETCH] as const) if (rules.permits(p, access, true, STAGE2_SWITCHES)) masks[p] |= 1 << access;
  }
  return masks;
}

/** Both stages of one address, side-effect free. */
export interface Walk2D {
  /** the guest walk; its steps' hostAddress is where each guest entry was read */
  readonly guest: WalkResult;
  /**
   * tables[i]: the stage-2 walk that located guest step i's entry (one more, failed, when
   * stage 2 refused the next table's address)
   */
  readonly tables: readonly WalkResult[];
  /** the stage-2 walk of the final guest-physical address; absent when the guest walk stopped before it */
  readonly final?: WalkResult;
  /** memory references: the guest's entry reads, the stage-2 walks' entry reads, their sum */
  readonly refs: { readonly guest: number; readonly host: number; readonly total: number };
}

export interface Walk2DOptions {
  readonly access?: AccessKind;
  readonly user?: boolean;
  readonly switches?: Switches;
  /** size of guest-physical memory (guest tables and frames must lie below it); default 2^32 */
  readonly guestSize?: number;
}

/**
 * Walks `va` through the guest's tables (`guest` geometry, root `guestRoot`, guest-physical)
 * with every table address and the final address translated by traced stage-2 walks of the
 * host table (`host` geometry, root `hostRoot`, host-physical) in `bus`. Nothing is written,
 * but stage 2 is asked for table entries as an A/D-updating walk would ask (tableAccessFor),
 * so the outcome is the paging unit's.
 */
export function walk2D(guest: Geometry, host: Geometry, bus: ReadBus, guestRoot: number, hostRoot: number, va: number, o: Walk2DOptions = {}): Walk2D {
  const tables: WalkResult[] = [];
  let final: WalkResult | undefined;
  let hostRefs = 0;
  const stage2: Stage2 = (address, use, access) => {
    const r = walk(host, bus, hostRoot, address, { access, user: true, switches: STAGE2_SWITCHES });
    hostRefs += r.refs;
    if (use === 'table') tables.push(r);
    else final = r;
    return r;
  };
  const tableAccess = tableAccessFor(guest, true);
  const g = walk(guest, bus, guestRoot, va, { access: o.access, user: o.user, switches: o.switches, stage2, tableAccess, physicalSize: o.guestSize });
  const refs = { guest: g.refs - hostRefs, host: hostRefs, total: g.refs };
  return final ? { guest: g, tables, final, refs } : { guest: g, tables, refs };
}

