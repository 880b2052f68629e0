// The walk view: pick an address space and a virtual address, and see the address go down the
// guest's tables (each step's entry, the bits that decided it highlighted), through the physmap,
// to its shadow entry — `walk --json` (the shadow view where the run had shadow paging).

import type { ShadowWalk } from '../../scenario/walk-shadow.js';
import type { AddressWalk, StepJson, WalkData } from '../../scenario/walk.js';
import { el, hex, section, table } from './dom.js';

/** One address space of the walks: the guest root, the view (shadow walks), and its addresses. */
export interface WalkSpace {
  readonly label: string;
  readonly ptbr: number;
  readonly view?: string;
  readonly walks: readonly (AddressWalk | ShadowWalk)[];
}

/** The address spaces walked, in the order of the records. */
export function walkSpaces(records: readonly WalkData[]): WalkSpace[] {
  return records.map((w) =>
    w.shadow
      ? { label: `guest root ${hex(w.shadow.ptbr)}, ${w.shadow.view} view`, ptbr: w.shadow.ptbr, view: w.shadow.view, walks: w.shadow.walks }
      : { label: `root ${hex(w.ptbr ?? 0)}`, ptbr: w.ptbr ?? 0, walks: w.walks },
  );
}

const stepsOf = (w: AddressWalk | ShadowWalk): readonly StepJson[] => ('guest' in w ? w.guest.steps : w.steps);

/** The walk section; `onWalk` is told each walk shown (to highlight its path in the trees). */
export function walkSection(records: readonly WalkData[], state: string, onWalk: (space: WalkSpace, w: AddressWalk | ShadowWalk) => void): HTMLElement {
  const spaces = walkSpaces(records);
  const spacePick = el('select', { id: 'walk-space', 'aria-label': 'address space' }, ...spaces.map((s, i) => el('option', { value: i }, s.label)));
  const vaPick = el('select', { id: 'walk-va', 'aria-label': 'virtual address' });
  const panel = el('div', { id: 'walk-panel' });
  const fillVas = () => vaPick.replaceChildren(...spaces[Number(spacePick.value)].walks.map((w, i) => el('option', { value: i }, hex(w.va))));
  const show = () => {
    const space = spaces[Number(spacePick.value)];
    const w = space.walks[Number(vaPick.value)];
    if (!w) return;
    panel.replaceChildren(...walkPanel(w));
    onWalk(space, w);
  };
  spacePick.addEventListener('change', () => {
    fillVas();
    show();
  });
  vaPick.addEventListener('change', show);
  fillVas();
  const s = section('walk', 'Walk an address', el('p', { class: 'controls' }, 'address space ', spacePick, ' virtual address ', vaPick, ` (the pages the guest's tables map; ${state})`), panel);
  queueMicrotask(show);
  return s;
}

function walkPanel(w: AddressWalk | ShadowWalk): HTMLElement[] {
  const steps = stepsOf(w);
  const fault = 'guest' in w ? (w.guest.result.ok ? undefined : w.guest.result.fault) : w.result.ok ? undefined : w.result.fault;
  const rows = steps.map((st, i) => [st.depth, st.index, hex(st.entryAddress), st.entryHex, flagChips(st, deciding(st, i === steps.length - 1, w, fault?.kind)), st.next >= 0 ? `${st.role} ${hex(st.next)}` : st.role]);
  const out = [el('h3', {}, `va ${hex(w.va)} (${w.access}, ${w.mode})`), table(['depth', 'index', 'entry at', 'entry', 'decoded (deciding bits outlined)', 'next'], rows, { id: 'walk-steps' })];
  if ('guest' in w) {
    const r = w.guest.result;
    out.push(el('p', {}, 'guest: ', r.ok ? `gPA ${hex(r.gpa)}` : `${r.fault.kind} fault at depth ${r.fault.depth}`, w.physmap ? ` → physmap: gPA page ${hex(w.physmap.gpa)} at ${w.physmap.hpa < 0 ? 'no host page yet' : `hPA ${hex(w.physmap.hpa)}`}` : ''));
    out.push(el('p', {}, w.shadow ? `shadow: hPA ${hex(w.shadow.hpa)} ${w.shadow.flags}` : 'shadow: not present'));
    out.push(el('p', { id: 'walk-verdict', class: w.verdict === 'disagree' ? 'fails' : 'holds' }, `→ ${w.verdict}`));
  } else {
    out.push(el('p', { id: 'walk-verdict' }, w.result.ok ? `→ pa ${hex(w.result.pa)}, byte there = ${hex(w.result.value)} (${w.refs} table references)` : `→ ${w.result.fault.kind} fault at depth ${w.result.fault.depth}`));
  }
  return out;
}

/**
 * The flags that decided step `st`: presence at every step; at the last one — the leaf, or the
 * entry that faulted — the permissions the access and mode ask for.
 */
export function deciding(st: StepJson, last: boolean, w: { access: string; mode: string }, fault: string | undefined): Set<string> {
  const out = new Set(['present']);
  if (!last || fault === 'page') return out;
  if (w.mode === 'user') out.add('user');
  if (w.access === 'write') out.add('writable');
  if (w.access === 'read') out.add('readable');
  if (w.access === 'fetch') ['noExecute', 'executable'].forEach((f) => out.add(f));
  return new Set([...out].filter((f) => f in st.flags));
}

function flagChips(st: StepJson, decide: Set<string>): HTMLElement {
  return el('span', { class: 'flags' }, ...Object.entries(st.flags).map(([f, on]) => el('span', { class: `flag ${on ? 'on' : 'off'}${decide.has(f) ? ' deciding' : ''}`, 'data-flag': f }, f)));
}
