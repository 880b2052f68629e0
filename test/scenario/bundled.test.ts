// Every bundled scenario runs and meets its own expectations, with and without --json.

import { describe, expect, it } from 'vitest';
import { relative } from 'node:path';
import { bundledScenarioFiles } from '../../src/scenario/bundled.js';
import { cli } from '../cli/helpers.js';

const files = bundledScenarioFiles().map((f) => relative(process.cwd(), f));

describe('bundled scenarios', () => {
  it('there are scenarios to run', () => {
    expect(files.length).toBeGreaterThanOrEqual(4);
  });

  describe.each(files)('%s', (file) => {
    it('runs and meets its expectations (tables)', async () => {
      const r = await cli('run', file);
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(/expectations( \(.*\))?: all met/);
      expect(r.stdout).not.toMatch(/expectations( \(.*\))?: \d+ failed/);
      expect(r.code).toBe(0);
    });

    it('runs and meets its expectations (--json)', async () => {
      const r = await cli('run', file, '--json');
      expect(r.code).toBe(0);
      const data = JSON.parse(r.stdout);
      expect(data.schemaVersion).toBe(3);
      expect(data.ok).toBe(true);
      for (const run of data.runs) expect(run.expectations).toEqual({ ok: true, checked: true, failures: [] });
    });
  });
});

describe('run snapshots', () => {
  it('check mode keeps a snapshot per instruction and per trap; trap mode one per trap', async () => {
    const { loadScenario } = await import('../../src/scenario/load.js');
    const { buildMachine } = await import('../../src/scenario/build.js');
    const { runMachine } = await import('../../src/isa/run.js');
    const s = loadScenario('scenarios/x-plus-3.yaml');
    const every = runMachine(buildMachine(s), 100, { snapshots: 'instructions' });
    // one per step (the svc retires and traps in one step), the halt's step is the final one
    expect(every.snapshots.map((x) => [x.retired, x.trapsDelivered])).toEqual([
      [1, 0],
      [2, 0],
      [3, 0],
      [4, 1],
      [5, 1],
    ]);
    const traps = runMachine(buildMachine(s), 100, { snapshots: 'traps' });
    expect(traps.snapshots.map((x) => [x.retired, x.trapsDelivered])).toEqual([
      [4, 1],
      [5, 1],
    ]);
  });
});
