// The checkers read memory through the general face every guest memory offers (write trackers,
// host ranges), so they work for a guest whose memory lies over a physmap as for a window:
// the equivalence checker compares guest-physical memory, and sees a host write under a guest
// page; the safety checker holds a VM to host ranges that need not be contiguous.

import { describe, expect, it } from 'vitest';
import { ST_MODE_MASK } from '../../src/isa/arch.js';
import { Machine } from '../../src/isa/machine.js';
import { classic } from '../../src/isa/profiles/classic.js';
import { PhysicalMemory } from '../../src/mmu/memory.js';
import { explicitPhysmap } from '../../src/mmu/physmap.js';
import { PhysmapMemory } from '../../src/mmu/physmap-memory.js';
import { EventSource } from '../../src/vmm/events.js';
import { guestFromSources } from '../../src/vmm/guest.js';
import { Lockstep } from '../../src/vmm/lockstep.js';
import { SafetyMonitor } from '../../src/vmm/safety.js';

/** A guest that fills a table across three pages, printing as it goes. */
const filler = guestFromSources({
  name: 'filler',
  profile: classic,
  vmsize: 0x4000,
  programs: [
    {
      at: 0,
      source: `
        .org 0
        .psw pc=0x80, mode=s, limit=0x4000
        .org 0x80
        li   r1, 0x1ff0
        li   r2, 0
loop:   st   r2, (r1)
        addi r1, r1, 0x404
        addi r2, r2, 1
        out  r2, 1
        li   r3, 8
        bne  r2, r3, loop
        halt`,
    },
  ],
  psw: { pc: 0x80, status: 0, base: 0, limit: 0x4000, ptbr: 0, extra: 0 },
  budget: 1000,
});

/** The guest's memory over a pool of host pages handed out in reverse order. */
function pooledMemory(host: PhysicalMemory): PhysmapMemory {
  const r = explicitPhysmap({ guestBytes: 0x4000, pageBytes: 0x1000, hostBytes: host.size, pool: [0xc000, 0x9000, 0x6000, 0x3000].map((hpa) => ({ hpa, size: 0x1000 })) });
  if (!r.ok) throw new Error('pooledMemory');
  return new PhysmapMemory(host, r.physmap);
}

/** Runs `m` (the guest loaded) one step at a time under the equivalence checker; `meddle` after step `at`. */
function checkedRun(m: Machine, meddle?: { at: number; act: () => void }) {
  const lockstep = new Lockstep(filler, m);
  const source = new EventSource(m, true, lockstep.onEvent);
  for (let i = 0; i < filler.budget && m.running; i++) {
    m.run(1, true);
    source.poll();
    if (meddle && i === meddle.at) meddle.act();
  }
  source.end();
  return lockstep.verdict();
}

function loaded(mem: PhysicalMemory): Machine {
  const m = new Machine(filler.config, mem);
  filler.load(m.mem);
  m.loadPsw(filler.psw);
  return m;
}

describe('checkers over a physmap memory', () => {
  it('equivalence holds for the guest over a pool physmap, compared in guest-physical terms', () => {
    const v = checkedRun(loaded(pooledMemory(new PhysicalMemory(0x10000))));
    expect(v.holds).toBe(true);
    expect(v.compared).toBe(10); // 8 console events, halt, end
  });

  it('equivalence sees a host write under a guest page, at its guest-physical address', () => {
    const host = new PhysicalMemory(0x10000);
    const mem = pooledMemory(host);
    const v = checkedRun(loaded(mem), { at: 20, act: () => host.write32(mem.hostAddress(0x1ff4), 0x77) });
    expect(v.holds).toBe(false);
    expect(v.first).toMatchObject({ field: 'memory[0x1ff4]', bare: 0, actual: 0x77 });
  });

  it('safety holds a VM to its host ranges, however scattered: a write in any is fine, a write between is not', () => {
    const host = new Machine({ profile: classic, memorySize: 0x10000 });
    const layout = { reserve: 0x1000, allocations: [], memorySize: 0x10000 };
    const safety = new SafetyMonitor('resume', host, layout, 'size');
    const real = { pc: 0, status: 1, base: 0x3000, limit: 0x1000, ptbr: 0, extra: 0 };
    host.loadPsw(real);
    expect(real.status & ST_MODE_MASK).toBe(1);
    const confines = [
      { lo: 0x3000, hi: 0x4000 },
      { lo: 0x9000, hi: 0xa000 },
    ];
    safety.beforeRun(0, 0, real, confines);
    host.mem.write32(0x3ffc, 1);
    host.mem.write32(0x9000, 1);
    safety.afterRun(false);
    expect(safety.report().violations).toEqual([]);
    safety.beforeRun(0, 0, real, confines);
    host.mem.write32(0x6004, 1);
    safety.afterRun(false);
    const [v] = safety.report().violations;
    expect(v).toMatchObject({ kind: 'memory' });
    expect(v.detail).toMatch(/^real byte 0x6004 outside the VM's memory changed \(0x0 → 0x1\)/);
    safety.close();
  });

  it('safety: a real segment reaching past the VM\'s host ranges is refused before the run', () => {
    const host = new Machine({ profile: classic, memorySize: 0x10000 });
    const safety = new SafetyMonitor('resume', host, { reserve: 0x1000, allocations: [], memorySize: 0x10000 }, 'size');
    const real = { pc: 0, status: 1, base: 0x3800, limit: 0x1000, ptbr: 0, extra: 0 };
    safety.beforeRun(0, 0, real, [
      { lo: 0x3000, hi: 0x4000 },
      { lo: 0x9000, hi: 0xa000 },
    ]);
    expect(safety.report().violations[0]).toMatchObject({ kind: 'segment' });
    expect(safety.report().violations[0].detail).toMatch(/reaches \[0x3800, 0x4800\) outside the VM's memory \(2 host ranges\)/);
    safety.close();
  });
});
