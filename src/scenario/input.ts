// Reading input files with their size bounded before they are read: a scenario, a program's
// `file:`, an `.include`, a VM's scenario, standard input. Each must be a regular file (not a
// device, FIFO or directory) of at most MAX_INPUT_BYTES, holding UTF-8 text.

import { closeSync, constants, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import { relative } from 'node:path';

/**
 * Largest input files, by kind. A scenario's YAML is parsed at about 4 µs a byte in the worst
 * case and the assembler takes about 30 µs a line, so these keep a malformed file's refusal
 * under a second; the largest bundled files are a 5 KB scenario and a 22 KB assembly file.
 */
export const MAX_SCENARIO_BYTES = 64 * 2 ** 10;
/** Largest assembly file (a program's `file:` or an `.include`). */
export const MAX_SOURCE_BYTES = 256 * 2 ** 10;
/** Most assembly text one scenario may assemble, includes and inline sources together. */
export const MAX_TOTAL_SOURCE_BYTES = 1 * 2 ** 20;
/** The general bound, for any other input. */
export const MAX_INPUT_BYTES = MAX_SCENARIO_BYTES;

/** Why an input could not be read: a message about the file as a whole. */
export class InputFileError extends Error {
  override readonly name = 'InputFileError';
}

/**
 * The text of the file at `path`. Throws InputFileError (with a message naming what was
 * expected) when it cannot be opened, is not a regular file, is larger than `max` bytes, or is
 * not UTF-8 text. FIFOs are opened non-blocking, so a pipe with no writer cannot hang us.
 */
export function readInputFile(path: string, max = MAX_INPUT_BYTES): string {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw new InputFileError(`cannot read it (${errnoText(e)})`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new InputFileError(`expected a regular file, found ${kindOf(st)}`);
    if (st.size > max) throw new InputFileError(`it is ${st.size} bytes, more than the ${max} bytes an input file may have`);
    return decodeText(readBounded((buf, at) => readSync(fd, buf, at, buf.length - at, null), max));
  } finally {
    closeSync(fd);
  }
}

/** Reads standard input (fd 0) up to `max` bytes, as readInputFile does a file. */
export function readStdin(max = MAX_INPUT_BYTES): string {
  return decodeText(
    readBounded((buf, at) => {
      try {
        return readSync(0, buf, at, buf.length - at, null);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EAGAIN') return retryLater();
        if ((e as NodeJS.ErrnoException).code === 'EOF') return 0;
        throw new InputFileError(`cannot read standard input (${errnoText(e)})`);
      }
    }, max),
  );
}

/** A non-blocking stdin with nothing yet: wait a little and report 0 new bytes but not EOF. */
function retryLater(): number {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
  return -1;
}

/**
 * Calls `read(buffer, offset)` (bytes read; 0 at end of file; -1: nothing yet, try again)
 * until end of file; throws InputFileError as soon as more than `max` bytes arrive. Files
 * that report no size (/proc) are read this way too, so the bound holds for them.
 */
function readBounded(read: (buf: Buffer, at: number) => number, max: number): Buffer {
  let buf = Buffer.alloc(Math.min(max + 1, 64 * 1024));
  let n = 0;
  for (;;) {
    if (n === buf.length) {
      if (n > max) throw new InputFileError(`it is more than ${max} bytes, the most an input file may have`);
      const bigger = Buffer.alloc(Math.min(max + 1, buf.length * 2));
      buf.copy(bigger, 0, 0, n);
      buf = bigger;
    }
    const got = read(buf, n);
    if (got === 0) break;
    if (got > 0) n += got;
  }
  if (n > max) throw new InputFileError(`it is more than ${max} bytes, the most an input file may have`);
  return buf.subarray(0, n);
}

/** The bytes as text; throws InputFileError for binary content (NUL bytes, invalid UTF-8). */
function decodeText(bytes: Buffer): string {
  const nul = bytes.indexOf(0);
  if (nul >= 0) throw new InputFileError(`expected a text file, found binary data (a NUL byte at offset ${nul})`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new InputFileError('expected a text file in UTF-8, found bytes that are not UTF-8');
  }
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a pipe (FIFO)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'something that is not a regular file';
}

function errnoText(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES') return 'permission denied';
  if (code === 'EISDIR') return 'it is a directory';
  return code ?? String(e);
}

/** `path` relative to the working directory when that is shorter (for messages). */
export function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && rel.length < path.length ? rel : path;
}

/** Whether anything exists at `path` (a file, directory, device...). */
export function pathExists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}
