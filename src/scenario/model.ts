// What a loaded scenario is: its programs, symbols, paging setup and (for a file listing VMs)
// its guests, plus the small resolvers every later stage uses on it.

import type { AsmResult } from '../asm/index.js';
import type { Profile } from '../isa/profile.js';
import type { HostLayout } from '../vmm/index.js';
import type { InputProblem } from './errors.js';
import type { PagingSetup } from './paging.js';
import type { ScenarioFile } from './schema.js';
import type { Path } from './yaml.js';
import type { VmmOptions } from './vmm-settings.js';

export interface LoadedProgram {
  readonly name: string;
  /** physical address of the program's address `org` */
  readonly at: number;
  readonly org: number;
  readonly asm: AsmResult;
}

export interface Symbol {
  /** the program address (what code sees under relocation) */
  readonly value: number;
  /** where the label lies in physical memory (the program's at + value - org) */
  readonly physical: number;
  readonly program: string;
}

/** One VM of a multi-VM file: its guest scenario, with the budget and expectations it runs with. */
export interface LoadedVm {
  readonly name: string;
  readonly guest: Scenario;
}

export interface HostSpec {
  readonly vms: readonly LoadedVm[];
  readonly layout: HostLayout;
  readonly quantum?: number;
  /** how the VMM hosts the VMs (nested paging: stage-2 geometry, table area, each VM's physmap) */
  readonly vmm: VmmOptions;
}

export interface Scenario {
  readonly file: string;
  readonly name: string;
  readonly description: string;
  readonly spec: ScenarioFile;
  readonly profile: Profile;
  readonly programs: readonly LoadedProgram[];
  readonly symbols: ReadonlyMap<string, Symbol>;
  /** the paging hardware and table layout, when translation includes paging */
  readonly paging: PagingSetup | undefined;
  /** a file that lists `vms`: the guests and where they go in the host (undefined otherwise) */
  readonly host?: HostSpec;
  /** how a VMM hosts this guest when it runs under one (its `vmm:` block) */
  readonly vmm: VmmOptions;
  /** legal but probably not meant (each names the file): shown before the run */
  readonly warnings: readonly string[];
  /** locates a field of the file, for problems found after loading (e.g. by the runner) */
  readonly locate: (path: Path, message: string) => InputProblem;
}

/** A memory-expectation key: an integer, "0x..." or a symbol (its physical address). */
export function resolveAddress(key: string, symbols: ReadonlyMap<string, Symbol>): number | undefined {
  if (/^(0x[0-9a-f]+|\d+)$/i.test(key)) return Number(key);
  return symbols.get(key)?.physical;
}

/** A value field: an integer, or a symbol's program address. Caller has checked references. */
export function resolveValue(v: number | string, symbols: ReadonlyMap<string, Symbol>): number {
  return typeof v === 'number' ? v : symbols.get(v)!.value;
}

/** Physical address of a memory block (`at`, or `page` times the page size). */
export function blockAddress(b: ScenarioFile['memory'][number], paging: PagingSetup | undefined): number {
  return b.at ?? (b.page ?? 0) * (paging?.pageBytes ?? 0);
}
