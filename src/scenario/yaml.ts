// YAML parsing that keeps source positions, so every problem can name file, line and column.
// Hostile YAML is bounded before anything recursive touches it: nesting depth is measured on the
// parser's flat token tree (the composer and toJS recurse), and the size of the document with
// every alias expanded is measured before it is converted (an "alias bomb" is small on disk).
// Anchors, aliases and merge keys (`<<: *base`) are ordinary YAML and work.

import { Composer, isAlias, isMap, isPair, isScalar, isSeq, LineCounter, Parser, type CST, type Document, type Node } from 'yaml';
import type { InputProblem } from './errors.js';

export type Path = readonly (string | number)[];

export interface YamlSource {
  readonly file: string;
  readonly text: string;
  readonly doc: Document.Parsed;
  readonly lines: LineCounter;
}

/** Deepest nesting of collections a scenario may use (real files use fewer than 8). */
export const MAX_YAML_DEPTH = 64;
/** Most values the document may hold with every alias expanded. */
export const MAX_YAML_NODES = 200_000;

/**
 * Parses `text` into one document; returns the source, or the problems (located): YAML syntax,
 * nesting deeper than MAX_YAML_DEPTH, more than one document, a key that is not a plain value,
 * aliases that expand past MAX_YAML_NODES values.
 */
export function parseYaml(text: string, file: string): YamlSource | InputProblem[] {
  const lines = new LineCounter();
  const at = (offset: number, message: string): InputProblem => {
    const pos = lines.linePos(offset);
    return { file, line: pos.line, column: pos.col, message };
  };
  const tokens = Array.from(new Parser(lines.addNewLine).parse(text));
  const deep = tooDeep(tokens);
  if (deep !== undefined) return [at(deep, `YAML: nesting deeper than ${MAX_YAML_DEPTH} levels`)];
  const docs = Array.from(new Composer({ prettyErrors: false, uniqueKeys: true, merge: true }).compose(tokens, true, text.length));
  const doc = docs[0] as Document.Parsed;
  if (docs.length > 1) return [at(docs[1].range[0], 'YAML: a scenario file holds one document; this is a second one (after ---)')];
  if (doc.errors.length > 0) return doc.errors.map((e) => at(e.pos[0], `YAML: ${e.message.split('\n')[0]}`));
  const shape = shapeProblem(doc);
  if (shape) return [at(shape.offset, shape.message)];
  return { file, text, doc, lines };
}

/** The offset of a collection nested deeper than MAX_YAML_DEPTH in the token tree, if any. */
function tooDeep(tokens: readonly CST.Token[]): number | undefined {
  const stack: { token: CST.Token | undefined; depth: number }[] = tokens.map((token) => ({ token, depth: 0 }));
  while (stack.length > 0) {
    const { token, depth } = stack.pop()!;
    if (!token) continue;
    if (depth > MAX_YAML_DEPTH) return 'offset' in token ? token.offset : 0;
    if (token.type === 'document') stack.push({ token: token.value, depth });
    else if (token.type === 'block-map' || token.type === 'block-seq' || token.type === 'flow-collection') {
      for (const item of token.items) {
        if ('key' in item) stack.push({ token: item.key ?? undefined, depth: depth + 1 });
        stack.push({ token: item.value, depth: depth + 1 });
      }
    }
  }
  return undefined;
}

/**
 * A key that is not a scalar (YAML's "complex keys", which no scenario field uses), aliases
 * that expand the document past MAX_YAML_NODES values, or an alias with no anchor before it. Walks the node tree in document order,
 * children before parents and without recursion, so every anchored node's expanded size is
 * known before an alias to it (an alias always follows its anchor).
 */
function shapeProblem(doc: Document.Parsed): { offset: number; message: string } | undefined {
  const sizes = new Map<unknown, number>();
  const sizeOf = (n: unknown): number => sizes.get(isAlias(n) ? n.resolve(doc) : n) ?? 1;
  const stack: { node: { items: unknown[]; range?: readonly number[] | null }; next: number }[] = [];
  let unresolved: { offset: number; message: string } | undefined;
  const enter = (n: unknown) => {
    if (isMap(n) || isSeq(n)) stack.push({ node: n as { items: unknown[] }, next: 0 });
    else if (isAlias(n) && !unresolved && !n.resolve(doc)) unresolved = { offset: n.range?.[0] ?? 0, message: `YAML: the alias *${n.source} has no anchor &${n.source} before it` };
  };
  enter(doc.contents);
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    if (top.next === top.node.items.length) {
      stack.pop();
      let size = 1;
      for (const it of top.node.items) size += isPair(it) ? 1 + sizeOf(it.value) : sizeOf(it);
      sizes.set(top.node, size);
      if (size > MAX_YAML_NODES) return { offset: top.node.range?.[0] ?? 0, message: `YAML: with its aliases expanded this holds more than ${MAX_YAML_NODES} values (an alias bomb?)` };
      continue;
    }
    const item = top.node.items[top.next++];
    if (!isPair(item)) {
      enter(item);
      continue;
    }
    if (item.key !== null && !isScalar(item.key) && !isAlias(item.key)) {
      return { offset: (item.key as Node).range?.[0] ?? 0, message: 'YAML: a key must be a plain value such as a field name; this one is a mapping or a list' };
    }
    enter(item.value);
  }
  return unresolved;
}

/**
 * The plain value of the document (aliases resolved: the expansion was bounded by parseYaml), or
 * the Error the YAML library raised for something parseYaml did not foresee.
 */
export function toPlain(src: YamlSource): unknown {
  try {
    return src.doc.toJS({ maxAliasCount: -1 });
  } catch (e) {
    return e instanceof Error ? e : new Error(String(e));
  }
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
