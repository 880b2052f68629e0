// YAML parsing that keeps source positions, so every problem can name file, line and column.

import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { InputProblem } from './errors.js';

export type Path = readonly (string | number)[];

export interface YamlSource {
  readonly file: string;
  readonly text: string;
  readonly doc: Document.Parsed;
  readonly lines: LineCounter;
}

/** Parses `text`; returns the source or the YAML syntax problems (located). */
export function parseYaml(text: string, file: string): YamlSource | InputProblem[] {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return doc.errors.map((e) => {
      const pos = lines.linePos(e.pos[0]);
      return { file, line: pos.line, column: pos.col, message: `YAML: ${e.message.split('\n')[0]}` };
    });
  }
  return { file, text, doc, lines };
}

/** The node at `path`, or the deepest existing ancestor's node. */
function nodeAt(src: YamlSource, path: Path): { node: Node | null; exact: boolean } {
  let node: unknown = src.doc.contents;
  for (let i = 0; i < path.length; i++) {
    const next = isMap(node) || isSeq(node) ? (node.get(path[i], true) as unknown) : undefined;
    if (next === undefined || next === null) return { node: node as Node | null, exact: false };
    node = next;
  }
  return { node: node as Node | null, exact: true };
}

/** The key node of `key` in the map at `path`, if present. */
function keyAt(src: YamlSource, path: Path, key: string): Node | undefined {
  const { node, exact } = nodeAt(src, path);
  if (!exact || !isMap(node)) return undefined;
  const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === key);
  return pair && (pair.key as Node);
}

/** A problem located at the value at `path` (or at `key`'s name in the map at `path`). */
export function problemAt(src: YamlSource, path: Path, message: string, key?: string): InputProblem {
  const node = key !== undefined ? keyAt(src, path, key) : nodeAt(src, path).node;
  const offset = node?.range?.[0];
  // a field missing from an empty document has no node: its place is the top of the file
  const pos = offset !== undefined ? src.lines.linePos(offset) : { line: 1, col: 1 };
  const field = [...path, ...(key !== undefined ? [key] : [])].join('.');
  return { file: src.file, line: pos.line, column: pos.col, field: field || undefined, message };
}

/**
 * Where the text of the scalar at `path` begins (1-based line, and the column its lines are
 * indented to), so positions inside an inline `source: |` are reported in the scenario's terms.
 */
export function scalarOrigin(src: YamlSource, path: Path): { line: number; column: number } | undefined {
  const { node, exact } = nodeAt(src, path);
  if (!exact || !isScalar(node) || !node.range) return undefined;
  const start = src.lines.linePos(node.range[0]);
  if (node.type !== 'BLOCK_LITERAL' && node.type !== 'BLOCK_FOLDED') return { line: start.line, column: start.col };
  const rows = src.text.split('\n');
  for (let i = start.line; i < rows.length; i++) {
    if (rows[i].trim() === '') continue;
    return { line: start.line + 1, column: rows[i].length - rows[i].trimStart().length + 1 };
  }
  return { line: start.line + 1, column: 1 };
}
