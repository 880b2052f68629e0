// Schema problems as located messages: zod's issues, and the keys no schema can see.

import type { InputProblem } from './errors.js';
import { problemAt, type Path, type YamlSource } from './yaml.js';

type Issue = { code: string; path: PropertyKey[]; message: string; keys?: string[]; issues?: readonly { message: string }[]; errors?: readonly (readonly Issue[])[] };

/** Turns one zod issue into located problems (one per unknown key; a union's best branch). */
export function issueProblems(src: YamlSource, issue: Issue): InputProblem[] {
  const path = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p)) as Path;
  if (issue.code === 'unrecognized_keys' && issue.keys) {
    return issue.keys.map((k) => problemAt(src, path, `unknown field '${k}'`, k));
  }
  if (issue.code === 'invalid_key' && path.length > 0) {
    const key = String(path[path.length - 1]);
    return [problemAt(src, path.slice(0, -1), `'${key}': ${issue.issues?.[0]?.message ?? issue.message}`, key)];
  }
  if (issue.code === 'invalid_union' && issue.errors?.length) {
    const branch = bestBranch(issue.errors);
    if (branch) return branch.flatMap((i) => issueProblems(src, { ...i, path: [...issue.path, ...i.path] }));
    if (issue.message === 'Invalid input') return [problemAt(src, path, expectedOneOf(issue.errors))];
  }
  return [problemAt(src, path, issue.message.replace(/^Invalid input: /, ''))];
}

/**
 * The union branch that got furthest into the value: one whose problems are not all a wrong
 * type at the union itself (that branch was for another kind of value). Undefined when every
 * branch failed on the type alone.
 */
function bestBranch(branches: readonly (readonly Issue[])[]): readonly Issue[] | undefined {
  const deep = branches.filter((b) => b.some((i) => i.path.length > 0 || i.code !== 'invalid_type'));
  return deep.length === 1 ? deep[0] : undefined;
}

/** "expected string or object, received number" from the branches' own type problems. */
function expectedOneOf(branches: readonly (readonly Issue[])[]): string {
  const parts = branches.flatMap((b) => b.map((i) => /expected (\w+), received (\w+)/.exec(i.message)).filter((m): m is RegExpExecArray => m !== null));
  if (parts.length === 0) return 'a value of the wrong kind';
  return `expected ${[...new Set(parts.map((m) => m[1]))].join(' or ')}, received ${parts[0][2]}`;
}

/**
 * `__proto__` used as a key anywhere: YAML keeps it as an ordinary key, but a JavaScript record
 * cannot hold it (the schema would silently drop it), so it is refused by name.
 */
export function reservedKeys(src: YamlSource, value: unknown): InputProblem[] {
  const out: InputProblem[] = [];
  const stack: { v: unknown; path: Path }[] = [{ v: value, path: [] }];
  while (stack.length > 0 && out.length < 10) {
    const { v, path } = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    for (const [k, child] of Object.entries(v as Record<string, unknown>)) {
      if (k === '__proto__') out.push(problemAt(src, path, `'__proto__' cannot be a key in a scenario (it names nothing here)`, k));
      else stack.push({ v: child, path: [...path, Array.isArray(v) ? Number(k) : k] });
    }
  }
  return out;
}
