// `shadowlab merge FILE...`: the JSON of `verify --shard k/n` runs joined into what one unsharded
// `verify` with the same target, seed and runs prints — the same verdicts, figures and first
// counterexample (the lowest diverging guest of all shards). The shards must be 1/n .. n/n of
// one verification: same input, profile, overrides, seed, runs and classes; else exit 2 naming
// the file. A separate command rather than a `verify` mode: it takes files, not a profile, and
// none of verify's options but --json and --emit.

import { readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import type { Command } from 'commander';
import { mergeCampaigns, verdictsOf } from '../../checker/verify/verify.js';
import { withOverrides, type Profile } from '../../isa/profile.js';
import { PROFILES } from '../../isa/profiles/index.js';
import { UsageError } from '../../scenario/errors.js';
import { loadScenario, type Scenario } from '../../scenario/load.js';
import { SCHEMA_VERSION } from '../../scenario/record.js';
import type { Outcome } from '../main.js';
import { verifyData, writeVerify, type ShardData, type VerifyData } from './verify.js';

/** Largest shard file read (a shard of 10,000 guests is about 3 MB). */
const MAX_SHARD_BYTES = 64 * 1024 * 1024;

/** What every shard of one verification states alike. */
const SAME = ['schemaVersion', 'input', 'profile', 'overrides', 'paging', 'seed', 'runs', 'instructions', 'preconditions'] as const;

export function registerMerge(program: Command, done: (o: Outcome) => void): void {
  program
    .command('merge')
    .description('join the JSON of `verify --shard k/n` runs (shards 1/n .. n/n) into the output of one unsharded verify')
    .argument('<files...>', 'the shards’ JSON files, in any order')
    .option('--emit <dir>', 'write each counterexample as a scenario file, as verify --emit does')
    .option('--json', 'print the verdicts as JSON')
    .action((files: string[], opts: { emit?: string; json?: boolean }) => {
      const shards = files.map(readShard);
      const [data, profile, scenario] = mergeShards(files, shards);
      done(writeVerify(data, profile, scenario, opts, ''));
    });
}

/** Shard file `file` as data; UsageError naming it when it cannot be read or is not a shard. */
function readShard(file: string): ShardData {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`${file}: cannot read it: ${(e as Error).message}`);
  }
  if (text.length > MAX_SHARD_BYTES) throw new UsageError(`${file}: larger than ${MAX_SHARD_BYTES} bytes; not a shard of verify`);
  let d: Partial<ShardData>;
  try {
    d = JSON.parse(text) as Partial<ShardData>;
  } catch (e) {
    throw new UsageError(`${file}: not JSON (${(e as Error).message}); merge takes what \`verify --shard k/n\` prints`);
  }
  if (typeof d !== 'object' || d === null || typeof d.shard !== 'object' || !d.campaigns || !d.preconditions) throw new UsageError(`${file}: not the output of \`verify --shard k/n\` (no shard and campaigns)`);
  if (!Object.values(d.campaigns).every((c) => c === null || Array.isArray(c))) throw new UsageError(`${file}: its campaigns are not one list per theorem; it was written by another version of \`verify --shard\``);
  if (d.schemaVersion !== SCHEMA_VERSION) throw new UsageError(`${file}: schemaVersion ${String(d.schemaVersion)}, this shadowlab writes ${SCHEMA_VERSION}`);
  return d as ShardData;
}

/** The verification the shards make together, its profile and scenario; UsageError naming the file that does not fit. */
export function mergeShards(files: readonly string[], shards: readonly ShardData[]): [VerifyData, Profile, Scenario | undefined] {
  const first = shards[0];
  shards.forEach((d, i) => {
    for (const k of SAME) if (!isDeepStrictEqual(d[k], first[k])) throw new UsageError(`${files[i]}: its ${k} differs from ${files[0]}'s: the shards of one merge must come from one verification (same target, --seed, --runs, --override, --paging)`);
    if (d.shard.count !== first.shard.count) throw new UsageError(`${files[i]}: shard ${d.shard.index}/${d.shard.count}, but ${files[0]} is one of ${first.shard.count}`);
    const j = shards.findIndex((x) => x.shard.index === d.shard.index);
    if (j !== i) throw new UsageError(`${files[i]}: shard ${d.shard.index}/${d.shard.count} again (also ${files[j]})`);
  });
  const missing = Array.from({ length: first.shard.count }, (_, i) => i + 1).filter((k) => !shards.some((d) => d.shard.index === k));
  if (missing.length) throw new UsageError(`merge: shards ${missing.map((k) => `${k}/${first.shard.count}`).join(', ')} missing (given: ${files.join(', ')})`);
  const s = 'scenario' in first.input ? loadScenario(first.input.scenario) : undefined;
  const base = s?.profile ?? PROFILES.get(first.profile);
  if (!base) throw new UsageError(`${files[0]}: unknown profile '${first.profile}'`);
  const profile = withOverrides(base, (first.overrides ?? []).map((o) => ({ mnemonic: o.instruction, trapsIn: o.trapsIn })));
  let campaigns;
  try {
    campaigns = mergeCampaigns(shards.map((d) => d.campaigns));
  } catch (e) {
    throw new UsageError(`merge: ${(e as Error).message.replace(/^mergeCampaigns: /, '')} (given: ${files.join(', ')})`);
  }
  const theorems = verdictsOf({ theorems: first.preconditions }, campaigns);
  const { schemaVersion, input, overrides, paging, seed, runs, instructions } = first;
  return [verifyData({ schemaVersion, input, profile: first.profile, ...(overrides ? { overrides } : {}), ...(paging ? { paging } : {}), seed, runs, instructions }, theorems, s), profile, s];
}
