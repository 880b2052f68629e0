// The memory bus, observed. A FrameStore with a `bus` tells it every access to its bytes made
// through a live view (PhysicalMemory, its windows, a PhysmapMemory over it): store address,
// size, read or write. Every CPU over such a store stops caching frames (no translation windows,
// no direct frame access), so nothing reaches the bytes around it.
//
// Like the function codes of a 68000, the CPU says what it is doing while it drives the bus:
//
//   cpu     the Machine running (inside its `run`, or delivering a trap), or undefined: the
//           access is software's — the VMM's own code, or whoever holds a view
//   cycle   fetch | data (an instruction's operand) | walk (its MMU reading tables, writing
//           A/D) | trap (trap entry: old PSW, trap record, new PSW)
//
// The CPU sets and restores these around each part; an observer reads them at each access.
//
// A CPU caches a translation in a window (a run of one frame it then reads or writes without
// asking memory). Over an observed store it first asks the bus (`window`) for the whole host
// range the window would reach: the observer approves it only when every access in that range
// would pass the checks it makes at each access, and counts it; otherwise the CPU opens no
// window and every access is told one by one. A store without a bus pays one field test on the
// paths that miss a window.

/** What the CPU driving the bus is doing. */
export const CYCLE_SOFTWARE = 0;
export const CYCLE_FETCH = 1;
export const CYCLE_DATA = 2;
export const CYCLE_WALK = 3;
export const CYCLE_TRAP = 4;
export type BusCycle = typeof CYCLE_SOFTWARE | typeof CYCLE_FETCH | typeof CYCLE_DATA | typeof CYCLE_WALK | typeof CYCLE_TRAP;
export const CYCLE_NAMES = ['software', 'fetch', 'data', 'walk', 'trap'] as const;

export interface BusObserver {
  /** the CPU driving the bus, or undefined while software accesses memory */
  cpu: object | undefined;
  cycle: BusCycle;
  /** An access of `n` bytes at store address `a`, written (`write`) or read. */
  access(a: number, n: number, write: boolean): void;
  /**
   * May the CPU driving the bus make accesses anywhere in [a, a + n) (one frame) untold, for
   * reads, writes (`write`) or instruction fetches (`fetch`)? Yes only when each of them would
   * pass as if told; a CPU asks again after any change to its translation state.
   */
  window(a: number, n: number, write: boolean, fetch: boolean): boolean;
}

/**
 * Runs `f` as software on `bus` (when there is one): the memory's own bookkeeping inside a CPU's
 * access — mapping a page on first touch — is not the CPU's.
 */
export function asSoftware<T>(bus: BusObserver | undefined, f: () => T): T {
  if (bus === undefined) return f();
  const { cpu, cycle } = bus;
  bus.cpu = undefined;
  bus.cycle = CYCLE_SOFTWARE;
  try {
    return f();
  } finally {
    bus.cpu = cpu;
    bus.cycle = cycle;
  }
}
