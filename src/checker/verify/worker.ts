// A worker thread of GuestPool (pool.ts): rebuilds the profile and the palette from its init
// data, says 'ready', then answers each batch with the outcomes of its positions.

import { parentPort, workerData } from 'node:worker_threads';
import type { GuestOutcome } from './campaign.js';
import { paletteFromData } from './palette.js';
import { profileOf, type Batch, type WorkerInit } from './pool.js';
import { runPosition, type GuestSource } from './verify.js';

const port = parentPort!;
const init = workerData as WorkerInit;

/** `f`'s value as a message, or its error's. */
function answer<T>(f: () => T): void {
  try {
    port.postMessage({ ok: true, value: f() });
  } catch (e) {
    port.postMessage({ ok: false, error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
  }
}

let src: GuestSource | undefined;
answer(() => {
  const p = profileOf(init.profile);
  src = { p, palette: paletteFromData(p, init.palette), seed: init.seed, offset: init.offset };
  return 'ready';
});

port.on('message', (b: Batch) =>
  answer(() => {
    const out: GuestOutcome[] = [];
    for (const i of b.positions) {
      const o = runPosition(src!, b.kind, i);
      out.push(o);
      if (b.stopAtFirst && o.diverges) break;
    }
    return out;
  }),
);
