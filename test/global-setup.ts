// Before the suite: tests that run the real binary (bin/shadowlab.js → dist/) need dist/ built
// from the current sources. The project's one build path does it (it does nothing when dist/ is
// up to date).

import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = new URL('..', import.meta.url).pathname;

export default function setup(): void {
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'build.mjs')], { stdio: 'inherit' });
}
