// Before the suite: tests that run the real binary (bin/shadowlab.js → dist/) need dist/ built
// from the current sources. Builds it when any file under src/ is newer than the build.

import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = new URL('..', import.meta.url).pathname;

/** Newest modification time of the files under `dir` (recursively). */
function newest(dir: string): number {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).reduce((t, f) => Math.max(t, statSync(join(dir, f)).mtimeMs), 0);
}

export default function setup(): void {
  const built = join(ROOT, 'dist', 'cli', 'main.js');
  if (existsSync(built) && statSync(built).mtimeMs >= newest(join(ROOT, 'src'))) return;
  execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.build.json')], { stdio: 'inherit' });
}
