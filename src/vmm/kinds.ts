// The kinds of run, declared once: a guest runs bare, under the trap-and-emulate VMM, under the
// hybrid VMM, under the assembly VMM vmm.s which itself runs under the trap-and-emulate VMM, or
// under the trap-and-emulate VMM with nested paging or shadow page tables for a paging guest.
// Everything that lists kinds (the CLI's --under, the scenario schema's verdicts, reports)
// imports these.

/** Every kind of run, in the order reports show them. */
export const RUN_KINDS = ['bare', 'vmm', 'hvm', 'vmm2', 'nested', 'shadow-eager', 'shadow-lazy'] as const;
export type RunKind = (typeof RUN_KINDS)[number];

/** The kinds that run a guest under a VMM, each checked against the guest's bare run. */
export const VMM_KINDS = ['vmm', 'hvm', 'vmm2', 'nested', 'shadow-eager', 'shadow-lazy'] as const satisfies readonly RunKind[];
export type VmmKind = (typeof VMM_KINDS)[number];

/** The kinds the TypeScript monitor runs itself (vmm2 is vmm.s running under 'vmm'). */
export const MONITOR_KINDS = ['vmm', 'hvm', 'nested', 'shadow-eager', 'shadow-lazy'] as const satisfies readonly VmmKind[];
export type MonitorKind = (typeof MONITOR_KINDS)[number];

/** One line per kind, for help texts and docs. */
export const KIND_SUMMARIES: Readonly<Record<RunKind, string>> = {
  bare: 'the guest alone on the machine (the reference run)',
  vmm: 'the trap-and-emulate VMM: the guest runs deprivileged, what traps is emulated or reflected',
  hvm: 'the hybrid VMM: virtual-supervisor code interpreted, virtual-user code run directly',
  vmm2: 'vmm.s, a VMM in the lab\'s assembly, run as a guest of the trap-and-emulate VMM',
  nested: 'the trap-and-emulate VMM over nested paging: the real MMU walks the guest\'s tables, then the VM\'s gPA -> hPA table',
  'shadow-eager': 'the trap-and-emulate VMM over shadow page tables (gVA -> hPA, built by the VMM), guest page tables traced and applied at once',
  'shadow-lazy': 'shadow page tables whose last-level tables may go out of sync until the guest invalidates (fewer exits)',
};

/** How a monitor kind virtualizes memory: base and bounds, nested paging, or shadow page tables. */
export function memoryStrategy(k: MonitorKind): 'segment' | 'nested' | 'shadow' {
  return k === 'nested' ? 'nested' : k === 'shadow-eager' || k === 'shadow-lazy' ? 'shadow' : 'segment';
}

/** Whether kind `k` hosts paging guests (its host is laid out by the nested-paging plan: reserve, table area, physmaps). */
export function pagesGuests(k: RunKind): boolean {
  return k === 'nested' || k === 'shadow-eager' || k === 'shadow-lazy';
}

/** Whether kind `k` interprets virtual-supervisor code by design (so only its direct share is judged). */
export function interpretsSupervisor(k: VmmKind): boolean {
  return k === 'hvm';
}

/** Whether `text` names a kind of run. */
export function isRunKind(text: string): text is RunKind {
  return (RUN_KINDS as readonly string[]).includes(text);
}
