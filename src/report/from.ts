// `report --from FILE...`: a report made of JSON saved earlier — `run --json`, `diff --json`,
// `walk --json` of one scenario (one file of each at most), or a whole `report --json`. Each
// file is read with its size bounded, its nesting bounded, and checked against the fields the
// page reads (zod); anything else is bad input, located at the file and the field.

import { z } from 'zod';
import { InputError, type InputProblem } from '../scenario/errors.js';
import { InputFileError, readInputFile } from '../scenario/input.js';
import type { DiffData } from '../scenario/diff.js';
import { SCHEMA_VERSION, type RunData } from '../scenario/record.js';
import type { WalkData } from '../scenario/walk.js';
import { REPORT_KIND, type ReportData } from './data.js';

/** Largest JSON file `--from` reads (a report of the churn scenario is about 0.3 MB). */
export const MAX_FROM_BYTES = 64 * 2 ** 20;
/** Deepest nesting of arrays and objects accepted (a four-level table tree is about 20 deep). */
export const MAX_FROM_DEPTH = 64;

const int = z.number().int();
const scenario = z.looseObject({ file: z.string(), name: z.string(), description: z.string().optional() });
const decoded = z.looseObject({ hpa: z.number(), flags: z.string() });
const entryFields = { index: int, entryAddress: z.number(), entryHex: z.string(), flags: z.record(z.string(), z.boolean()), role: z.string(), next: z.number() };
const step = z.looseObject({ depth: int, ...entryFields });
const fault = z.looseObject({ kind: z.string(), depth: int });

const runSchema = z.looseObject({
  schemaVersion: int,
  scenario,
  runs: z.array(
    z.looseObject({
      label: z.string(),
      under: z.string(),
      end: z.string(),
      retired: z.number(),
      console: z.string(),
      expectations: z.looseObject({ ok: z.boolean(), checked: z.boolean(), failures: z.array(z.unknown()) }),
      checks: z
        .looseObject({
          equivalence: z.looseObject({ holds: z.boolean(), compared: z.number() }),
          safety: z.looseObject({ holds: z.boolean(), accesses: z.number(), windows: z.number() }),
          efficiency: z.looseObject({ holds: z.boolean(), direct: z.number(), exitsPer1000: z.number(), exits: z.record(z.string(), z.number()) }),
        })
        .optional(),
      placement: z.looseObject({ ranges: z.array(z.looseObject({ gpa: z.number(), hpa: z.number(), size: z.number() })) }).optional(),
    }),
  ),
  host: z.looseObject({ memorySize: z.number(), reserve: z.number(), vms: z.array(z.looseObject({ name: z.string(), addr0: z.number(), vmsize: z.number() })) }).optional(),
  ok: z.boolean(),
});

const diffSchema = z.looseObject({
  schemaVersion: int,
  scenario,
  under: z.literal('shadow-eager'),
  vm: z.looseObject({ index: int, name: z.string() }),
  geometry: z.string(),
  exits: int.nonnegative(),
  changes: int.nonnegative(),
  rows: z.array(z.looseObject({ event: int, cause: z.string(), reason: z.string(), guestRoot: z.number(), view: z.string(), gva: z.number(), pages: int.positive(), before: decoded.optional(), after: decoded.optional() })),
  dropped: int.nonnegative(),
});

const walkSchema = z.looseObject({
  schemaVersion: int,
  scenario,
  walks: z.array(z.looseObject({ va: z.number(), access: z.string(), mode: z.string(), steps: z.array(step), result: z.looseObject({ ok: z.boolean() }) })),
  shadow: z
    .looseObject({
      ptbr: z.number(),
      view: z.string(),
      walks: z.array(z.looseObject({ va: z.number(), access: z.string(), mode: z.string(), guest: z.looseObject({ steps: z.array(step), result: z.looseObject({ ok: z.boolean(), gpa: z.number().optional(), fault: fault.optional() }) }), verdict: z.string() })),
    })
    .optional(),
});

interface TableShape {
  depth: number;
  base: number;
  slots: number;
  entries: (Omit<z.infer<typeof step>, 'depth'> & { va: number; table?: TableShape })[];
}
const tableSchema: z.ZodType<TableShape> = z.lazy(() => z.looseObject({ depth: int, base: z.number(), slots: z.number(), entries: z.array(z.looseObject({ ...entryFields, va: z.number(), decoded: z.string().optional(), table: tableSchema.optional() })) }));
const treeSchema = z.looseObject({ kind: z.enum(['guest', 'shadow', 'stage2']), name: z.string(), geometry: z.string(), levels: z.looseObject({ indexBits: z.array(int.min(1).max(32)).min(1).max(8), offsetBits: int.min(0).max(32) }), space: z.string(), root: tableSchema, entries: int, omitted: int });
const hostTablesSchema = z.looseObject({ under: z.string(), afterRun: z.boolean(), memorySize: z.number(), pageBytes: z.number(), regions: z.array(z.looseObject({ kind: z.string(), lo: z.number(), hi: z.number(), label: z.string() })), trees: z.array(treeSchema) });

const reportSchema = z.looseObject({
  schemaVersion: int,
  kind: z.literal(REPORT_KIND),
  scenario,
  run: runSchema.optional(),
  diff: diffSchema.optional(),
  walks: z.array(walkSchema).optional(),
  tables: z.array(hostTablesSchema).optional(),
  notes: z.array(z.string()),
});

type Kind = 'report' | 'run' | 'diff' | 'walk';
const SCHEMAS: Readonly<Record<Kind, z.ZodType>> = { report: reportSchema, run: runSchema, diff: diffSchema, walk: walkSchema };

/**
 * The report data of the JSON files at `paths` (at most one of each kind, all of one scenario).
 * Throws InputError, located at the file (and the line and column, or the field), for a file
 * that cannot be read, is not JSON, is of another schemaVersion, or is not such a document.
 */
export function reportFromFiles(paths: readonly string[]): ReportData {
  const docs = paths.map((p) => readDocument(p));
  const seen = new Map<Kind, string>();
  for (const d of docs) {
    const before = seen.get(d.kind);
    if (before !== undefined) throw new InputError([{ file: d.file, message: `a second ${d.kind} JSON (the first is ${before}): give one of each kind` }]);
    seen.set(d.kind, d.file);
  }
  const names = [...new Set(docs.map((d) => (d.data as { scenario: { name: string } }).scenario.name))];
  if (names.length > 1) throw new InputError([{ file: docs[1].file, message: `scenario '${names[1]}', but ${docs[0].file} is of scenario '${names[0]}': give the JSON of one scenario` }]);
  const report = docs.find((d) => d.kind === 'report');
  if (report && docs.length > 1) throw new InputError([{ file: docs.find((d) => d !== report)!.file, message: `${report.file} is a whole report: give it alone` }]);
  if (report) return report.data as ReportData;
  const of = <T>(k: Kind) => docs.find((d) => d.kind === k)?.data as T | undefined;
  const run = of<RunData>('run');
  const diff = of<DiffData>('diff');
  const walk = of<WalkData>('walk');
  const first = docs[0].data as { scenario: ReportData['scenario'] };
  return {
    schemaVersion: SCHEMA_VERSION,
    kind: REPORT_KIND,
    scenario: first.scenario,
    ...(run ? { run } : {}),
    ...(diff ? { diff } : {}),
    ...(walk ? { walks: [walk] } : {}),
    notes: ['made from saved JSON: parts that were not given are not shown (a saved `report --json` has them all)'],
  };
}

/** One file: read (bounded), parsed, its version and kind told, and checked. */
function readDocument(file: string): { file: string; kind: Kind; data: unknown } {
  let text: string;
  try {
    text = readInputFile(file, MAX_FROM_BYTES);
  } catch (e) {
    if (e instanceof InputFileError) throw new InputError([{ file, message: e.message }]);
    throw e;
  }
  const data = parseJson(file, text);
  const head = z.looseObject({ schemaVersion: z.unknown() }).safeParse(data);
  if (!head.success) throw new InputError([{ file, message: 'not a JSON object: expected what `shadowlab run --json`, `diff --json`, `walk --json` or `report --json` prints' }]);
  if (head.data.schemaVersion !== SCHEMA_VERSION) throw new InputError([{ file, field: 'schemaVersion', message: `JSON of schemaVersion ${JSON.stringify(head.data.schemaVersion) ?? 'none'}; this shadowlab reads schemaVersion ${SCHEMA_VERSION} (print it again with this version)` }]);
  const kind = kindOf(file, head.data);
  const checked = SCHEMAS[kind].safeParse(data);
  if (!checked.success) throw new InputError(checked.error.issues.map((i) => ({ file, field: i.path.map(String).join('.') || '(top)', message: `${i.message} (in a ${kind} JSON)` })));
  return { file, kind, data };
}

/** The kind of document `o` is, by the fields that tell them apart. */
function kindOf(file: string, o: Record<string, unknown>): Kind {
  if (o.kind === REPORT_KIND) return 'report';
  if ('scenarios' in o) throw new InputError([{ file, message: 'a run of several scenarios: save the run --json of one scenario' }]);
  if ('runs' in o) return 'run';
  if ('rows' in o) return 'diff';
  if ('walks' in o) return 'walk';
  throw new InputError([{ file, message: 'not a shadowlab run, diff, walk or report JSON (it has none of the fields runs, rows, walks, kind)' }]);
}

/** `text` parsed as JSON, nested at most MAX_FROM_DEPTH deep; a located InputError otherwise. */
function parseJson(file: string, text: string): unknown {
  const depth = nestingDepth(text);
  if (depth > MAX_FROM_DEPTH) throw new InputError([{ file, message: `nested ${depth} levels deep, more than the ${MAX_FROM_DEPTH} a report JSON has` }]);
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new InputError([{ file, ...positionOf(text, (e as Error).message), message: `not JSON: ${(e as Error).message.replace(/\s*\(line \d+ column \d+\)$/, '')}` }]);
  }
}

/** The deepest nesting of [ and { outside strings. */
function nestingDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) max = Math.max(max, ++depth);
    else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}

/** Line and column of a JSON.parse error message ("... at position N" or "(line L column C)"). */
function positionOf(text: string, message: string): Pick<InputProblem, 'line' | 'column'> {
  const lc = /line (\d+) column (\d+)/.exec(message);
  if (lc) return { line: Number(lc[1]), column: Number(lc[2]) };
  const pos = /position (\d+)/.exec(message) ?? (/end of JSON input/.test(message) ? ['', String(text.length)] : null);
  if (!pos) return {};
  const before = text.slice(0, Number(pos[1])).split('\n');
  return { line: before.length, column: before[before.length - 1].length + 1 };
}
