// The human-readable report of `shadowlab run`: one column per run, instruction counts,
// console, the checkers' verdicts, expectations, and the traces and comparisons asked for.

import { SWITCH_NAMES } from '../../isa/arch.js';
import { heading, hex, table } from '../format.js';
import type { ChecksJson, CompareJson, RunColumn, RunData, TraceJson } from '../../scenario/record.js';
import { count } from '../format.js';
import { TLB_MODE_TEXT } from '../../vmm/index.js';

export function printRun(d: RunData): string {
  const out: string[] = [`scenario ${d.scenario.name}${d.scenario.description ? ` — ${d.scenario.description}` : ''}`];
  if (d.host) out.push(`host: ${hex(d.host.memorySize)} bytes, VMM reserve [0, ${hex(d.host.reserve)})` + d.host.vms.map((v) => `, ${v.name} at [${hex(v.addr0)}, ${hex(v.addr0 + v.vmsize)})`).join(''));
  const many = d.runs.length > 1;
  for (const r of d.runs) if (r.trace) out.push(heading(`trace (${r.label})`), printTrace(r.trace, r.traceTruncated));
  out.push('', printRunColumns(d.runs));
  for (const r of d.runs) {
    const label = many ? ` (${r.label})` : '';
    out.push(heading(`instructions retired, by kind${label}`), r.under === 'vmm2' ? '  (the assembly VMM does not count its guest\'s instructions by kind)' : printCounts(r.instructions));
    out.push(heading(`console${label}:`), printConsole(r));
  }
  for (const k of d.skipped ?? []) out.push('', `not run under ${k.under}: ${k.reason}`);
  const placed = d.runs.filter((r) => r.placement && r.placement.strategy !== 'segment');
  if (placed.length) out.push(heading('guest memory in host memory (nested and shadow paging)'), ...placed.map(printPlacement));
  const paged = d.runs.filter((r) => r.mmu);
  if (paged.length > 1 && paged.some((r) => r.placement)) out.push(heading('paging compared (what each run\'s real MMU and shadow code did)'), printPagingComparison(paged));
  const checked = d.runs.filter((r) => r.checks);
  if (checked.length) out.push(heading('checks (each VMM run against the bare run of the same guest)'), printChecks(checked));
  for (const r of d.runs) {
    const label = many ? ` (${r.label})` : '';
    const e = r.expectations;
    const none = e.checked ? '' : ' (the scenario has no expect block: only that the run stops was checked)';
    out.push('', e.ok ? (e.checked ? `expectations${label}: all met` : `expectations${label}: none given (the scenario has no expect block: nothing was checked)`) : `expectations${label}: ${e.failures.length} failed${none}`);
    if (e.note) out.push(`  (${e.note})`);
    if (!e.ok) out.push(table(['field', 'expected', 'actual'], e.failures.map((f) => [f.field, f.expected, f.actual])));
  }
  if (d.compare) out.push(heading('compare: segment vs paging'), printCompare(d.compare));
  return `${out.join('\n')}\n`;
}

/** Console characters the table report shows (--json has all that was kept). */
const CONSOLE_SHOWN = 16 * 1024;

/** A run's console output, cut at CONSOLE_SHOWN characters with a note saying how much there was. */
function printConsole(r: RunColumn): string {
  if (!r.console) return '(empty)';
  const written = r.consoleWritten ?? r.console.length;
  if (written <= CONSOLE_SHOWN) return r.console.replace(/\n?$/, '');
  return `${r.console.slice(0, CONSOLE_SHOWN)}\n... (${written} characters written: the first ${CONSOLE_SHOWN} shown here, the first ${r.console.length} kept in --json)`;
}

/** The final state of every run side by side: one column per run. */
function printRunColumns(runs: readonly RunColumn[]): string {
  const causes = [...new Set(runs.flatMap((r) => Object.keys(r.traps)))];
  const row = (name: string, f: (r: RunColumn) => string | number) => [name, ...runs.map(f)];
  const flags = (r: RunColumn) => SWITCH_NAMES.map((k) => (r.psw[k] ? 1 : 0)).join(' ');
  const rows = [
    row('end', (r) => r.end),
    row('instructions retired', (r) => r.retired),
    row('pc', (r) => hex(r.psw.pc)),
    row('mode', (r) => r.psw.mode),
    row('base / limit', (r) => `${hex(r.psw.base)} / ${hex(r.psw.limit)}`),
    row('ptbr', (r) => hex(r.psw.ptbr)),
    row(SWITCH_NAMES.join(' '), flags),
    ...Array.from({ length: 16 }, (_, i) => row(`r${i}`, (r) => `${hex(r.registers[i], 8)} ${r.registers[i] | 0}`)),
    ...(causes.length ? causes.map((c) => row(`traps: ${c}`, (r) => r.traps[c] ?? 0)) : [row('traps', () => 'none')]),
    ...(runs.some((r) => r.framesAllocated !== undefined) ? [row('frames allocated', (r) => r.framesAllocated ?? '-')] : []),
    ...(runs.some((r) => r.seconds !== undefined) ? [row('time', (r) => (r.seconds === undefined ? '-' : `${(r.seconds * 1000).toFixed(1)} ms`))] : []),
  ];
  return table(['', ...runs.map((r) => r.label)], rows);
}

/** Counts by name, most frequent first, four pairs per line. */
function printCounts(counts: Readonly<Record<string, number>>): string {
  const cells = Object.entries(counts)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([k, v]) => `${k.padEnd(9)} ${String(v).padStart(8)}`);
  const lines: string[] = [];
  for (let i = 0; i < cells.length; i += 4) lines.push(`  ${cells.slice(i, i + 4).join('    ')}`);
  return lines.join('\n') || '  (none)';
}

/** "label: N pages of P bytes mapped, stage-2 root R: gPA [a, b) -> hPA c, ...". */
function printPlacement(r: RunColumn): string {
  const p = r.placement!;
  const runs = p.ranges.map((x) => `gPA [${hex(x.gpa)}, 0x${(x.gpa + x.size).toString(16)}) -> hPA ${hex(x.hpa)}`);
  if (p.moreRanges) runs.push(`and ${count(p.moreRanges, 'more run')}`);
  const sh = p.shadow;
  const shadow = sh
    ? `\n  shadow: ${count(sh.hidden, 'hidden fault')}, ${count(sh.true, 'true fault')}, ${count(sh.traceWrites, 'trace write')}, ${count(sh.protected, 'entry', 'entries')} write-protected, ${count(sh.spaces, 'address space')}, ${count(sh.changes, 'entry change')}, ${count(sh.reclaims, 'reclaim')}${p.strategy === 'shadow-lazy' ? `, ${count(sh.unsyncs, 'table')} let out of sync, ${count(sh.resyncs, 'resync')}` : ''}`
    : '';
  const reasons = sh ? Object.entries(sh.changesByReason).map(([k, n]) => `${k} ${n}`) : [];
  const byReason = reasons.length ? `\n  entry changes by reason: ${reasons.join(', ')} (a trace write or resync drops entries; none is updated in place)` : '';
  const v = p.vmmRegion;
  const region = v && sh ? `
  VMM region: ${v.bytes} bytes at gVA ${hex(v.va)} in every shadow space${v.truncated ? ', fenced off by segment truncation (the guests\' real segments end there)' : ''}, ${count(sh.region, 'guest access', 'guest accesses')} there run on the virtual CPU` : '';
  return `${r.label}: ${count(p.mappedPages, 'page')} of ${p.pageBytes} bytes backed${p.stage2Root === undefined ? '' : `, stage-2 root ${hex(p.stage2Root)}`}\n${runs.map((x) => `  ${x}`).join('\n')}${shadow}${byReason}${region}`;
}

/**
 * One row per paging run: the shadow code's misses (hidden, true), faults on traced tables
 * (trace writes, and tables let out of sync), resyncs; exits per 1,000 guest instructions; the
 * real MMU's table references per TLB miss; and, with timing, the wall-clock time over the bare
 * run's. '-' where a figure has no meaning for the run.
 */
function printPagingComparison(runs: readonly RunColumn[]): string {
  const bare = runs.find((r) => r.under === 'bare');
  const timed = bare?.seconds !== undefined && bare.seconds > 0;
  const rows = runs.map((r) => {
    const sh = r.placement?.shadow;
    const m = r.mmu!;
    const e = r.checks?.efficiency;
    return [
      r.label,
      sh ? sh.hidden : '-',
      sh ? sh.true : '-',
      sh ? sh.traceWrites + sh.unsyncs : '-',
      sh ? sh.resyncs : '-',
      e ? e.exitsPer1000.toFixed(1) : '-',
      m.misses > 0 ? (m.refs / m.misses).toFixed(2) : '-',
      ...(timed ? [r.seconds === undefined ? '-' : `${(r.seconds / bare!.seconds!).toFixed(2)}x`] : []),
    ];
  });
  return table(['run', 'hidden faults', 'true faults', 'trace faults', 'resyncs', 'exits/1000', 'walk refs/miss', ...(timed ? ['time vs bare (checked)'] : [])], rows);
}

/** The three verdicts of every VMM run, with their figures and first failures. */
function printChecks(runs: readonly RunColumn[]): string {
  const verdict = (holds: boolean) => (holds ? 'holds' : 'FAILS');
  const rows = runs.map((r) => {
    const c = r.checks!;
    const e = c.efficiency;
    return [
      r.label,
      `${verdict(c.equivalence.holds)} (${count(c.equivalence.compared, 'event')}${c.equivalence.tlbNondeterminism ? ', within TLB nondeterminism' : ''})`,
      `${verdict(c.safety.holds)} (${count(c.safety.accesses, 'access', 'accesses')}, ${count(c.safety.windows, 'window')})`,
      `${verdict(e.holds)}: ${(e.direct * 100).toFixed(3)}% direct, ${e.exitsPer1000.toFixed(1)} exits/1000${e.usPerExit === undefined ? '' : `, ${e.usPerExit.toFixed(2)} us/exit`}`,
    ];
  });
  const lines = [table(['run', 'equivalence', 'safety', 'efficiency'], rows)];
  for (const r of runs) lines.push(exitLine(r.label, r.checks!.efficiency));
  for (const r of runs) lines.push(...failureLines(r.label, r.checks!));
  return lines.join('\n');
}

/** "vmm: 108 exits (94 emulate, 8 reflect, 6 timer), 6.0 VMM actions per exit". */
function exitLine(label: string, e: ChecksJson['efficiency']): string {
  const { total, ...byReason } = e.exits;
  const reasons = Object.entries(byReason)
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([k, n]) => `${n} ${k}`);
  return `${label}: ${count(total ?? 0, 'exit')}${reasons.length ? ` (${reasons.join(', ')})` : ''}, ${e.actionsPerExit.toFixed(1)} VMM actions per exit`;
}

function failureLines(label: string, c: ChecksJson): string[] {
  const out: string[] = [];
  const d = c.equivalence.firstDifference;
  if (d) out.push(`${label}: first difference at event ${String(d.index)} (instruction ${String(d.retired)}): ${String(d.field)}: bare ${JSON.stringify(d.bare)}, under the VMM ${JSON.stringify(d.actual)}`);
  const i = c.equivalence.firstDifferentInstruction;
  if (i) out.push(`${label}: the states first differ after instruction ${i.after + 1} (pc 0x${i.pc.toString(16)}${i.text ? `: ${i.text}` : ''}): ${i.field}: bare ${JSON.stringify(i.bare)}, under the VMM ${JSON.stringify(i.actual)}`);
  const t = c.equivalence.tlbNondeterminism;
  if (t) {
    const f = t.first;
    out.push(
      `${label}: diverged within TLB nondeterminism at event ${f.index} (instruction ${f.retired}): ${f.field}: bare ${JSON.stringify(f.bare)}, under the VMM ${JSON.stringify(f.actual)}; ` +
        `a bare machine that ${TLB_MODE_TEXT[t.by]} reached the same (${count(t.points, 'such point')})`,
    );
  }
  const co = c.equivalence.coherence;
  if (co?.first) out.push(`${label}: shadow incoherent at instruction ${co.first.retired}: ${co.first.detail}${co.violations > 1 ? ` (${count(co.violations, 'wrong entry', 'wrong entries')} over ${count(co.checks, 'check')})` : ''}`);
  if (c.safety.note) out.push(`${label}: safety: ${c.safety.note}`);
  const sf = c.safety.first;
  if (sf) out.push(`${label}: safety violation (${String(sf.kind)}) at instruction ${String(sf.retired)}: ${String(sf.detail)}${c.safety.violations > 1 ? ` (${count(c.safety.violations, 'violation')} in all)` : ''}`);
  if (!c.efficiency.holds) out.push(`${label}: efficiency criterion not met: ${c.efficiency.criterion}`);
  return out;
}

export function printCompare(c: CompareJson): string {
  const lines = [
    `geometry ${c.geometry}: ${count(c.stretches, 'user stretch', 'user stretches')}, ${count(c.instructions, 'instruction')} in lockstep, ${count(c.boundsMatched, 'bounds trap')} each met by a page fault at the same instruction`,
  ];
  if (c.skipped) lines.push(`skipped ${count(c.skipped, 'stretch', 'stretches')}: ${c.skipReasons.join('; ')}`);
  const d = c.firstDifference;
  if (c.stretches === 0) lines.push('nothing compared: no user stretch could be mapped (this is not a pass)');
  else if (d) lines.push(`DIFFERENT at instruction ${d.retired} (pc ${hex(d.pc)}): ${d.field}: segment ${String(d.segment)}, paging ${String(d.paging)}`);
  else lines.push('equivalent: the same registers, PC, accesses and memory at every step');
  return lines.join('\n');
}

/** One line per instruction (mode, retired count, pc -> pa, text, data access) and per trap. */
export function printTrace(trace: readonly TraceJson[], truncated?: boolean): string {
  const rows = trace.map((e) => {
    if (e.kind === 'instruction') {
      const data = e.data ? `  ${e.data.access} ${hex(e.data.va)} -> ${hex(e.data.pa)}` : '';
      return `${String(e.retired).padStart(6)} ${e.mode}  fetch ${hex(e.pc)} -> ${hex(e.pa)}  ${e.text.padEnd(24)}${data}${e.trapped ? '  (trapped)' : ''}`.trimEnd();
    }
    const addr = e.vaddr || e.error ? ` address ${hex(e.vaddr)} error ${hex(e.error)}` : '';
    const detail = e.detail ? ` detail ${e.detail}` : '';
    return e.doubleFault
      ? `       ** double fault: ${e.cause}${addr} while entering a trap handler; machine stopped`
      : `       ** trap ${e.cause}${addr}${detail}: old PSW (pc ${hex(e.savedPc)}, mode ${e.mode}) -> MEM[1], new PSW from MEM[0] (pc ${hex(e.newPc!)})`;
  });
  if (truncated) rows.push(`       ... trace truncated after ${count(trace.length, 'entry', 'entries')} (the run went on; --trace-limit N keeps more)`);
  return rows.join('\n');
}
