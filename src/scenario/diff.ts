// `shadowlab diff`: how a paging guest's shadow tables changed, exit by exit, when the scenario
// runs under the shadow-paging VMM (shadow-eager). Every VMM exit is an event (numbered from 1);
// each changed shadow entry is listed with the exit, the reason, the address space (guest root
// and view), the guest page, and the entry before and after — consecutive pages changed alike
// coalesced into one row (shadow/diff.ts). What `--json` prints and the library API returns.

import { diffRows, type DiffRow } from '../shadow/index.js';
import { Monitor, type ShadowMemory } from '../vmm/index.js';
import { InputError, UsageError } from './errors.js';
import type { Scenario } from './model.js';
import { SCHEMA_VERSION } from './record.js';
import { guestOf, hostTooSmall, monitorSettings, whyNotUnder } from './under.js';

export interface DiffOptions {
  /** which VM of a scenario that lists VMs (default 0) */
  readonly vm?: number;
  /** the first and last exit to show (default: all) */
  readonly from?: number;
  readonly to?: number;
  /** guest instructions to run (default: the scenario's budget) */
  readonly steps?: number;
}

export interface DiffData {
  readonly schemaVersion: number;
  readonly scenario: { readonly name: string; readonly file: string };
  readonly under: 'shadow-eager';
  readonly vm: { readonly index: number; readonly name: string };
  readonly geometry: string;
  /** exits the VM took (events are numbered 1..exits) and shadow entry changes in all */
  readonly exits: number;
  readonly changes: number;
  /** the range shown */
  readonly from: number;
  readonly to: number;
  readonly rows: readonly DiffRow[];
  /** changes older than the log keeps, not shown (0 unless the run changed more than it holds) */
  readonly dropped: number;
}

/**
 * Runs scenario `s` under shadow-eager (no checks: this is the run, not a verdict) and returns
 * the shadow changes of VM `o.vm` between exits `o.from` and `o.to`. Throws InputError when the
 * scenario's guests cannot run under shadow paging (a segment guest has no shadow tables).
 */
export function diffRecord(s: Scenario, o: DiffOptions = {}): DiffData {
  const why = whyNotUnder('shadow-eager', s);
  if (why) throw new InputError([{ file: s.file, message: `no shadow tables to show: ${why}` }]);
  const guests = s.host ? s.host.vms.map((v) => guestOf(v.guest, o.steps ?? v.guest.spec.steps)) : [guestOf(s, o.steps ?? s.spec.steps)];
  const index = o.vm ?? 0;
  if (index >= guests.length) throw new UsageError(`--vm ${index}: ${s.name} has ${guests.length === 1 ? 'one VM (0)' : `${guests.length} VMs (0 to ${guests.length - 1})`}`);
  let m: Monitor;
  try {
    m = new Monitor(guests, { kind: 'shadow-eager', ...monitorSettings(s) });
    m.run();
  } catch (e) {
    throw hostTooSmall(s, e);
  }
  const mem = m.vms[index].memory as ShadowMemory;
  const exits = mem.log.event;
  const from = Math.max(0, o.from ?? 0);
  const to = Math.min(exits, o.to ?? exits);
  const kept = mem.log.between(0);
  const shown = kept.filter((c) => c.event >= from && c.event <= to);
  return {
    schemaVersion: SCHEMA_VERSION,
    scenario: { name: s.name, file: s.file },
    under: 'shadow-eager',
    vm: { index, name: guests[index].name },
    geometry: mem.geometry.name,
    exits,
    changes: mem.log.total,
    from,
    to,
    rows: diffRows(mem.geometry, shown),
    dropped: mem.log.total - kept.length,
  };
}
