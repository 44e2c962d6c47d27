/**
 * Writing a chunk: all of it (a write may take less than asked), or, for a sparse source, all of it
 * but the file-system blocks that are only zeros, which stay holes.
 */
import fs from 'node:fs';

/** Yield to the worker's loop at least this often while streaming one file. */
export const YIELD_EVERY_BYTES = 1024 * 1024;

/**
 * The unit of a hole: a sparse source's chunks are written but for their all-zero blocks of this
 * size (aligned to the file offset), as `cp --sparse=auto` looks for zeros block by block. Smaller
 * than a chunk, so data scattered one block per chunk does not fill the holes between it.
 */
const HOLE_BYTES = 4096;
const ZEROS = Buffer.alloc(HOLE_BYTES);

/** Writes `buffer[0, length)` at the file's offset, all of it. */
export function writeAll(fd: number, buffer: Buffer, length: number): void {
  let offset = 0;
  while (offset < length) offset += fs.writeSync(fd, buffer, offset, length - offset);
}

/** Writes `buffer[start, end)` at file offset `position`, all of it (positional: the file offset stays). */
export function writeAllAt(fd: number, buffer: Buffer, start: number, end: number, position: number): void {
  let offset = start;
  while (offset < end) offset += fs.writeSync(fd, buffer, offset, end - offset, position + offset - start);
}

/**
 * Writes `buffer[0, length)` at file offset `position`, leaving out its all-zero blocks (aligned to
 * `HOLE_BYTES` in the file) so they stay holes; the caller sets the file's length at the end. Runs of
 * data blocks go out in one write. Only for sparse sources: a dense file is written as it is.
 */
export function writeSkippingZeros(fd: number, buffer: Buffer, length: number, position: number): void {
  let run = -1; // start of the pending run of data blocks, or -1
  let i = 0;
  while (i < length) {
    const end = Math.min(length, i + HOLE_BYTES - ((position + i) % HOLE_BYTES));
    // Allocation-free: compares buffer[i, end) with as many zeros.
    if (buffer.compare(ZEROS, 0, end - i, i, end) === 0) {
      if (run >= 0) writeAllAt(fd, buffer, run, i, position + run);
      run = -1;
    } else if (run < 0) run = i;
    i = end;
  }
  if (run >= 0) writeAllAt(fd, buffer, run, length, position + run);
}
