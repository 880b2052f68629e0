// The run summary: each run's end and figures, the checkers' verdicts (equivalence, safety,
// efficiency) with the first divergence of a run that is not equivalent, and its expectations.

import type { RunColumn, RunData } from '../../scenario/record.js';
import { el, section, table } from './dom.js';

const verdict = (holds: boolean) => el('span', { class: holds ? 'holds' : 'fails' }, holds ? 'holds' : 'FAILS');
const anchor = (r: RunColumn) => `divergence-${r.label.replace(/[^a-z0-9]+/gi, '-')}`;

/** The summary section of run record `run`. */
export function summarySection(run: RunData): HTMLElement {
  const runs = table(
    ['run', 'end', 'instructions retired', 'VMM exits', 'expectations'],
    run.runs.map((r) => [r.label, r.end, r.retired, r.checks ? r.checks.efficiency.exits.total ?? '-' : '-', r.expectations.ok ? (r.expectations.checked ? 'met' : 'none given') : el('span', { class: 'fails' }, `${r.expectations.failures.length} failed`)]),
    { id: 'runs' },
  );
  const checked = run.runs.filter((r) => r.checks);
  const checks = checked.length
    ? table(
        ['run', 'equivalence', 'safety', 'efficiency'],
        checked.map((r) => {
          const c = r.checks!;
          const eq = c.equivalence.firstDifference ? el('a', { href: `#${anchor(r)}` }, verdict(c.equivalence.holds), ` (${c.equivalence.compared} events)`) : el('span', {}, verdict(c.equivalence.holds), ` (${c.equivalence.compared} events)`);
          return [r.label, eq, el('span', {}, verdict(c.safety.holds), ` (${c.safety.accesses} accesses, ${c.safety.windows} windows)`), el('span', {}, verdict(c.efficiency.holds), `: ${(c.efficiency.direct * 100).toFixed(3)}% direct, ${c.efficiency.exitsPer1000.toFixed(1)} exits/1000`)];
        }),
        { id: 'checks' },
      )
    : el('p', {}, 'No VMM run: nothing to check against the bare run.');
  return section('summary', 'Run summary and checks', runs, checks, ...checked.flatMap((r) => problems(r)), ...run.runs.flatMap(expectationFailures), consoles(run));
}

/** A run's first divergence and first safety violation, each a paragraph (the first with its anchor). */
function problems(r: RunColumn): HTMLElement[] {
  const out: HTMLElement[] = [];
  const d = r.checks!.equivalence.firstDifference as { index?: number; retired?: number; field?: string; bare?: unknown; actual?: unknown } | undefined;
  if (d) out.push(el('p', { id: anchor(r), class: 'divergence' }, `${r.label}: first difference at event ${d.index} (instruction ${d.retired}): ${d.field}: bare ${JSON.stringify(d.bare)}, under the VMM ${JSON.stringify(d.actual)}`));
  const s = r.checks!.safety.first as { kind?: string; retired?: number; detail?: string } | undefined;
  if (s) out.push(el('p', { class: 'divergence' }, `${r.label}: safety violation (${s.kind}) at instruction ${s.retired}: ${s.detail}`));
  return out;
}

function expectationFailures(r: RunColumn): HTMLElement[] {
  return r.expectations.failures.map((f) => el('p', { class: 'fails' }, `${r.label}: expectation not met: ${JSON.stringify(f)}`));
}

function consoles(run: RunData): HTMLElement {
  const shown = run.runs.filter((r) => r.console.length > 0);
  return el('details', {}, el('summary', {}, `console output (${shown.length} of ${run.runs.length} runs wrote any)`), ...shown.map((r) => el('div', {}, el('h4', {}, r.label), el('pre', {}, r.console))));
}
