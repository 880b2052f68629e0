// The package as a user gets it: `npm pack` (which builds dist/), the tarball installed into a
// fresh project that has no TypeScript, the CLI run there through npx, and the library API
// imported from TypeScript files — a consumer and the example of docs/api.md — that are
// typechecked (NodeNext) and run.

import { execFileSync, spawnSync, type ExecFileSyncOptions } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');
const npmFound = spawnSync('npm', ['--version'], { encoding: 'utf8' }).status === 0;

/** The environment without what `npm test` sets for this package (so npm acts on the temporary project). */
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(npm_(package_|lifecycle_|command$|config_local_prefix$)|INIT_CWD$)/i.test(k)));

function run(command: string, args: readonly string[], cwd: string, options: ExecFileSyncOptions = {}): string {
  return execFileSync(command, args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...options }) as string;
}

/** A consumer of the API: `@ts-expect-error` fails the typecheck if the records were untyped (any). */
const CONSUMER = `
import { AsmError, assemble, bundledScenarios, disassembleRange, InputError, loadScenario, profileByName, runScenario, walkScenario, type RunData, type WalkData } from 'shadowlab';

const classic = profileByName('classic');
if (!classic) throw new Error('no classic profile');
const asm = assemble('start: li r1, 3\\n  halt\\n', { profile: classic });
const [chunk] = asm.chunks;
const listing = disassembleRange(chunk.bytes, chunk.address, 2, classic, asm.labels).map((l) => l.text);

const bare: RunData = runScenario(loadScenario('lde'));
const underVmm = runScenario('x-plus-3', { under: ['bare', 'vmm'] });
const walk: WalkData = walkScenario('paging/tiny-exercise', [0x0c45, '0xa7']);

// @ts-expect-error the record is typed: ok is a boolean
const notAString: string = bare.ok;
void notAString;

function failure(f: () => unknown): string {
  try {
    f();
    return 'no error';
  } catch (e) {
    if (e instanceof InputError) return 'InputError: ' + e.problems[0].message;
    if (e instanceof AsmError) return 'AsmError: ' + e.diagnostics[0].message;
    throw e;
  }
}

process.stdout.write(JSON.stringify({
  listing,
  bundled: bundledScenarios().map((s) => s.name),
  bare: { ok: bare.ok, end: bare.runs[0].end, console: bare.runs[0].console },
  vmm: { ok: underVmm.ok, labels: underVmm.runs.map((r) => r.label), equivalence: underVmm.checks?.equivalence.holds },
  walk: walk.walks.map((w) => w.result),
  errors: [failure(() => loadScenario('no-such-scenario.yaml')), failure(() => assemble('frob r1', { profile: classic }))],
}));
`;

/** As most projects set it: skipLibCheck (checking zod's and Node's declarations costs ~8 s; ours are tsc's own output). */
const CONSUMER_TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    skipLibCheck: true,
    types: ['node'],
    typeRoots: [join(ROOT, 'node_modules/@types')],
    outDir: 'out',
  },
  files: ['main.ts', 'example.ts'],
};

/** The example of docs/api.md: its first ts block. */
function docsExample(): string {
  const block = /```ts\n([\s\S]*?)```/.exec(readFileSync(join(ROOT, 'docs/api.md'), 'utf8'));
  if (!block) throw new Error('docs/api.md: no ts block');
  return block[1];
}

describe.skipIf(!npmFound)(npmFound ? 'the packed package' : 'the packed package (skipped: npm is not on PATH)', () => {
  let tmp = '';
  let app = '';
  let packed: { filename: string; size: number; files: { path: string }[] };

  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'shadowlab-pack-'));
    [packed] = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', tmp], ROOT));
    app = join(tmp, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    run('npm', ['install', join(tmp, packed.filename), '--prefer-offline', '--no-audit', '--no-fund'], app);
  }, 180_000);

  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('holds the build, the CLI, the scenarios and the schema — no sources, tests or scratch', () => {
    const paths = packed.files.map((f) => f.path);
    for (const p of ['bin/shadowlab.js', 'dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js', 'scenarios/lde.yaml', 'scenarios/lde/kernel.s', 'schema/scenario.schema.json', 'README.md']) expect(paths).toContain(p);
    expect(paths.filter((p) => /^(src|test|scratch|scripts)\/|\.vitest-report|tsbuildinfo|tsconfig|\.test\.|\.map$/.test(p))).toEqual([]);
    expect(packed.size).toBeLessThan(1_000_000);
  });

  it('installs without TypeScript and without building', () => {
    expect(existsSync(join(app, 'node_modules/typescript'))).toBe(false);
    expect(existsSync(join(app, 'node_modules/shadowlab/dist/index.js'))).toBe(true);
  });

  it('runs the CLI: list, run NAME --json, walk --json', () => {
    const list = run('npx', ['--no', 'shadowlab', 'list'], app);
    expect(list).toMatch(/^ {2}lde +limited direct execution/m);
    expect(list).toMatch(/^ {2}vmm\/jrst /m);

    const record = JSON.parse(run('npx', ['--no', 'shadowlab', 'run', 'lde', '--json'], app));
    expect(record.ok).toBe(true);
    expect(record.runs[0]).toMatchObject({ under: 'bare', end: 'halted', retired: 18122 });
    expect(record.runs[0].console).toContain('ping pong');

    const walk = JSON.parse(run('npx', ['--no', 'shadowlab', 'walk', 'paging/tiny-exercise', '0x0c45', '--json'], app));
    expect(walk.walks[0].result).toEqual({ ok: true, pa: 0x645, value: 0x9f });
  });

  it('offers the typed API to TypeScript (NodeNext), and it runs', () => {
    writeFileSync(join(app, 'main.ts'), CONSUMER);
    writeFileSync(join(app, 'example.ts'), docsExample());
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify(CONSUMER_TSCONFIG));
    const tsc = spawnSync(process.execPath, [TSC, '-p', app], { cwd: app, env, encoding: 'utf8' });
    expect(tsc.stdout + tsc.stderr, 'the consumer typechecks').toBe('');
    expect(tsc.status).toBe(0);

    const out = JSON.parse(run(process.execPath, [join(app, 'out/main.js')], app));
    expect(out.listing).toEqual(['li r1, 3', 'halt']);
    expect(out.bundled).toContain('lde');
    expect(out.bare).toEqual({ ok: true, end: 'halted', console: expect.stringContaining('ping pong') });
    expect(out.vmm).toEqual({ ok: true, labels: ['bare', 'vmm'], equivalence: true });
    expect(out.walk).toEqual([
      { ok: true, pa: 0x645, value: 0x9f },
      { ok: false, fault: { kind: 'page', depth: 1 } },
    ]);
    expect(out.errors[0]).toMatch(/^InputError: /);
    expect(out.errors[1]).toMatch(/^AsmError: /);
    expect(readFileSync(join(app, 'node_modules/shadowlab/dist/index.d.ts'), 'utf8')).toContain('export declare function runScenario');
    run(process.execPath, [join(app, 'out/example.js')], app);
  });
});
