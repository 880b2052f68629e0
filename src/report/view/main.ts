// The report page: reads the JSON embedded in the page (report --json's document) and draws
// its sections — summary and checks, memory map, page-table trees, the walk view and the shadow
// diff timeline — wiring a walk and a chosen exit to the trees they highlight.

import type { ReportData } from '../data.js';
import type { HostTablesJson, TreeJson } from '../tables.js';
import { el, hex, section } from './dom.js';
import { memoryMapSection } from './memory-map.js';
import { leavesTable, shadowAt, spaceKey, type Levels } from './replay.js';
import { summarySection } from './summary.js';
import { Timeline } from './timeline.js';
import { TreeView } from './trees.js';
import { walkSection } from './walk.js';

const spanOf = (levels: Levels) => (depth: number) => 2 ** (levels.offsetBits + levels.indexBits.slice(depth + 1).reduce((a, b) => a + b, 0));

function start(): void {
  const d = JSON.parse(document.getElementById('report-data')!.textContent!) as ReportData;
  const main = document.querySelector('main')!;
  const s = d.scenario;
  main.append(el('header', {}, el('h1', {}, `shadowlab report: ${s.name}`), s.description ? el('p', {}, s.description) : false, ...d.notes.map((n) => el('p', { class: 'note' }, n))));
  if (d.run) main.append(summarySection(d.run));
  const map = memoryMapSection(d);
  if (map) main.append(map);
  const views = (d.tables ?? []).map((t) => treeViews(t));
  if (views.length) main.append(section('trees', 'Page tables', el('p', { id: 'trees-state' }, `The tables ${d.tables?.[0]?.afterRun === false ? 'as the scenario starts' : 'after the run'}. Hover an entry to decode it; click a run of leaves to list them.`), ...views.map((v) => v.element)));
  const all = views.flatMap((v) => v.trees);
  if (d.walks?.length)
    main.append(
      walkSection(d.walks, d.tables?.[0]?.afterRun === false ? 'the state before the run' : 'the state after the run', (space, w) => {
        const path = new Set(('guest' in w ? w.guest.steps : w.steps).map((st) => st.entryAddress));
        const pageBytes = 2 ** (all[0]?.tree.levels.offsetBits ?? 12);
        const page = w.va - (w.va % pageBytes);
        for (const { tree, view } of all) {
          if (tree.kind === 'guest') view.highlight((e) => tree.root.base === space.ptbr && path.has(e.entryAddress));
          if (tree.kind === 'shadow') view.highlight((e) => tree.guestRoot === space.ptbr && tree.view === space.view && e.role === 'leaf' && e.va === page);
        }
      }),
    );
  const diff = d.diff;
  if (diff) {
    const shadows = all.filter((t) => t.tree.kind === 'shadow');
    const timeline = new Timeline(diff, (exit) => {
      const first = shadows[0]?.tree;
      if (!first) return;
      const spaces = shadowAt(diff.rows, exit, 2 ** first.levels.offsetBits);
      for (const { tree, view } of shadows) view.render(leavesTable(spaces.get(spaceKey(tree.guestRoot!, tree.view!))?.values() ?? [], tree.levels));
      document.getElementById('trees-state')!.textContent = `Guest tables after the run; shadow tables after exit ${exit} of ${diff.exits}, rebuilt from the diff rows (entries the exit set in green, those it dropped dashed).`;
    });
    main.append(timeline.element);
  }
  document.body.dataset.ready = String(Math.round(performance.now()));
}

/** A figure per tree of one host's tables, drawn as they stood after the run. */
function treeViews(t: HostTablesJson): { element: HTMLElement; trees: { tree: TreeJson; view: TreeView }[] } {
  const trees = t.trees.map((tree, i) => {
    const root = tree.kind === 'shadow' ? `root hPA ${hex(tree.root.base)}` : `root ${tree.space === 'guest-physical' ? 'gPA' : 'hPA'} ${hex(tree.root.base)}`;
    const more = tree.omitted ? `, ${tree.omitted} more not listed` : '';
    const view = new TreeView(`${t.under}:${i}`, tree.kind, `${tree.name} (${tree.geometry}, ${root}): ${tree.entries} present entries${more}`, spanOf(tree.levels));
    view.render(tree.root);
    return { tree, view };
  });
  return { element: el('div', { class: 'host', 'data-under': t.under }, el('h3', {}, `under ${t.under}`), ...trees.map((x) => x.view.element)), trees };
}

try {
  start();
} catch (e) {
  document.querySelector('main')?.prepend(el('p', { class: 'fails' }, `the report could not be drawn: ${String(e)}`));
  throw e;
}
