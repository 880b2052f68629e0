// Bundled scenarios that state theorem verdicts (expect.theorems) meet them under `verify`: one
// per profile, so every profile's expected verdicts are also carried by a file a user can run.

import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { bundledScenarioFiles } from '../../src/scenario/bundled.js';
import { cli } from '../cli/helpers.js';

interface Stated {
  readonly file: string;
  readonly profile: string;
  readonly theorems: Record<string, boolean>;
}

const stated: Stated[] = bundledScenarioFiles().flatMap((f) => {
  const spec = parse(readFileSync(f, 'utf8'));
  const theorems = spec?.expect?.theorems;
  return theorems ? [{ file: relative(process.cwd(), f), profile: spec.machine?.profile ?? 'classic', theorems }] : [];
});

describe('bundled scenarios with expect.theorems', () => {
  it('cover every bundled profile', () => {
    expect(new Set(stated.map((s) => s.profile))).toEqual(new Set(['classic', 'pdp10', 'x86-lite', 'x86-vt', 'mips', 'arm', 'ibm360']));
  });

  describe.each(stated)('$file', ({ file, theorems }) => {
    it(`verify meets ${JSON.stringify(theorems)}`, async () => {
      const r = await cli('verify', file, '--runs', '3', '--json');
      expect(r.stderr).toBe('');
      const data = JSON.parse(r.stdout);
      expect(data.expectations).toEqual({ checked: Object.keys(theorems).length, failures: [] });
      for (const [k, want] of Object.entries(theorems)) expect(data.theorems[k].established, k).toBe(want);
      expect(r.code).toBe(0);
    }, 60_000);
  });
});
