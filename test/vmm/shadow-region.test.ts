// Address space compression (shadow paging for a guest whose traps keep the address space): the
// VMM's reserve is pinned, supervisor-only, at the top of every shadow space, where the real
// machine's trap into the VMM runs; the guest's own page there is reached only through the
// virtual CPU. Each part is broken on purpose and the checkers — the real machine's own fetch
// of the VMM's entry, the bus, the bare run — catch it.

import { afterEach, describe, expect, it, vi } from 'vitest';
import { ShadowSpace } from '../../src/shadow/index.js';
import { Monitor, ShadowMemory, type MemoryVirtualizer } from '../../src/vmm/index.js';
import { FULL_SEGMENT } from '../../src/vmm/construction.js';
import type { Machine } from '../../src/isa/machine.js';
import { runGuest, whyNot, whyNotTogether } from '../../src/vmm/run.js';
import { scenarioGuest } from './helpers.js';
import { putBit } from '../../src/paging/index.js';

const FILE = 'shadow/vmm-region.yaml';
const REGION = 0xfffff000;

/** The scenario under `kind` on a checked monitor (events and the bus), run to its end. */
function run(kind: 'shadow-eager' | 'shadow-lazy' = 'shadow-eager', steps?: number): Monitor {
  const m = new Monitor([scenarioGuest(FILE, steps)], { kind, events: true, safety: 'bus' });
  m.run();
  return m;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('address space compression', () => {
  it.each(['shadow-eager', 'shadow-lazy'] as const)('%s: the guest sees its own data where the VMM lives; each access there is an exit, counted', (kind) => {
    const r = runGuest(kind, scenarioGuest(FILE));
    expect([r.checks!.equivalence.holds, r.checks!.safety.holds]).toEqual([true, true]);
    const p = r.placement!;
    expect(p.vmmRegion).toEqual({ va: REGION, bytes: 4096, truncated: false });
    expect(p.shadow!.region).toBe(12); // 5 loads, 5 stores and a load by the process, one load by the kernel
    expect(r.efficiency!.exits.repair).toBe(14); // the 12, and two hidden faults (the process's code and the kernel's page)
  });

  it('every space, both views, maps the reserve at the region, supervisor-only, and nothing of the guest there', () => {
    const m = run();
    const mem = m.vms[0].memory as ShadowMemory;
    const spaces = mem.shadowSpaces();
    expect(spaces.map((s) => s.view).sort()).toEqual(['kernel', 'user']);
    for (const s of spaces) {
      const region = s.leaves().filter(([gva]) => gva >= REGION);
      expect(region.map(([gva, , e]) => [gva, e.lo & ~0xfff, e.lo & 0x7])).toEqual([[REGION, 0, 0x3]]); // host page 0, present | writable, not user
    }
  });

  it('a guest without such traps gets no region: its accesses at the top of the space are ordinary hidden faults', () => {
    const g = scenarioGuest(FILE);
    const r = runGuest('shadow-eager', { ...g, config: { ...g.config, trapSwitchesAddressSpace: true } });
    expect(r.checks!.equivalence.holds).toBe(true);
    expect(r.placement!.vmmRegion).toBeUndefined();
    expect(r.placement!.shadow!.region).toBe(0);
  });

  it('broken: the region not mapped — the real machine cannot fetch the VMM\'s entry at the first exit and double-faults', () => {
    vi.spyOn(ShadowSpace.prototype, 'pin').mockImplementation(() => {});
    const m = run();
    expect(m.vms[0].vcpu.machineStatus).toBe('double-fault');
    expect(m.vms[0].equivalence()!.holds).toBe(false);
  });

  it('broken: the region mapped for user mode — the guest reads and writes the VMM\'s reserve, and the bus sees it', () => {
    const pin = ShadowSpace.prototype.pin;
    vi.spyOn(ShadowSpace.prototype, 'pin').mockImplementation(function (this: ShadowSpace, gva, e) {
      const open = { lo: e.lo, hi: e.hi };
      putBit(open, this.geometry.entry.flags.user!, true);
      pin.call(this, gva, open);
    });
    const m = run();
    const found = m.safety.report().violations;
    expect(found[0]).toMatchObject({ kind: 'access', path: 'direct', address: 0, access: 'read' });
    expect(m.vms[0].equivalence()!.holds).toBe(false); // the counter it reads is the VMM's entry PSW
  });

  it('broken: the VMM fills the guest\'s own page over its region — its next entry fetch runs guest memory in supervisor mode, and the bus sees it', () => {
    vi.spyOn(ShadowMemory.prototype as unknown as { inRegion(va: number): boolean }, 'inRegion').mockReturnValue(false);
    const m = run('shadow-eager', 60);
    const mem = m.vms[0].memory as ShadowMemory;
    const entry = mem.physmap.hostPage(0x11000 / 4096) + 0x80; // the VMM's entry offset, in the guest's data page
    const found = m.safety.report().violations;
    expect(found.length).toBeGreaterThan(0);
    expect(found.map((v) => [v.kind, v.access, v.address])).toEqual(found.map(() => ['supervisor', 'fetch', entry]));
  });

  it('refused with the reason: a format with no user/supervisor bit (tiny) cannot hide the region; the segment VMM has no compression; VMs that trap differently cannot share a machine', () => {
    const keep = <T extends { config: object }>(g: T): T => ({ ...g, config: { ...g.config, trapSwitchesAddressSpace: false } });
    const tiny = keep(scenarioGuest('paging/tiny-exercise.yaml'));
    expect(whyNot('shadow-eager', tiny)).toBe("address space compression needs a user/supervisor bit to hide the VMM's region from the guest; the tiny entry format has none");
    expect(whyNot('nested', scenarioGuest(FILE))).toBeUndefined(); // a nested-paging exit leaves the guest's translation: nothing to compress
    expect(whyNot('vmm', keep(scenarioGuest('x-plus-3.yaml')))).toMatch(/^trapSwitchesAddressSpace = false: the real machine would keep the guest's segment on a trap/);
    const g = scenarioGuest(FILE);
    expect(whyNotTogether('shadow-eager', [g, { ...g, name: 'other', config: { ...g.config, trapSwitchesAddressSpace: true } }])).toBe("guest 'other' and 'vmm-region' differ in trapSwitchesAddressSpace; one real machine traps one way");
  });
});

describe('segment truncation (x86-lite/truncation: the kernel in real ring 1, a supervisor to the page tables)', () => {
  const guest = () => scenarioGuest('x86-lite/truncation.yaml');

  it.each(['shadow-eager', 'shadow-lazy'] as const)('%s: the guests run with a real limit at the region, the kernel sees its own data there, the process gets the bare fault; equivalent and safe', (kind) => {
    const r = runGuest(kind, guest());
    expect([r.checks!.equivalence.holds, r.checks!.safety.holds, r.console]).toEqual([true, true, '7 4']);
    expect(r.placement!.vmmRegion).toEqual({ va: REGION, bytes: 4096, truncated: true });
    expect(r.placement!.shadow!.region).toBe(4); // the kernel's load, store and load, the process's load: bounds traps run on the virtual CPU
  });

  it('broken: the limit not truncated — the kernel in real ring 1 reads and writes the VMM\'s reserve through the supervisor-only region, and the safety checker sees it', () => {
    const untruncated = (_vm: number, standard: MemoryVirtualizer): MemoryVirtualizer =>
      Object.assign(Object.create(standard) as MemoryVirtualizer, { install: (host: Machine, vcpu: Machine) => ({ ...standard.install(host, vcpu), limit: FULL_SEGMENT }) });
    const r = runGuest('shadow-eager', guest(), { memory: untruncated });
    expect(r.checks!.safety.holds).toBe(false);
    expect(r.checks!.safety.first!.detail).toMatch(/in the VMM's reserve/);
  });
});
