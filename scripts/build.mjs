// Builds dist/ from src/ (`npm run build`, `npm start`, `prepare`, `prepack`). `tsc -b` keeps
// its build info in dist/, so when nothing changed it only compares times and stops (~0.4 s);
// deleting dist/ forces a full build. dist/ then keeps only X.js and X.d.ts for each src/X.ts
// (tsconfig.build.json makes no source maps): outputs of renamed or deleted sources and maps
// of older builds are removed, so dist/ — and the package — never carries a stale module.

import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const src = join(root, 'src');
const dist = join(root, 'dist');

/** Whether `output` is dist/X.js or dist/X.d.ts and src/X.ts exists. */
function current(output) {
  const stem = relative(dist, output).replace(/(\.js|\.d\.ts)$/, '');
  return stem !== relative(dist, output) && existsSync(join(src, `${stem}.ts`));
}

/** Removes outputs under `dir` that are not current (see above), and folders left empty. */
function prune(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    if (e.isDirectory()) {
      prune(path);
      if (readdirSync(path).length === 0) rmSync(path, { recursive: true });
    } else if (/\.(js|ts|map)$/.test(e.name) && !current(path)) rmSync(path);
  }
}

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
try {
  execFileSync(process.execPath, [tsc, '-b', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
} catch {
  process.exit(1); // tsc has printed the errors
}
prune(dist);
