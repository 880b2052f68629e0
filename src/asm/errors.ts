// Assembler diagnostics. Bad input never escapes as a stack trace: inside the assembler a
// statement that cannot be understood throws `SourceError`; the driver records it (file, line,
// column, message), skips the statement and goes on, and at the end throws one `AsmError`
// listing everything it found (up to MAX_DIAGNOSTICS).

/** A place in the source: 1-based line and column. */
export interface Pos {
  readonly line: number;
  readonly column: number;
  /** the file, when not the one being assembled (an included file) */
  readonly file?: string;
}

export interface AsmDiagnostic {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

/** Everything wrong with a source text. `format()` prints one `file:line:column: message` per line. */
export class AsmError extends Error {
  readonly diagnostics: readonly AsmDiagnostic[];

  constructor(diagnostics: readonly AsmDiagnostic[]) {
    super(formatDiagnostics(diagnostics));
    this.name = 'AsmError';
    this.diagnostics = diagnostics;
  }

  format(): string {
    return formatDiagnostics(this.diagnostics);
  }
}

function formatDiagnostics(list: readonly AsmDiagnostic[]): string {
  return list.map((d) => `${d.file}:${d.line}:${d.column}: ${d.message}`).join('\n');
}

/** Bad input at `pos`; caught by `Diagnostics.guard`. Internal to the assembler. */
export class SourceError extends Error {
  constructor(
    readonly pos: Pos,
    message: string,
  ) {
    super(message);
  }
}

/** The problem was already recorded elsewhere (a broken constant); the current statement just stops. */
export class AlreadyReported extends Error {}

export const MAX_DIAGNOSTICS = 50;

/** Collects diagnostics for one file, keeping at most MAX_DIAGNOSTICS. */
export class Diagnostics {
  private readonly list: AsmDiagnostic[] = [];
  private dropped = 0;

  constructor(readonly file: string) {}

  add(pos: Pos, message: string): void {
    if (this.list.length < MAX_DIAGNOSTICS) this.list.push({ file: pos.file ?? this.file, line: pos.line, column: pos.column, message });
    else this.dropped++;
  }

  /**
   * Runs `fn` and returns its result; a SourceError it throws is recorded and undefined
   * returned (AlreadyReported likewise, silently). Any other exception is a bug and propagates.
   */
  guard<T>(fn: () => T): T | undefined {
    try {
      return fn();
    } catch (err) {
      if (err instanceof SourceError) this.add(err.pos, err.message);
      else if (!(err instanceof AlreadyReported)) throw err;
      return undefined;
    }
  }

  get count(): number {
    return this.list.length + this.dropped;
  }

  /** As many problems as are reported: the assembler stops looking for more. */
  get full(): boolean {
    return this.list.length >= MAX_DIAGNOSTICS;
  }

  /**
   * Throws AsmError when anything was recorded: the diagnostics of each file sorted by line and
   * column, files in the order they first had one.
   */
  throwIfAny(): void {
    if (this.count === 0) return;
    const files = [...new Set(this.list.map((d) => d.file))];
    const sorted = [...this.list].sort((a, b) => files.indexOf(a.file) - files.indexOf(b.file) || a.line - b.line || a.column - b.column);
    if (this.full) {
      const last = sorted[sorted.length - 1];
      sorted.push({ ...last, message: `too many errors: the assembler stopped after ${MAX_DIAGNOSTICS}${this.dropped > 0 ? ` (${this.dropped} more seen)` : ''}` });
    }
    throw new AsmError(sorted);
  }
}

/** `n thing` or `n things`. */
export function count(n: number, thing: string): string {
  return `${n} ${thing}${n === 1 ? '' : 's'}`;
}

/** ` (did you mean 'x'?)` for the candidate closest to `word` (edit distance <= 2), else ''. */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  const w = word.toLowerCase();
  let best: string | undefined;
  let bestDistance = Math.min(2, w.length - 1);
  for (const c of candidates) {
    const d = editDistance(w, c.toLowerCase());
    if (d <= bestDistance && (best === undefined || d < bestDistance || c < best)) {
      best = c;
      bestDistance = d;
    }
  }
  return best === undefined ? '' : ` (did you mean '${best}'?)`;
}

/** Edit distance of `a` and `b` counting a swap of two adjacent characters as one edit. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}
