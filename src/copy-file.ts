/**
 * Copies one entry atomically: the bytes go to a temp name in the destination directory, which is
 * renamed to the final name only once complete and with its metadata set. Whatever goes wrong, the
 * temp file is removed, so no final name ever holds a partial file.
 *
 * The file copier is a generator that yields between chunks: the worker runs it in time slices and
 * can answer an abort in the middle of a multi-GiB file.
 */
import fs from 'node:fs';
import { now } from './clock.js';
import { osPath } from './byte-names.js';
import { EntryFailure, entryError } from './errors.js';
import { applyFdMetadata, fixPathMetadata, isSparse, metadataDiffers, micros, mtimesMatch, targetMode, utimeSeconds, type MetadataPolicy, type SourceStat } from './metadata.js';
import type { CopyOptions, OverwriteMode } from './options.js';
import type { CopyOutcome } from './protocol.js';
import { verifyCopy } from './verify.js';
import { writeAll, writeSkippingZeros, YIELD_EVERY_BYTES } from './write-chunks.js';


export type { CopyOutcome } from './protocol.js';

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_NONBLOCK } = fs.constants;
/** Opening a source: never hang on a name that became a FIFO since the scan; follow links only with -L. */
export function sourceOpenFlags(dereference: boolean): number {
  return O_RDONLY | O_NONBLOCK | (dereference ? 0 : O_NOFOLLOW);
}
/** How entries are copied: the same for every job of a run. */
export interface CopyPolicy extends MetadataPolicy {
  overwrite: OverwriteMode;
  /** Times this many microseconds apart count as equal. */
  modifyWindowUs: number;
  fsync: boolean;
  verify: boolean;
  dryRun: boolean;
  /** -L: the source path may be a symlink to follow. */
  dereference: boolean;
  /** -H: files with more than one link are handed back to the parent, which links them together. */
  hardLinks: boolean;
}

/** The policy of a run from its options: owner only as root, modes less `umask` when not preserved. */
export function copyPolicy(opts: CopyOptions, asRoot: boolean, umask: number): CopyPolicy {
  return {
    ...opts.preserve,
    owner: opts.preserve.owner && asRoot,
    umask,
    overwrite: opts.overwrite,
    modifyWindowUs: Math.round(opts.modifyWindow * 1e6),
    fsync: opts.fsync,
    verify: opts.verify,
    dryRun: opts.dryRun,
    dereference: opts.dereference,
    hardLinks: opts.hardLinks,
  };
}

export interface CopyContext {
  /** Reused read buffer; its length is the chunk size. */
  buffer: Buffer;
  policy: CopyPolicy;
  /** Yield after every chunk instead of every MiB (the test-only delay needs it). */
  yieldEveryChunk: boolean;
  /** The worker's effective uid and gid: a fresh file already has them. */
  uid: number;
  gid: number;
  /** Called with the bytes written after each chunk (holes left out count as written). */
  onBytes(n: number): void;
  /**
   * Told how long a source's first read took (ms: how long the device made the copy wait), with its
   * descriptor and size; may answer with a follower, told how far the copy has read (-1: it stopped),
   * to read further ahead in the file. A follower owns the descriptor from then on: told -1, it closes
   * it once its own reads are in (a read still in flight must not find the number reused).
   */
  onFirstRead?(ms: number, fd: number, size: number): Follower | undefined;
  /** Called with bytes read past a size of 0 (a /proc or /sys file): they add to the bar's total too. */
  onGrown(n: number): void;
}

/** Reads ahead of a copy in one file: told the copy's position after each chunk; -1 when it stops, and then it closes the descriptor. */
export type Follower = (position: number) => void;

/**
 * A source the worker's read-ahead already opened (with `sourceOpenFlags`), with its first bytes
 * read (the descriptor's offset is past them). The copy closes the descriptor; `release` gives the
 * buffer back once its bytes are written (or not needed).
 */
export interface ReadStart {
  fd: number;
  buffer: Buffer;
  bytes: number;
  release(): void;
}

/** The source entry's stat: lstat, or stat with -L (where a source path may be a symlink to follow). */
export function statSource(src: string, dereference: boolean): fs.BigIntStats {
  return dereference ? fs.statSync(osPath(src), { bigint: true }) : fs.lstatSync(osPath(src), { bigint: true });
}

/**
 * Throws `CHANGED` if the source is no longer the file `st` describes: replaced (another inode, or
 * not a file), resized, or modified. By path, not by an open descriptor: a file renamed over the
 * source is a change too. A file of size 0 may have read as data (/proc, /sys): that stands when
 * it still has size 0, the same inode and the same mtime.
 */
export function checkUnchanged(src: string, st: SourceStat, dereference: boolean, bytesRead = st.size): void {
  const end = statSource(src, dereference);
  if (!end.isFile() || end.ino !== st.ino) throw new EntryFailure(entryError.changed('replaced'));
  if (end.size !== BigInt(st.size) || (bytesRead !== st.size && st.size !== 0)) throw new EntryFailure(entryError.changed(`size ${st.size} → ${end.size}`));
  if (end.mtimeNs !== st.mtimeNs) throw new EntryFailure(entryError.changed('modified'));
}

/** Size and mtime (to the microsecond, within the window) match: rsync's quick check. */
export function matchesQuickCheck(have: fs.BigIntStats | undefined, want: SourceStat, windowUs = 0): have is fs.BigIntStats {
  return have?.isFile() === true && have.size === BigInt(want.size) && mtimesMatch(have.mtimeNs, want.mtimeNs, windowUs);
}

/**
 * Decides what to do with an entry whose destination may exist: an outcome when there is nothing to
 * copy, undefined when it must be copied. A matching file gets its metadata corrected in place.
 */
export function existingOutcome(dest: string, st: SourceStat, policy: CopyPolicy, sameAs: (have: fs.BigIntStats) => boolean): CopyOutcome | undefined {
  const have = lstatInDest(dest, policy.dryRun);
  if (!have) return undefined;
  if (policy.overwrite === 'never') return 'kept';
  // A non-empty directory in the way is never removed: the entry fails before anything is written
  // (not a whole temp copy written and thrown away again on every rerun).
  if (have.isDirectory() && !isEmptyDir(dest)) throw new EntryFailure(entryError.notEmpty());
  // --update keeps a newer file only over a file: a change of type is always an update (as rsync -u).
  const fileOverFile = have.isFile() && (st.mode & fs.constants.S_IFMT) === fs.constants.S_IFREG;
  if (policy.overwrite === 'update' && fileOverFile && micros(have.mtimeNs) - micros(st.mtimeNs) > BigInt(policy.modifyWindowUs)) {
    return 'kept';
  }
  if (policy.overwrite === 'always' || !sameAs(have)) return undefined;
  const fixed = policy.dryRun ? metadataDiffers(have, st, policy) : fixPathMetadata(dest, have, st, policy);
  return fixed ? 'fixed' : 'same';
}

/**
 * lstat of a destination entry. A dry run cannot open up a directory as the real run does (one of
 * ours lent u+rwx), nor replace a file in the way of a directory: what it cannot see is not there.
 */
export function lstatInDest(dest: string, dryRun: boolean): fs.BigIntStats | undefined {
  try {
    return fs.lstatSync(osPath(dest), { bigint: true, throwIfNoEntry: false });
  } catch (err) {
    const { code } = err as NodeJS.ErrnoException;
    if (dryRun && (code === 'EACCES' || code === 'ENOTDIR')) return undefined;
    throw err;
  }
}

/**
 * A dry run's answer for an entry it would write: what the real run's rename would meet. A non-empty
 * directory in the way fails the entry, as `renameOver` would.
 */
export function dryRunWrite(dest: string, fresh: boolean): CopyOutcome {
  if (!fresh && lstatInDest(dest, true)?.isDirectory() && !isEmptyDir(dest)) throw new EntryFailure(entryError.notEmpty());
  return 'copied';
}

/** Holds no entry; one that cannot be listed counts as empty (the rename then tries, and says). */
function isEmptyDir(dir: string): boolean {
  try {
    return fs.readdirSync(osPath(dir)).length === 0;
  } catch {
    return true;
  }
}

/**
 * Streams `src` into `tmp` in chunks, then renames it to `dest`. `st` is the lstat taken when the job
 * was sized; if the file's inode, size or mtime differ at the end, it changed under us: `CHANGED`.
 * `fresh`: the destination directory was made by this run, so nothing can be in the way and no
 * inherited setgid or default ACL can alter what the temp file is born with: fewer syscalls.
 */
export function* copyRegularFile(
  src: string,
  dest: string,
  tmp: string,
  st: SourceStat,
  ctx: CopyContext,
  fresh = false,
  start?: ReadStart,
): Generator<void, CopyOutcome> {
  const { policy } = ctx;
  // The copy owns a read-ahead's start from here: on every way out its descriptor is closed and its
  // buffer given back (`first` holds it until its chunk is written).
  let fdIn = start ? start.fd : -1;
  let first = start;
  let fdOut = -1;
  let created = false;
  let follow: Follower | undefined;
  try {
    if (!fresh) {
      const outcome = existingOutcome(dest, st, policy, (have) => matchesQuickCheck(have, st, policy.modifyWindowUs));
      if (outcome) return outcome;
    }
    if (policy.dryRun) return dryRunWrite(dest, fresh);
    if (fdIn < 0) fdIn = fs.openSync(osPath(src), sourceOpenFlags(policy.dereference));
    // The worker runs with umask 0, so the temp file is born with exactly the mode it should have.
    fdOut = fs.openSync(osPath(tmp), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, targetMode(st, policy) & 0o777);
    created = true;
    const { buffer } = ctx;
    const sparse = isSparse(st);
    // A size of 0 may still read as data (/proc, /sys): read to the end then, as cp does.
    const toEnd = st.size === 0;
    let total = 0;
    let sinceYield = 0;
    while (toEnd || total < st.size) {
      // The first chunk may have been read ahead (the descriptor's offset is past it then).
      const chunk = first ? first.buffer : buffer;
      const started = total === 0 && !first && ctx.onFirstRead ? now() : 0;
      const n = first ? first.bytes : fs.readSync(fdIn, buffer, 0, buffer.length, null);
      if (started) follow = ctx.onFirstRead!(now() - started, fdIn, st.size);
      if (n === 0) break;
      if (sparse) writeSkippingZeros(fdOut, chunk, n, total);
      else writeAll(fdOut, chunk, n);
      first?.release();
      first = undefined;
      follow?.(total + n);
      total += n;
      if (toEnd) ctx.onGrown(n);
      else ctx.onBytes(n);
      sinceYield += n;
      if (ctx.yieldEveryChunk || sinceYield >= YIELD_EVERY_BYTES) {
        sinceYield = 0;
        yield;
      }
    }
    // Holes at the end were never written: the length comes from here.
    if (sparse) fs.ftruncateSync(fdOut, total);
    checkUnchanged(src, st, policy.dereference, total);
    if (policy.verify) yield* verifyCopy(fdIn, tmp, ctx);
    applyFdMetadata(fdOut, st, policy, !fresh || st.uid !== ctx.uid || st.gid !== ctx.gid, !fresh);
    if (policy.fsync) fs.fsyncSync(fdOut);
    fs.closeSync(fdOut);
    fdOut = -1;
    renameOver(tmp, dest);
    created = false;
    return 'copied';
  } finally {
    first?.release();
    if (follow) follow(-1); // closes fdIn once its reads are in
    else if (fdIn >= 0) fs.closeSync(fdIn);
    if (fdOut >= 0) fs.closeSync(fdOut);
    if (created) removeQuietly(tmp);
  }
}

/** Recreates a symlink with exactly the same target bytes (never followed), via a temp link and rename. */
export function copySymlink(src: string, dest: string, tmp: string, st: SourceStat, ctx: CopyContext, fresh = false): CopyOutcome {
  const { policy } = ctx;
  const target = fs.readlinkSync(osPath(src), { encoding: 'buffer' });
  if (!fresh) {
    const outcome = existingOutcome(dest, st, policy, (have) => have.isSymbolicLink() && fs.readlinkSync(osPath(dest), { encoding: 'buffer' }).equals(target));
    if (outcome) return outcome;
  }
  if (policy.dryRun) return dryRunWrite(dest, fresh);
  fs.symlinkSync(target, osPath(tmp));
  try {
    if (policy.owner) fs.lchownSync(osPath(tmp), st.uid, st.gid);
    if (policy.times) fs.lutimesSync(osPath(tmp), utimeSeconds(st.atimeNs), utimeSeconds(st.mtimeNs));
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
export function renameOver(tmp: string, dest: string): void {
  try {
    fs.renameSync(osPath(tmp), osPath(dest));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EISDIR') throw err;
    try {
      fs.rmdirSync(osPath(dest));
    } catch {
      throw new EntryFailure(entryError.notEmpty());
    }
    fs.renameSync(osPath(tmp), osPath(dest));
  }
}

export function removeQuietly(path: string): void {
  try {
    fs.unlinkSync(osPath(path));
  } catch {
    // already gone, or never made: nothing to clean
  }
}
