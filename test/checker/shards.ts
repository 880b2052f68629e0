// Running `verify --shard k/n` for every k, for the tests that merge shards.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { cli } from '../cli/helpers.js';

/** The shards k/n of `verify ...args` written to files in a fresh directory (each run must exit 0). */
export async function shards(n: number, ...args: string[]): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'shards-'));
  const files: string[] = [];
  for (let k = 1; k <= n; k++) {
    const r = await cli('verify', ...args, '--shard', `${k}/${n}`);
    expect(r.code).toBe(0);
    const file = join(dir, `shard-${k}.json`);
    writeFileSync(file, r.stdout);
    files.push(file);
  }
  return files;
}
