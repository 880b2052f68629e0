// The published JSON Schema is generated from the zod schema and must never drift from it.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SCENARIO_SCHEMA_FILE, parseSize, scenarioSchemaText } from '../../src/scenario/schema.js';

describe('scenario JSON Schema', () => {
  it(`${SCENARIO_SCHEMA_FILE} is up to date (regenerate with: npm run schema)`, () => {
    expect(readFileSync(SCENARIO_SCHEMA_FILE, 'utf8')).toBe(scenarioSchemaText());
  });

  it('describes every top-level field and forbids unknown ones', () => {
    const schema = JSON.parse(scenarioSchemaText());
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['machine', 'programs', 'memory', 'psw', 'registers', 'steps', 'expect']));
    expect(schema.additionalProperties).toBe(false);
    expect(schema.required).toContain('machine');
  });

  it('size strings use powers of two and accept hex', () => {
    expect(parseSize('64 KiB')).toBe(65536);
    expect(parseSize('4m')).toBe(4 * 2 ** 20);
    expect(parseSize('0x8000')).toBe(0x8000);
    expect(parseSize('1 GB')).toBe(2 ** 30);
    expect(parseSize('12')).toBe(12);
  });
});
