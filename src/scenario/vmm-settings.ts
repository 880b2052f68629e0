// How a scenario asks to be hosted under a VMM: its `vmm:` block (one guest: quantum, reserve,
// and for nested paging the host memory, the stage-2 geometry, the table area and the physmap;
// a file listing VMs: the same for the host, and a physmap per VM), checked and located here.
// What only the whole host plan can tell (a physmap overlapping the stage-2 tables) is checked
// when the run is planned.

import { explicitPhysmap, type PhysRange } from '../mmu/physmap.js';
import type { NestedOptions } from '../vmm/index.js';
import type { Geometry } from '../paging/index.js';
import { resolveGeometry } from './paging.js';
import type { PhysmapSetting, VmmSettings } from './schema.js';
import type { Path } from './yaml.js';

/** The VMM settings a run passes on: scheduling and, for nested paging, the host plan. */
export interface VmmOptions {
  readonly quantum?: number;
  readonly reserve?: number;
  readonly nested: NestedOptions;
}

/** One guest's physmap as the scenario gives it, with where it is written. */
export interface PhysmapEntry {
  readonly setting: PhysmapSetting | undefined;
  /** the field that holds it, e.g. ['vmm', 'physmap'] or ['vms', 2, 'physmap'] */
  readonly at: Path;
  readonly guestBytes: number;
  /** the guest's page size when it pages (a physmap needs one), else undefined */
  readonly pageBytes: number | undefined;
}

/**
 * The options of `vmm` with each guest's physmap (located problems reported): the stage-2
 * geometry resolved, explicit ranges validated against the guest and host memory and the VMM's
 * reserve. `hostBytes` is the host's memory when the scenario fixes it.
 */
export function vmmOptions(vmm: VmmSettings | undefined, guests: readonly PhysmapEntry[], hostBytes: number | undefined, report: (p: Path, m: string) => void): VmmOptions {
  const stage2 = vmm?.stage2 ? resolveGeometry(vmm.stage2.geometry, report, ['vmm', 'stage2', 'geometry']) : undefined;
  const physmaps = guests.map((g) => physmapOf(g, hostBytes, vmm?.reserve, report));
  const nested: NestedOptions = {
    ...(hostBytes === undefined ? {} : { memory: hostBytes }),
    ...(vmm?.reserve === undefined ? {} : { reserve: vmm.reserve }),
    ...(stage2 ? { stage2 } : {}),
    ...(vmm?.tables === undefined ? {} : { tableBytes: vmm.tables }),
    ...(physmaps.some((p) => p !== undefined) ? { physmaps } : {}),
  };
  return { ...(vmm?.quantum === undefined ? {} : { quantum: vmm.quantum }), ...(vmm?.reserve === undefined ? {} : { reserve: vmm.reserve }), nested };
}

/** A guest's physmap setting, checked: explicit ranges (sizes default to one page), or 'on-demand'. */
function physmapOf(g: PhysmapEntry, hostBytes: number | undefined, reserve: number | undefined, report: (p: Path, m: string) => void): readonly PhysRange[] | 'on-demand' | undefined {
  if (g.setting === undefined) return undefined;
  if (g.pageBytes === undefined) {
    report(g.at, 'a physmap places the pages of a paging guest (nested paging); this guest does not page');
    return undefined;
  }
  if (g.setting === 'on-demand') return 'on-demand';
  const page = g.pageBytes;
  const ranges = g.setting.map((r) => ({ gpa: r.gpa, hpa: r.hpa, size: r.size ?? page }));
  const host = hostBytes ?? 2 ** 32;
  const result = explicitPhysmap({ guestBytes: g.guestBytes, pageBytes: page, hostBytes: host, ranges });
  if (!result.ok) {
    for (const p of result.problems) report([...g.at, p.index, ...(p.field ? [p.field] : [])], p.message);
    return undefined;
  }
  const { mappedPages, guestPages } = result.physmap;
  if (mappedPages < guestPages) report(g.at, `maps ${mappedPages} of the guest's ${guestPages} pages of ${page} bytes; map every page, or use 'on-demand'`);
  const low = reserve ?? 4096;
  ranges.forEach((r, i) => {
    if (r.hpa < low) report([...g.at, i, 'hpa'], `host [0x${r.hpa.toString(16)}, 0x${(r.hpa + r.size).toString(16)}) overlaps the VMM's reserve [0, 0x${low.toString(16)})`);
  });
  return ranges;
}

/** A paging guest's page size from its geometry (undefined for a guest that does not page). */
export function pageBytesOf(geometry: Geometry | undefined): number | undefined {
  return geometry ? 2 ** geometry.offsetBits : undefined;
}
