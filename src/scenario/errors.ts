// Bad input, reported as located messages — never a stack trace. The CLI prints `format()`
// and exits with status 2. A message is at most MAX_MESSAGE_LINES lines: the first problems,
// then how many more there were. Text that came from a file is shown with its control bytes
// escaped, so a hostile file cannot drive the terminal.

export interface InputProblem {
  readonly file: string;
  /** 1-based; absent when the problem is about the file as a whole */
  readonly line?: number;
  readonly column?: number;
  /** dotted path of the scenario field, e.g. "machine.memory" or "programs.1.at" */
  readonly field?: string;
  readonly message: string;
}

/** Most lines one bad-input message takes (the last one counts what was left out). */
export const MAX_MESSAGE_LINES = 6;

export class InputError extends Error {
  constructor(readonly problems: readonly InputProblem[]) {
    super(formatProblems(problems));
    this.name = 'InputError';
  }
  format(): string {
    return this.message;
  }
}

/** A command-line option or argument that makes no sense (exit 2), raised below the CLI too. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/**
 * The problems as lines, first come first, at most MAX_MESSAGE_LINES: when there are more,
 * the last line says how many were left out. Problems are sorted by file and position.
 */
export function formatProblems(problems: readonly InputProblem[]): string {
  const sorted = [...problems].sort((a, b) => (a.file === b.file ? (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0) : 0));
  const lines = sorted.map(formatProblem);
  if (lines.length <= MAX_MESSAGE_LINES) return lines.join('\n');
  const shown = lines.slice(0, MAX_MESSAGE_LINES - 1);
  return [...shown, `and ${lines.length - shown.length} more problem${lines.length - shown.length === 1 ? '' : 's'}`].join('\n');
}

/** "file:line:column: field: message" with the parts that are known, on one line. */
export function formatProblem(p: InputProblem): string {
  const where = [p.file, p.line, p.line !== undefined ? p.column : undefined].filter((x) => x !== undefined).join(':');
  return printable(`${where}: ${p.field ? `${p.field}: ` : ''}${p.message}`.replace(/\n/g, ' '));
}

/**
 * `text` with every control character (C0 but tab and newline, DEL, C1) and the Unicode
 * direction overrides written as visible escapes (\x1b, \u202e), so it cannot move the cursor,
 * recolour or retitle a terminal.
 */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) => {
    const code = c.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}
