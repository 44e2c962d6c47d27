/**
 * Copies one entry atomically: the bytes go to a temp name in the destination directory, which is
 * renamed to the final name only once complete and with its metadata set. Whatever goes wrong, the
 * temp file is removed, so no final name ever holds a partial file.
 *
 * The file copier is a generator that yields between chunks: the worker runs it in time slices and
 * can answer an abort in the middle of a multi-GiB file.
 */
import fs from 'node:fs';
import { entryError, type SerializedError } from './errors.js';
import { applyFdMetadata, fixPathMetadata, micros, utimeSeconds, type SourceStat } from './metadata.js';

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_NONBLOCK } = fs.constants;
/** Yield to the worker's loop at least this often while streaming one file. */
const YIELD_EVERY_BYTES = 1024 * 1024;

/** A per-entry failure that is pcopy's own finding rather than an OS error. */
export class EntryFailure extends Error {
  constructor(readonly error: SerializedError) {
    super(error.message);
  }
}

export interface CopyContext {
  /** Reused read buffer; its length is the chunk size. */
  buffer: Buffer;
  preserveOwner: boolean;
  /** Yield after every chunk instead of every MiB (the test-only delay needs it). */
  yieldEveryChunk: boolean;
  /** Called with the bytes written after each chunk. */
  onBytes(n: number): void;
}

export type CopyOutcome = 'copied' | 'same';

/** Size and mtime (to the microsecond) match: rsync's quick check, so the file is not rewritten. */
export function matchesQuickCheck(have: fs.BigIntStats | undefined, want: SourceStat): have is fs.BigIntStats {
  return !!have && have.isFile() && have.size === BigInt(want.size) && micros(have.mtimeNs) === micros(want.mtimeNs);
}

/**
 * Streams `src` into `tmp` in chunks, then renames it to `dest`. `st` is the lstat taken when the job
 * was sized; if the file's inode, size or mtime differ at the end, it changed under us: `CHANGED`.
 */
export function* copyRegularFile(
  src: string,
  dest: string,
  tmp: string,
  st: SourceStat,
  ctx: CopyContext,
): Generator<void, CopyOutcome> {
  const existing = fs.lstatSync(dest, { bigint: true, throwIfNoEntry: false });
  if (matchesQuickCheck(existing, st)) {
    fixPathMetadata(dest, existing, st, ctx.preserveOwner);
    return 'same';
  }
  // O_NONBLOCK: if the name became a FIFO since the scan, opening it must not hang.
  const fdIn = fs.openSync(src, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  let fdOut = -1;
  let created = false;
  try {
    fdOut = fs.openSync(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
    created = true;
    const { buffer } = ctx;
    let total = 0;
    let sinceYield = 0;
    while (total < st.size) {
      const n = fs.readSync(fdIn, buffer, 0, buffer.length, null);
      if (n === 0) break;
      writeAll(fdOut, buffer, n);
      total += n;
      ctx.onBytes(n);
      sinceYield += n;
      if (ctx.yieldEveryChunk || sinceYield >= YIELD_EVERY_BYTES) {
        sinceYield = 0;
        yield;
      }
    }
    const end = fs.fstatSync(fdIn, { bigint: true });
    if (!end.isFile() || end.ino !== st.ino) throw new EntryFailure(entryError.changed('replaced'));
    if (end.size !== BigInt(st.size) || total !== st.size) throw new EntryFailure(entryError.changed(`size ${st.size} → ${end.size}`));
    if (end.mtimeNs !== st.mtimeNs) throw new EntryFailure(entryError.changed('modified'));
    applyFdMetadata(fdOut, st, ctx.preserveOwner);
    fs.closeSync(fdOut);
    fdOut = -1;
    renameOver(tmp, dest);
    created = false;
    return 'copied';
  } finally {
    fs.closeSync(fdIn);
    if (fdOut >= 0) fs.closeSync(fdOut);
    if (created) removeQuietly(tmp);
  }
}

/** Recreates a symlink with exactly the same target bytes (never followed), via a temp link and rename. */
export function copySymlink(src: string, dest: string, tmp: string, st: SourceStat, preserveOwner: boolean): CopyOutcome {
  const target = fs.readlinkSync(src, { encoding: 'buffer' });
  const existing = fs.lstatSync(dest, { bigint: true, throwIfNoEntry: false });
  if (existing?.isSymbolicLink() && fs.readlinkSync(dest, { encoding: 'buffer' }).equals(target)) {
    fixPathMetadata(dest, existing, st, preserveOwner);
    return 'same';
  }
  fs.symlinkSync(target, tmp);
  try {
    if (preserveOwner) fs.lchownSync(tmp, st.uid, st.gid);
    fs.lutimesSync(tmp, utimeSeconds(st.atimeNs), utimeSeconds(st.mtimeNs));
    renameOver(tmp, dest);
  } catch (err) {
    removeQuietly(tmp);
    throw err;
  }
  return 'copied';
}

/**
 * rename(2) replaces a file or symlink atomically, never following it. A directory in the way is
 * removed only if empty; a non-empty one is never deleted: the entry fails instead.
 */
function renameOver(tmp: string, dest: string): void {
  try {
    fs.renameSync(tmp, dest);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EISDIR') throw err;
    try {
      fs.rmdirSync(dest);
    } catch {
      throw new EntryFailure(entryError.notEmpty());
    }
    fs.renameSync(tmp, dest);
  }
}

function writeAll(fd: number, buffer: Buffer, length: number): void {
  let offset = 0;
  while (offset < length) offset += fs.writeSync(fd, buffer, offset, length - offset);
}

export function removeQuietly(path: string): void {
  try {
    fs.unlinkSync(path);
  } catch {
    // already gone, or never made: nothing to clean
  }
}
