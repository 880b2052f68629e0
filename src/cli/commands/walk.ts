// `shadowlab walk <scenario> <va>...`: how the scenario's machine translates addresses — the
// base/bounds check on a segment machine, every page-table step on a paging machine — without
// side effects (no A/D bits, no TLB fill). scenario/walk.ts builds the data (what --json prints).

import type { Command } from 'commander';
import { walkRecord, type StepJson, type WalkData } from '../../scenario/walk.js';
import { count, hex, jsonText, table } from '../format.js';
import type { NestedView, Stage2Json } from '../../scenario/walk-nested.js';
import type { ShadowWalkView } from '../../scenario/walk-shadow.js';
import { MAX_STEPS, parseCount } from '../options.js';
import type { Outcome } from '../main.js';
import { loadTarget } from './run.js';
import { resolveTargets } from '../targets.js';
import { printable, UsageError } from '../../scenario/errors.js';

interface WalkCliOptions {
  access: string;
  mode?: string;
  json?: boolean;
  ptbr?: string;
  afterRun?: boolean;
  steps?: string;
  view?: string;
}

export function registerWalk(program: Command, done: (o: Outcome) => void): void {
  program
    .command('walk')
    .description("translate virtual addresses the way the scenario's machine would, step by step")
    .argument('<scenario>', 'scenario file (YAML), a bundled scenario name, or - for standard input')
    .argument('<va...>', 'virtual addresses (decimal or 0x...) or labels of the programs')
    .option('--access <kind>', 'read | write | fetch', 'read')
    .option('--mode <mode>', 'user | supervisor (default: the mode of the PSW)')
    .option('--ptbr <value>', "walk from this root (an address or a page-table name) instead of the PSW's")
    .option('--after-run', 'run the scenario first and walk its final state')
    .option('--steps <n>', "with --after-run: the budget of instructions retired, instead of the scenario's")
    .option('--view <view>', "guest (the guest's own translation) | nested (both stages under the nested-paging VMM) | shadow (guest, physmap and shadow entry under the shadow-paging VMM)", 'guest')
    .option('--json', 'print the walks as JSON')
    .action((file: string, vas: string[], opts: WalkCliOptions) => {
      const targets = resolveTargets([file]);
      if (targets.length !== 1) throw new UsageError(`walk takes one scenario; '${file}' names ${targets.length}`);
      const data = walkRecord(loadTarget(targets[0]), vas, {
        access: opts.access,
        ...(opts.mode === undefined ? {} : { mode: opts.mode }),
        ...(opts.ptbr === undefined ? {} : { ptbr: opts.ptbr }),
        afterRun: opts.afterRun === true,
        ...(opts.view === undefined ? {} : { view: opts.view }),
        ...(opts.steps === undefined ? {} : { steps: parseCount(opts.steps, '--steps', 1, MAX_STEPS) }),
      });
      process.stdout.write(opts.json ? `${jsonText(data)}\n` : printable(printWalk(data)));
      done('ok');
    });
}


export function printWalk(d: WalkData): string {
  if (d.nested) return printNested(d.scenario.name, d.nested);
  if (d.shadow) return printShadow(d.scenario.name, d.shadow);
  const out: string[] = [`scenario ${d.scenario.name}: ${d.translation}${d.geometry ? `, geometry ${d.geometry}, root ${hex(d.ptbr!)}` : ''}`];
  for (const w of d.walks) {
    out.push('', `va ${hex(w.va)} (${w.access}, ${w.mode})`);
    if (w.segment) {
      const sg = w.segment;
      const rule = sg.convention === 'size' ? 'va + 1 <= L' : 'B + va + 1 <= L';
      out.push(`  segment: B = ${hex(sg.base)}, L = ${hex(sg.limit)} (${sg.convention} convention: legal iff ${rule}) -> ${sg.linear === null ? 'bounds violation' : `linear ${hex(sg.linear)}`}`);
    }
    if (w.steps.length) {
      out.push(table(['depth', 'index', 'entry at', 'entry', 'decoded', 'next'], w.steps.map((st) => [st.depth, st.index, hex(st.entryAddress), st.entryHex, decoded(st), st.next >= 0 ? `${st.role} ${hex(st.next)}` : st.role])));
    }
    out.push(w.result.ok ? `  -> pa ${hex(w.result.pa)}, byte there = ${hex(w.result.value, 2)}${w.paging ? ` (${w.refs} table references)` : ''}` : `  -> ${w.result.fault.kind} fault${w.result.fault.depth >= 0 ? ` at depth ${w.result.fault.depth}` : ''}`);
  }
  return `${out.join('\n')}\n`;
}

/** Each address three ways — the guest's walk, the physmap, the shadow entry — and whether they agree. */
function printShadow(name: string, v: ShadowWalkView): string {
  const space = v.spaceRoot === undefined ? 'no shadow space for it yet (run with --after-run)' : `shadow space root ${hex(v.spaceRoot)}`;
  const out = [`scenario ${name}: shadow paging, geometry ${v.geometry}, guest root ${hex(v.ptbr)} (guest-physical), ${v.view} view, ${space}`];
  for (const w of v.walks) {
    out.push('', `va ${hex(w.va)} (${w.access}, ${w.mode})`);
    if (w.guest.steps.length) out.push(table(['depth', 'index', 'entry at', 'entry', 'decoded', 'next'], w.guest.steps.map((st) => [st.depth, st.index, hex(st.entryAddress), st.entryHex, decoded(st), st.next >= 0 ? `${st.role} ${hex(st.next)}` : st.role])));
    const r = w.guest.result;
    const guest = r.ok ? `gPA ${hex(r.gpa)}` : `${r.fault.kind} fault at depth ${r.fault.depth}`;
    const physmap = w.physmap ? ` -> physmap: gPA page ${hex(w.physmap.gpa)} at ${w.physmap.hpa < 0 ? 'no host page yet' : `hPA ${hex(w.physmap.hpa)}`}` : '';
    const shadow = w.shadow ? `shadow: hPA ${hex(w.shadow.hpa)} ${w.shadow.flags}` : 'shadow: not present';
    out.push(`  guest: ${guest}${physmap}`, `  ${shadow}`, `  -> ${w.verdict}`);
  }
  return `${out.join('\n')}\n`;
}

/** Both stages: each guest step with the stage-2 walk that located its table, then the final address's. */
function printNested(name: string, v: NestedView): string {
  const out = [`scenario ${name}: nested paging, guest geometry ${v.geometry} (root ${hex(v.ptbr)}, guest-physical), stage 2 ${v.stage2Geometry} (root ${hex(v.stage2Root)}, host-physical)`];
  const steps = (rows: readonly StepJson[]) => table(['depth', 'index', 'entry at', 'entry', 'decoded', 'next'], rows.map((st) => [st.depth, st.index, hex(st.entryAddress), st.entryHex, decoded(st), st.next >= 0 ? `${st.role} ${hex(st.next)}` : st.role]));
  const stage2 = (s2: Stage2Json, what: string) => [
    `  stage 2 of ${what} gPA ${hex(s2.gpa)}:`,
    steps(s2.steps).replace(/^/gm, '  '),
    s2.result.ok ? `    -> hPA ${hex(s2.result.hpa)} (${count(s2.refs, 'reference')})` : `    -> stage-2 ${s2.result.fault.kind} fault at depth ${s2.result.fault.depth}`,
  ];
  for (const w of v.walks) {
    out.push('', `va ${hex(w.va)} (${w.access}, ${w.mode})`);
    w.tables.forEach((t, i) => {
      out.push(...stage2(t, `the depth-${i} entry at`));
      const st = w.guest.steps[i];
      if (st) out.push(`  guest step ${i}:`, steps([st]).replace(/^/gm, '  '));
    });
    if (w.final) out.push(...stage2(w.final, "the final address,"));
    const refs = `${w.refs.total} memory references: ${w.refs.guest} guest + ${w.refs.host} stage 2`;
    out.push(w.result.ok ? `  -> gPA ${hex(w.result.gpa)} -> hPA ${hex(w.result.hpa)}, byte there = ${hex(w.result.value, 2)} (${refs})` : `  -> ${w.result.fault.stage === 2 ? 'stage-2' : 'guest'} ${w.result.fault.kind} fault at depth ${w.result.fault.depth} (${refs})`);
  }
  return `${out.join('\n')}\n`;
}

function decoded(st: StepJson): string {
  const on = Object.entries(st.flags).filter(([, v]) => v).map(([k]) => k);
  return on.length ? on.join(' ') : '-';
}
