// Shadow paging as a memory strategy (shadow-eager): the bundled paging guests run equivalent and
// safe, the coherence invariant (shadow/coherence.ts, computed from the guest's tables) holds at
// every resume, the counts say what the shadow code did — and with tracing broken on purpose the
// checkers see the guest read through a translation its tables no longer give.

import { afterEach, describe, expect, it, vi } from 'vitest';
import { ST_PG, ST_WP } from '../../src/isa/arch.js';
import type { Machine } from '../../src/isa/machine.js';
import { allowedStale, checkCoherence, type Incoherence } from '../../src/shadow/index.js';
import type { ReadBus } from '../../src/paging/index.js';
import { Monitor, ShadowMemory, type MemoryVirtualizer } from '../../src/vmm/index.js';
import { expectEquivalentAndSafe, scenarioGuest } from './helpers.js';
import { runGuest } from '../../src/vmm/run.js';

/** Every space of `mem` checked against the guest's tables now (each space's own root, view and switches). */
function incoherence(mem: ShadowMemory): Incoherence[] {
  const page = mem.physmap.pageBytes;
  const hostPageOf = (gpa: number) => mem.physmap.hostPage(Math.floor(gpa / page));
  return mem.shadowSpaces().flatMap((space) =>
    space.guestRoot < 0 ? [] : checkCoherence(space, { geometry: mem.geometry, memory: mem.guestMemory, root: space.guestRoot, switches: mem.switchesOf(space) }, mem.guestBytes, hostPageOf).violations,
  );
}

/** Runs `file` under shadow-eager, checking coherence before every direct run. */
function watched(file: string, steps?: number, breakIt?: (mem: ShadowMemory) => void) {
  const guest = scenarioGuest(file, steps);
  const found: Incoherence[] = [];
  let checks = 0;
  const m: Monitor = new Monitor([guest], {
    kind: 'shadow-eager',
    events: true,
    safety: 'bus',
    observer: (_vm, vcpu) => {
      if ((vcpu.status & ST_PG) === 0) return;
      checks++;
      found.push(...incoherence(m.vms[0].memory as ShadowMemory));
    },
  });
  if (breakIt) breakIt(m.vms[0].memory as ShadowMemory);
  m.run();
  return { m, mem: m.vms[0].memory as ShadowMemory, found, checks };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('shadow-eager', () => {
  it.each(['paging/demand-paging.yaml', 'paging/x86-two-processes.yaml', 'paging/four-level.yaml'])('%s: equivalent and safe, coherent at every resume', (file) => {
    const r = runGuest('shadow-eager', scenarioGuest(file));
    expect(r.checks!.equivalence.holds).toBe(true);
    expect(r.checks!.safety.holds).toBe(true);
    const { found, checks } = watched(file);
    expect(checks).toBeGreaterThan(0);
    expect(found).toEqual([]);
  });

  it('demand paging exercises every path: hidden faults, true faults (the guest kernel maps the page), trace writes, a page made read-only when it became a table', () => {
    const { mem, m } = watched('paging/demand-paging.yaml');
    expect(mem.counts).toMatchObject({ hidden: 20, true: 4, traceWrites: 4, protected: 1, reclaims: 0, spaces: 2 });
    expect(m.vms[0].equivalence()!.holds).toBe(true);
    expect(mem.log.between(0).map((c) => c.reason)).toEqual(expect.arrayContaining(['hidden fault', 'protect', 'trace write']));
  });

  it('with tracing broken (no guest page is ever seen as a table) a remapped page stays stale in the shadow after invlpg: the coherence check and equivalence both fail', () => {
    const noTracing = (mem: ShadowMemory) => {
      (mem as unknown as { trace: () => boolean }).trace = () => false;
    };
    const whole = watched('shadow/remap-invlpg.yaml');
    expect([whole.found, whole.mem.counts.traceWrites, whole.m.vms[0].equivalence()!.holds]).toEqual([[], 1, true]);
    expectEquivalentAndSafe(runGuest('shadow-eager', scenarioGuest('shadow/remap-invlpg.yaml')));
    const { found, m } = watched('shadow/remap-invlpg.yaml', undefined, noTracing);
    expect(found.map((f) => [f.gva, f.problem])).toContainEqual([0x500000, 'other frame']);
    const eq = m.vms[0].equivalence()!;
    expect(eq.holds).toBe(false);
    expect(eq.first!.field).toBe('regs.3'); // the read after invlpg: frame A's 0x41 where bare reads B's 0x42
    // check mode's own coherence check (before every resume) saw it too, and says where
    expect(eq.coherence!.violations).toBeGreaterThan(0);
    expect(eq.coherence!.first!.detail).toMatch(/^shadow maps 0x500000 to host 0x[0-9a-f]+; the guest maps it to guest-physical 0x11000/);
    expect(whole.m.vms[0].equivalence()!.coherence).toMatchObject({ violations: 0 });
    expect(whole.m.vms[0].equivalence()!.coherence!.checks).toBe(whole.m.state.vms[0].exits.repair + whole.m.state.vms[0].exits.emulate); // every resume: the first, and one after each exit but the last (the halt)
  });

  it.each(['shadow/user-reads-kernel.yaml', 'x86-lite/user-reads-kernel.yaml'])("ring compression (%s): one guest table, two views — the kernel view maps the kernel's secret, the user view never does, and the process gets the bare machine's fault", (file) => {
    const { mem, m } = watched(file);
    expect(m.vms[0].equivalence()!.holds).toBe(true);
    expect(mem.counts).toMatchObject({ true: 1, spaces: 2 });
    const mapped = (view: string) => mem.shadowSpaces().filter((s) => s.view === view).flatMap((s) => s.leaves().map(([gva]) => gva));
    expect(mapped('kernel')).toContain(0x402000);
    expect(mapped('user')).not.toContain(0x402000);
    expect(mapped('user')).toContain(0x400000);
  });

  it('x86 ring compression (x86-lite/dirty-kernel): the kernel in real ring 1 is a supervisor to the page tables, so the real WP is on and its write to a clean page faults and sets D as bare; with the real WP forced off it writes through the read-only entry, and the checker sees D lost', () => {
    const guest = scenarioGuest('x86-lite/dirty-kernel.yaml');
    for (const kind of ['shadow-eager', 'shadow-lazy'] as const) expectEquivalentAndSafe(runGuest(kind, guest));
    const wpOff = (_vm: number, standard: MemoryVirtualizer): MemoryVirtualizer =>
      Object.assign(Object.create(standard) as MemoryVirtualizer, { install: (host: Machine, vcpu: Machine) => {
        const p = standard.install(host, vcpu);
        return { ...p, status: p.status & ~ST_WP };
      } });
    const broken = runGuest('shadow-eager', guest, { memory: wpOff });
    expect([broken.checks!.equivalence.holds, broken.console]).toEqual([false, '0']);
  });

  it("lazy: a last-level table written without invalidating goes out of sync, and the guest reads the stale translation as bare hardware's TLB gives it; the coherence check lists the page as stale (the tables gave it before), not as a violation", () => {
    const guest = scenarioGuest('paging/tlb-staleness.yaml');
    expectEquivalentAndSafe(runGuest('shadow-lazy', guest));
    // stopped right after the stale read (before invlpg): the shadow still maps frame A
    const m = new Monitor([{ ...guest, budget: 16 }], { kind: 'shadow-lazy', events: true });
    const before = m.vms[0].memory.guestMemory.image(); // the guest's tables before it rewrote the entry
    m.run();
    const vcpu = m.vms[0].vcpu;
    const mem = m.vms[0].memory as ShadowMemory;
    expect(vcpu.regs[2]).toBe(0x41);
    expect(mem.counts).toMatchObject({ unsyncs: 1, traceWrites: 0, resyncs: 0 });
    const [space] = mem.shadowSpaces();
    const guestPaging = { geometry: mem.geometry, memory: mem.guestMemory, root: space.guestRoot, switches: { wp: false, nxe: false, sum: false } };
    const hostPageOf = (gpa: number) => mem.physmap.hostPage(Math.floor(gpa / mem.physmap.pageBytes));
    expect(checkCoherence(space, guestPaging, mem.guestBytes, hostPageOf).violations.map((v) => [v.gva, v.problem])).toEqual([[0x500000, 'other frame']]);
    // allowed by a history holding the tables as they were before the write; not by the tables of now alone
    const allowedBy = (history: readonly ReadBus[]) => checkCoherence(space, guestPaging, mem.guestBytes, hostPageOf, (gva, e) => allowedStale(space, guestPaging, mem.guestBytes, hostPageOf, history, gva, e));
    expect(allowedBy([before, mem.guestMemory.image()])).toMatchObject({ violations: [], stale: [0x500000] });
    expect(allowedBy([mem.guestMemory.image()]).violations.map((v) => v.gva)).toEqual([0x500000]);
  });

  it("lazy: a stale entry that outlives an exit (shadow/lazy-stale) is allowed by the checker only because the guest's table history since its last invalidation gave it; held to the current tables alone it is a violation", () => {
    const guest = scenarioGuest('shadow/lazy-stale.yaml');
    const full = runGuest('shadow-lazy', guest);
    expectEquivalentAndSafe(full);
    expect(full.checks!.equivalence.coherence).toMatchObject({ violations: 0 });
    vi.spyOn(ShadowMemory.prototype, 'lagsLikeTlb', 'get').mockReturnValue(false);
    const strict = runGuest('shadow-lazy', guest).checks!.equivalence.coherence!;
    expect(strict.violations).toBe(1); // checked once, at the resume after the hidden fault at 0x600000
    expect(strict.first!.detail).toMatch(/^shadow maps 0x500000 to host 0x[0-9a-f]+; the guest maps it to guest-physical 0x11000/);
  });

  it('lazy with its resync broken on purpose (out-of-sync tables never resynchronised): after invlpg the stale entry is outside the allowed set — the guest\'s table history since its invalidation never gave it — and the check says so', () => {
    vi.spyOn(ShadowMemory.prototype as unknown as { guestFlushed(host: { pager?: { flush(): void } }): void }, 'guestFlushed').mockImplementation((host) => host.pager!.flush());
    const r = runGuest('shadow-lazy', scenarioGuest('shadow/lazy-stale.yaml'));
    const eq = r.checks!.equivalence;
    expect(eq.holds).toBe(false);
    expect(eq.coherence!.violations).toBeGreaterThan(0);
    expect(eq.coherence!.first!.detail).toMatch(/^shadow maps 0x500000 to host 0x[0-9a-f]+; the guest maps it to guest-physical 0x11000/);
  });

  it('lazy lets the tables demand paging rewrites go out of sync instead of tracing each write: one trace write instead of four, fewer instructions run in software, the same exits here', () => {
    const run = (kind: 'shadow-eager' | 'shadow-lazy') => {
      const m = new Monitor([scenarioGuest('paging/demand-paging.yaml')], { kind, events: true });
      m.run();
      expect(m.vms[0].equivalence()!.holds).toBe(true);
      return { counts: (m.vms[0].memory as ShadowMemory).counts, software: m.vms[0].software, exits: m.state.vms[0].exits };
    };
    const eager = run('shadow-eager');
    const lazy = run('shadow-lazy');
    expect([eager.counts.traceWrites, lazy.counts.traceWrites, lazy.counts.unsyncs]).toEqual([4, 1, 3]);
    expect(lazy.software).toBeLessThan(eager.software);
    // each unsync still costs the first write's fault, and each resync the refills: no fewer exits
    // on a kernel that invalidates after every entry it writes (a churn guest is where lazy wins)
    expect(lazy.exits.repair + lazy.exits.emulate).toBe(eager.exits.repair + eager.exits.emulate);
  });

  it('the churn scenario: eager traces the first entry write of every fresh heap, lazy lets the table go out of sync instead — equivalent and safe both ways, and lazy makes fewer exits', () => {
    const run = (kind: 'shadow-eager' | 'shadow-lazy') => {
      const r = runGuest(kind, scenarioGuest('shadow/churn.yaml'));
      expectEquivalentAndSafe(r);
      return r;
    };
    const eager = run('shadow-eager');
    const lazy = run('shadow-lazy');
    const c = (r: typeof eager) => r.placement!.shadow!;
    expect([c(eager).traceWrites, c(eager).unsyncs, c(lazy).traceWrites, c(lazy).unsyncs, c(lazy).resyncs]).toEqual([12, 0, 0, 12, 12]); // 3 processes x 4 fresh heaps
    expect(lazy.efficiency!.exitsPer1000).toBeLessThan(eager.efficiency!.exitsPer1000);
    const { found } = watched('shadow/churn.yaml');
    expect(found).toEqual([]);
  });

  it('more address spaces than the shadow pool holds (churn in an 8 KiB pool: two table pages): spaces are emptied and released to make room, and the runs stay equivalent, safe and coherent', () => {
    for (const kind of ['shadow-eager', 'shadow-lazy'] as const) {
      const small = runGuest(kind, scenarioGuest('shadow/churn.yaml'), { nested: { tableBytes: 8 * 1024 } });
      expectEquivalentAndSafe(small);
      expect(small.checks!.equivalence.coherence).toMatchObject({ violations: 0 });
      expect(small.placement!.shadow!.reclaims).toBeGreaterThan(20);
      const roomy = runGuest(kind, scenarioGuest('shadow/churn.yaml'));
      expect(small.efficiency!.exitsPer1000).toBeGreaterThan(roomy.efficiency!.exitsPer1000); // refilling what was reclaimed costs exits
    }
  });

  it('a recursive self-map: the directory read as a table at two levels is traced, and the page table written through the self-map is protected when it becomes a table — equivalent, coherent, under both policies', () => {
    for (const kind of ['shadow-eager', 'shadow-lazy'] as const) {
      const r = runGuest(kind, scenarioGuest('shadow/self-map.yaml'));
      expectEquivalentAndSafe(r);
      expect(r.checks!.equivalence.coherence).toMatchObject({ violations: 0 });
      expect(r.placement!.shadow).toMatchObject({ traceWrites: 1, protected: 1, unsyncs: 0 }); // the directory is never only a last-level table: lazy keeps it eager
      expect(r.final.regs[4]).toBe(0x42);
    }
  });
});

