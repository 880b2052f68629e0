// Every bundled scenario runs and meets its own expectations, with and without --json.

import { describe, expect, it } from 'vitest';
import { relative } from 'node:path';
import { bundledScenarioFiles } from '../../src/cli/commands/list.js';
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
      expect(r.stdout).toContain('expectations: all met');
      expect(r.code).toBe(0);
    });

    it('runs and meets its expectations (--json)', async () => {
      const r = await cli('run', file, '--json');
      expect(r.code).toBe(0);
      const data = JSON.parse(r.stdout);
      expect(data.schemaVersion).toBe(1);
      expect(data.ok).toBe(true);
      for (const run of data.runs) expect(run.expectations).toEqual({ ok: true, failures: [] });
    });
  });
});
