// Bad input, reported as located messages — never a stack trace. The CLI prints `format()`
// and exits with status 2.

export interface InputProblem {
  readonly file: string;
  /** 1-based; absent when the problem is about the file as a whole */
  readonly line?: number;
  readonly column?: number;
  /** dotted path of the scenario field, e.g. "machine.memory" or "programs.1.at" */
  readonly field?: string;
  readonly message: string;
}

export class InputError extends Error {
  constructor(readonly problems: readonly InputProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'InputError';
  }
  format(): string {
    return this.message;
  }
}

/** "file:line:column: field: message" with the parts that are known. */
export function formatProblem(p: InputProblem): string {
  const where = [p.file, p.line, p.line !== undefined ? p.column : undefined].filter((x) => x !== undefined).join(':');
  return `${where}: ${p.field ? `${p.field}: ` : ''}${p.message}`;
}
