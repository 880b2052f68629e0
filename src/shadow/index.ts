// Shadow paging: shadow address spaces (gVA -> hPA tables in host memory, one setter, a change
// log), the composition that fills them on a miss (hidden vs true faults, A/D emulation, kernel
// and user views), and the coherence invariant checked from the guest's tables. Imports only
// `paging` and `mmu`.

export * from './space.js';
export * from './compose.js';
export * from './coherence.js';
export * from './diff.js';
