// Where a divergence began (locateDivergence): the equivalence checker reports the first event
// that differs; the search reruns both machines to the instruction after which their states part.

import { describe, expect, it } from 'vitest';
import { disassemble } from '../../src/asm/index.js';
import { x86lite } from '../../src/isa/profiles/x86-lite.js';
import { guestFromSources } from '../../src/vmm/guest.js';
import { locateDivergence, MAX_LOCATED_RETIRED } from '../../src/vmm/localize.js';
import { compareSnapshots } from '../../src/vmm/checks.js';
import { runGuest } from '../../src/vmm/run.js';
import { cli } from '../cli/helpers.js';

/** A ring-0 x86-lite kernel: `before` (harmless), then `critical`, then more harmless lines, then out. */
const kernel = (critical: string) =>
  guestFromSources({
    name: 'k',
    profile: x86lite,
    vmsize: 0x2000,
    programs: [{ at: 0, source: `.org 0\n.psw pc=stop, mode=r0, limit=0x2000\n.org 0x80\nli r1, 1\nli r2, 2\n${critical}\nadd r4, r1, r2\nadd r5, r4, r4\nout r9, 1\nstop: halt` }],
    psw: { pc: 0x80, status: 0, base: 0, limit: 0x2000, ptbr: 0, extra: 0 },
    budget: 100,
  });

describe('locateDivergence', () => {
  it('finds the critical instruction whose effect only shows at a later out: the states agree before it and differ after it', () => {
    for (const critical of ['pushf r9', 'smsw r9', 'rdseg r9, 1', 'sgdt r9']) {
      const g = kernel(critical);
      const run = runGuest('vmm', g);
      const first = run.checks!.equivalence.first!;
      expect(first.retired).toBe(6); // seen at the out
      const at = locateDivergence('vmm', g, {}, first.agreed, first.retired)!;
      expect(disassemble(at.words![0], at.words![1], x86lite)).toBe(critical);
      expect([at.retired, at.pc, at.difference.field]).toEqual([2, 0x90, 'regs.9']);
      const state = (kind: 'bare' | 'vmm', budget: number) => runGuest(kind, { ...g, budget }, { check: false }).final;
      expect(compareSnapshots(state('bare', at.retired), state('vmm', at.retired))).toBeUndefined();
      expect(compareSnapshots(state('bare', at.retired + 1), state('vmm', at.retired + 1))).toBeDefined();
    }
  });

  it('answers undefined when the states agree at the diverging event (and for an equivalent run)', () => {
    const g = kernel('nop');
    expect(locateDivergence('vmm', g, {}, 0, 6)).toBeUndefined();
    expect(locateDivergence('hvm', kernel('pushf r9'), {}, 0, 6)).toBeUndefined();
  });

  it('run prints it and --json carries it', async () => {
    const text = await cli('run', 'x86-lite/critical', '--under', 'vmm');
    expect(text.stdout).toContain('vmm: the states first differ after instruction 2 (pc 0x88: rdseg r1, 1): regs.1: bare 8, under the VMM 9');
    const data = JSON.parse((await cli('run', 'x86-lite/rings', '--under', 'vmm', '--json')).stdout);
    expect(data.runs.find((r: { under: string }) => r.under === 'vmm').checks.equivalence.firstDifferentInstruction).toMatchObject({ after: 6, text: 'lar r3, r2', field: 'flags' });
  });
});

describe('locateDivergence bounds its work', () => {
  it('does not search past MAX_LOCATED_RETIRED instructions', () => {
    const g = kernel('pushf r9');
    expect(locateDivergence('vmm', g, {}, 0, MAX_LOCATED_RETIRED + 1)).toBeUndefined();
  });
});
