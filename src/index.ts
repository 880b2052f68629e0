// The library API: what `import … from 'shadowlab'` offers. A small, stable face over the
// layers below — load a scenario, run it (bare or under the VMMs) for its run record, walk
// addresses through its translation, list its shadow-table changes, assemble and disassemble. The records are the same plain
// data `shadowlab run --json` and `walk --json` print. Nothing in src/ imports this file.
//
// Errors: bad scenario input throws InputError (its `problems` are located: file, line,
// column, field); options that make no sense for the scenario throw UsageError; bad assembly
// throws AsmError (its `diagnostics`). Anything else is a broken invariant (a bug).

import { bundledName, bundledScenarioFiles, scenarioPath } from './scenario/bundled.js';
import { loadScenario as loadScenarioFile, type LoadOptions } from './scenario/load.js';
import type { Scenario } from './scenario/model.js';
import { runRecord, type RecordOptions, type RunData } from './scenario/record.js';
import { walkRecord, type WalkData, type WalkOptions } from './scenario/walk.js';
import { diffRecord, type DiffData, type DiffOptions } from './scenario/diff.js';

/** A scenario to run or walk: one already loaded, or what `loadScenario` takes. */
export type ScenarioSource = Scenario | string;

/**
 * Loads and checks the scenario `pathOrName` names: a YAML file, or — when no such file
 * exists — a bundled scenario by the name `shadowlab run` takes ('lde', 'vmm/jrst', 'jrst').
 * Throws InputError (every problem located) when the file is missing or bad, UsageError for a
 * name that is neither a file nor a bundled scenario.
 */
export function loadScenario(pathOrName: string, options: LoadOptions = {}): Scenario {
  return loadScenarioFile(scenarioPath(pathOrName), options);
}

/**
 * Runs a scenario and returns its run record (what `shadowlab run --json` prints for it):
 * bare by default, `under: ['vmm']` (or a list, or 'all') under the VMMs with their equivalence,
 * safety and efficiency verdicts; `record.ok` says whether its expectations were met.
 * Throws InputError for a bad scenario, UsageError for options it cannot honour.
 */
export function runScenario(source: ScenarioSource, options: RecordOptions = {}): RunData {
  return runRecord(scenarioOf(source), options);
}

/**
 * Walks virtual addresses (numbers, or decimal / 0x text, or labels of the scenario's programs)
 * through the scenario's translation without side effects: the base/bounds check, every
 * page-table step, and the physical address or the fault (what `shadowlab walk --json` prints).
 * Throws InputError for a bad scenario, UsageError for an address or option that makes no sense.
 */
export function walkScenario(source: ScenarioSource, addresses: readonly (number | string)[], options: WalkOptions = {}): WalkData {
  return walkRecord(scenarioOf(source), addresses.map(String), options);
}

/**
 * Runs a paging guest under the shadow-paging VMM and returns the changes of its shadow tables,
 * exit by exit, consecutive alike pages coalesced (what `shadowlab diff --json` prints).
 * Throws InputError when the scenario's guest has no shadow tables (a segment guest), UsageError
 * for a VM that is not there.
 */
export function diffScenario(source: ScenarioSource, options: DiffOptions = {}): DiffData {
  return diffRecord(scenarioOf(source), options);
}

/** The scenarios shipped with shadowlab: the name `loadScenario` and `shadowlab run` take, and the file. */
export function bundledScenarios(): { readonly name: string; readonly file: string }[] {
  return bundledScenarioFiles().map((file) => ({ name: bundledName(file), file }));
}

function scenarioOf(source: ScenarioSource): Scenario {
  return typeof source === 'string' ? loadScenario(source) : source;
}

// Loading from text: `parseScenario(yamlText, fileName, { dir })` (relative program files from `dir`).
export { parseScenario, type LoadOptions } from './scenario/load.js';
export type { Scenario } from './scenario/model.js';

// Run records and walks.
export { UNDER_KINDS, type UnderKind } from './scenario/under.js';
export { SCHEMA_VERSION, type ChecksJson, type ChecksSummary, type CompareJson, type RecordOptions, type RunColumn, type RunData, type TraceJson } from './scenario/record.js';
export type { AddressWalk, SegmentJson, StepJson, WalkData, WalkFaultKind, WalkOptions } from './scenario/walk.js';
export type { DiffData, DiffOptions } from './scenario/diff.js';
export type { DecodedEntry, DiffRow } from './shadow/index.js';

// Errors.
export { InputError, UsageError, type InputProblem } from './scenario/errors.js';

// Assembly: `assemble(source, { profile })` → chunks, symbols, labels, source map;
// `disassemble(header, imm, profile)` → one instruction's text; `disassembleRange` → a listing.
export { AsmError, assemble, disassemble, disassembleRange, formatListing } from './asm/index.js';
export type { AsmChunk, AsmDiagnostic, AsmOptions, AsmResult, ListingLine, SourceLine, WordReader } from './asm/index.js';
export { PROFILES, profileByName } from './isa/profiles/index.js';
export type { Profile } from './isa/profile.js';
