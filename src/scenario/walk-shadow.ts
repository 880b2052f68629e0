// `walk --view shadow`: an address of a paging guest seen three ways side by side, under the
// shadow-paging VMM — the guest's own walk (gVA -> gPA, its tables in guest-physical memory),
// the physmap (gPA -> hPA), and the shadow entry the real MMU would use (gVA -> hPA) in the
// space of the guest's root and view — and whether they agree. Side-effect free; the VMM's host
// is built as `run --under shadow-eager` builds it (and run first with --after-run, without it
// nothing is filled yet).

import { walk } from '../paging/index.js';
import { pagerSwitches } from '../isa/machine.js';
import { decodeShadowEntry, entryGrants, leafProblem, type DecodedEntry, type ShadowView as SpaceView } from '../shadow/index.js';
import type { ShadowMemory } from '../vmm/index.js';
import type { Scenario } from './model.js';
import { walkedMonitor, type VmmWalkOptions } from './under.js';
import { stepJson, type StepJson } from './walk-json.js';
import { isUserMode } from '../isa/profile.js';

/** One address three ways, and whether they agree. */
export interface ShadowWalk {
  readonly va: number;
  readonly access: string;
  readonly mode: string;
  /** the guest's walk: its steps and the guest-physical address, or its fault */
  readonly guest: { readonly steps: readonly StepJson[]; readonly result: { readonly ok: true; readonly gpa: number } | { readonly ok: false; readonly fault: { readonly kind: string; readonly depth: number } } };
  /** where the physmap puts the guest page (absent when the guest walk faults; hpa -1: not backed yet) */
  readonly physmap?: { readonly gpa: number; readonly hpa: number };
  /** the shadow entry for the page in the space of the guest's root and view (absent: not filled) */
  readonly shadow?: DecodedEntry;
  /**
   * agree: the shadow entry passes the coherence check (shadow/coherence.ts: the physmap's frame,
   * no access the guest's tables or its D bit do not give the view); not filled: the next access
   * is a hidden fault; true fault: the guest's tables forbid it (and the shadow does not allow it);
   * disagree: the shadow says something the guest and physmap do not (a stale or wrong entry);
   * vmm region: the VMM's own page, supervisor-only (address space compression): every guest
   * access here faults and runs on the virtual CPU, over the guest's page
   */
  readonly verdict: 'agree' | 'not filled' | 'true fault' | 'disagree' | 'vmm region';
}

export interface ShadowWalkView {
  readonly geometry: string;
  /** the guest's root (guest-physical) and the space walked: its root table in host memory, and its view */
  readonly ptbr: number;
  readonly view: SpaceView;
  readonly spaceRoot?: number;
  readonly walks: readonly ShadowWalk[];
}

/**
 * The shadow view of `vas` for scenario `s` (a paging guest): builds the shadow-paging host,
 * runs it first for `steps` instructions when `afterRun`, and looks each address up from `ptbr`
 * (default: the vPSW's) in the view of `user` (default: the vPSW's mode). Throws InputError when
 * shadow paging cannot host the guest.
 */
export function shadowWalkView(s: Scenario, vas: readonly number[], o: VmmWalkOptions): ShadowWalkView {
  const m = walkedMonitor(s, 'shadow-eager', o);
  const vcpu = m.vms[0].vcpu;
  const mem = m.vms[0].memory as ShadowMemory;
  const g = mem.geometry;
  const user = o.user ?? isUserMode(vcpu.compiled, vcpu.mode);
  const ptbr = o.ptbr ?? vcpu.ptbr;
  const view: SpaceView = user ? 'user' : 'kernel';
  const sw = pagerSwitches(vcpu.status);
  const space = mem.shadowSpaces().find((sp) => {
    const r = mem.switchesOf(sp);
    return sp.guestRoot === ptbr && sp.view === view && r.wp === sw.wp && r.nxe === sw.nxe && r.sum === sw.sum;
  });
  const page = mem.physmap.pageBytes;
  const hostPageOf = mem.hostPageOf;
  const walks = vas.map((va): ShadowWalk => {
    const w = walk(g, mem.guestMemory, ptbr, va, { access: o.access, user, switches: sw, physicalSize: mem.guestBytes });
    const entry = space?.entryFor(va);
    const shadow = entry && decodeShadowEntry(g, entry);
    const wrong = space && shadow && leafProblem(space, { geometry: g, memory: mem.guestMemory, root: ptbr, switches: sw }, mem.guestBytes, hostPageOf, va - (va % page), entry!);
    const vmms = shadow !== undefined && !entryGrants(g, entry!).user;
    const head = { va, access: ['read', 'write', 'fetch'][o.access], mode: user ? 'user' : 'supervisor', ...(shadow ? { shadow } : {}) };
    if (!w.ok) {
      return { ...head, guest: { steps: w.steps.map(stepJson), result: { ok: false, fault: { kind: w.fault.kind, depth: w.fault.depth } } }, verdict: vmms ? 'vmm region' : wrong ? 'disagree' : 'true fault' };
    }
    const gpa = w.pa - (w.pa % page);
    const verdict = !shadow ? 'not filled' : vmms ? 'vmm region' : wrong ? 'disagree' : 'agree';
    return { ...head, guest: { steps: w.steps.map(stepJson), result: { ok: true, gpa: w.pa } }, physmap: { gpa, hpa: hostPageOf(gpa) }, verdict };
  });
  return { geometry: g.name, ptbr, view, ...(space ? { spaceRoot: space.root } : {}), walks };
}
