// Builds dist/ from src/ (`npm run build`, `npm start`, `prepare`, `prepack`). `tsc -b` keeps
// its build info in dist/, so when nothing changed it only compares times and stops (~0.4 s);
// deleting dist/ forces a full build. dist/ then keeps only X.js and X.d.ts for each src/X.ts
// (tsconfig.build.json makes no source maps): outputs of renamed or deleted sources and maps
// of older builds are removed, so dist/ — and the package — never carries a stale module.
// The report's page script runs in a browser: src/report/view/ is typechecked on its own (DOM
// types) and bundled with the d3 modules it imports into dist/report/view.js and view.css,
// which `shadowlab report` inlines into every page.

import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const src = join(root, 'src');
const dist = join(root, 'dist');
/** The report's bundled page script and styles (see bundleView). */
const VIEW_OUTPUTS = [join(dist, 'report', 'view.js'), join(dist, 'report', 'view.css')];

/** Whether `output` is dist/X.js or dist/X.d.ts and src/X.ts exists. */
function current(output) {
  const stem = relative(dist, output).replace(/(\.js|\.d\.ts)$/, '');
  if (VIEW_OUTPUTS.includes(output)) return true;
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
  execFileSync(process.execPath, [tsc, '-p', join(src, 'report', 'view', 'tsconfig.json')], { stdio: 'inherit' });
} catch {
  process.exit(1); // tsc has printed the errors
}
prune(dist);
await bundleView();

/** Bundles the report's page script (with the d3 modules it imports) and its styles: ~0.1 s. */
async function bundleView() {
  const { build } = await import('esbuild');
  const license = readFileSync(join(root, 'node_modules', 'd3-hierarchy', 'LICENSE'), 'utf8').trim();
  const banner = { js: `/* shadowlab report view. Bundles d3-hierarchy, d3-scale and the d3 modules they use, under this license:\n${license.replace(/\*\//g, '* /')}\n*/` };
  const common = { bundle: true, minify: true, legalComments: 'none', logLevel: 'error', target: 'es2022' };
  const view = join(src, 'report', 'view');
  await build({ ...common, entryPoints: [join(view, 'main.ts')], outfile: VIEW_OUTPUTS[0], format: 'iife', banner });
  await build({ ...common, entryPoints: [join(view, 'style.css')], outfile: VIEW_OUTPUTS[1] });
}
