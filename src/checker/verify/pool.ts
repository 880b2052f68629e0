// Generated guests run over worker threads (`verify --workers N`). Each worker (worker.ts, built
// to dist/checker/verify/worker.js) rebuilds the profile from its name and overrides and the
// palette from plain data — nothing is classified again — and runs the positions it is sent.
// Positions go out in ascending batches; a search that finds a diverging position f sends no
// batch beyond f (a worker stops its batch at its own first), so every position below f is run
// and the reduction in position order (campaign.ts) is the one a single thread makes.

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { withOverrides, type InstructionOverride, type Profile } from '../../isa/profile.js';
import { PROFILES } from '../../isa/profiles/index.js';
import type { GuestOutcome, TheoremKind } from './campaign.js';
import type { PaletteData } from './palette.js';

export const MAX_WORKERS = 64;

/** A profile as another thread can rebuild it: a bundled profile's name and the overrides on it. */
export interface ProfileRef {
  readonly name: string;
  readonly overrides: readonly InstructionOverride[];
}

export function profileOf(ref: ProfileRef): Profile {
  const p = PROFILES.get(ref.name);
  if (!p) throw new Error(`profileOf: no bundled profile ${ref.name}`);
  return withOverrides(p, ref.overrides);
}

/** What a worker starts from. */
export interface WorkerInit {
  readonly profile: ProfileRef;
  readonly seed: number;
  /** 1 when position 0 holds a given guest (generated guest i is at position i + 1) */
  readonly offset: number;
  readonly palette: PaletteData;
}

/** A batch for a worker: run `positions` under `kind`, stopping at the first that diverges when `stopAtFirst`. */
export interface Batch {
  readonly kind: TheoremKind;
  readonly positions: readonly number[];
  readonly stopAtFirst: boolean;
}

/**
 * The worker's built module: beside this one in dist/, or — when this module runs from src/
 * (tests) — its build in dist/ (`node scripts/build.mjs` makes it). Throws when it is not built.
 */
function workerEntry(): URL {
  const here = new URL('./worker.js', import.meta.url);
  const url = import.meta.url.endsWith('.ts') ? new URL(here.href.replace(/\/src\/checker\/verify\/worker\.js$/, '/dist/checker/verify/worker.js')) : here;
  if (!existsSync(fileURLToPath(url))) throw new Error(`GuestPool: the worker module ${fileURLToPath(url)} is not built (run node scripts/build.mjs)`);
  return url;
}

export class GuestPool {
  private constructor(private readonly workers: readonly Worker[]) {}

  /** `count` workers started from `init`, each ready (its profile and palette rebuilt). */
  static async start(count: number, init: WorkerInit): Promise<GuestPool> {
    if (!Number.isInteger(count) || count < 1 || count > MAX_WORKERS) throw new RangeError(`GuestPool: ${count} workers is not a whole number from 1 to ${MAX_WORKERS}`);
    const entry = workerEntry();
    const workers = Array.from({ length: count }, () => new Worker(entry, { workerData: init }));
    const pool = new GuestPool(workers);
    try {
      await Promise.all(workers.map((w) => reply<'ready'>(w)));
    } catch (e) {
      await pool.close();
      throw e;
    }
    return pool;
  }

  /** The outcomes of `positions` (ascending) under `kind`; `progress` told how many came back. */
  async run(kind: TheoremKind, positions: readonly number[], stopAtFirst: boolean, progress?: (done: number) => void): Promise<GuestOutcome[]> {
    const size = Math.max(1, Math.min(16, Math.ceil(positions.length / (8 * this.workers.length))));
    const batches = Array.from({ length: Math.ceil(positions.length / size) }, (_, b) => positions.slice(b * size, (b + 1) * size));
    const out: GuestOutcome[] = [];
    let next = 0;
    let limit = Infinity;
    const serve = async (w: Worker): Promise<void> => {
      while (next < batches.length && batches[next][0] < limit) {
        const batch: Batch = { kind, positions: batches[next++], stopAtFirst };
        w.postMessage(batch);
        const got = await reply<GuestOutcome[]>(w);
        out.push(...got);
        const f = got.find((o) => o.diverges);
        if (stopAtFirst && f) limit = Math.min(limit, f.position);
        progress?.(out.length);
      }
    };
    await Promise.all(this.workers.map(serve));
    return out.sort((a, b) => a.position - b.position);
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** The next message of `w`; rejects when the worker fails or exits first. */
function reply<T>(w: Worker): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const done = () => {
      w.off('message', onMessage);
      w.off('error', onError);
      w.off('exit', onExit);
    };
    const onMessage = (m: { ok: true; value: T } | { ok: false; error: string }) => {
      done();
      if (m.ok) resolve(m.value);
      else reject(new Error(`verify worker: ${m.error}`));
    };
    const onError = (e: Error) => {
      done();
      reject(e);
    };
    const onExit = (code: number) => {
      done();
      reject(new Error(`verify worker: exited (${code}) before it answered`));
    };
    w.on('message', onMessage);
    w.on('error', onError);
    w.on('exit', onExit);
  });
}
