/**
 * Huge files in parts, copied by several workers at once, so one file does not keep one core busy
 * while the others idle. Three worker tasks, under the same atomic rule as any other file:
 * - `openSplit`: the worker that sized the file checks the destination (quick check, --update …) and
 *   makes the temp file (with its full length when the source has holes);
 * - `copyPart`: any worker fills one part with positional reads and writes (leaving out all-zero
 *   blocks when the source has holes, so they stay holes);
 * - `sealSplit`: once every part is in, one worker checks the source did not change, sets the
 *   metadata and renames the temp file to the final name.
 * Whoever fails removes nothing shared: the scheduler removes a failed split's temp file.
 */
import fs from 'node:fs';
import { osPath } from './byte-names.js';
import { checkUnchanged, existingOutcome, matchesQuickCheck, removeQuietly, renameOver, sourceOpenFlags, statSource, type CopyContext, type CopyPolicy } from './copy-file.js';
import { EntryFailure, entryError } from './errors.js';
import { writeAllAt, writeSkippingZeros, YIELD_EVERY_BYTES } from './write-chunks.js';
import { isSparse, sourceStatOf, targetMode, utimeSeconds, type SourceStat } from './metadata.js';
import type { CopyOutcome } from './protocol.js';

const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;

/** The stat the parts are copied against, or the outcome when nothing is to be copied. */
export function openSplit(src: string, dest: string, tmp: string, policy: CopyPolicy): SourceStat | CopyOutcome {
  const st = sourceStatOf(statSource(src, policy.dereference));
  if ((st.mode & fs.constants.S_IFMT) !== fs.constants.S_IFREG) throw new EntryFailure(entryError.changed('no longer a regular file'));
  const outcome = existingOutcome(dest, st, policy, (have) => matchesQuickCheck(have, st, policy.modifyWindowUs));
  if (outcome) return outcome;
  if (policy.dryRun) return 'copied';
  const fd = fs.openSync(osPath(tmp), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
  try {
    try {
      // Parts leave a sparse source's holes unwritten, a last one too: the length is set here, once.
      if (isSparse(st)) fs.ftruncateSync(fd, st.size);
    } finally {
      fs.closeSync(fd);
    }
  } catch (err) {
    // Not yet a split anyone knows of (EFBIG past a file size limit, EIO): its temp goes here.
    removeQuietly(tmp);
    throw err;
  }
  return st;
}

/** Copies bytes [offset, offset + length) of `src` into the same place of the temp file. */
export function* copyPart(src: string, tmp: string, offset: number, length: number, ctx: CopyContext): Generator<void, void> {
  const fdIn = fs.openSync(osPath(src), sourceOpenFlags(ctx.policy.dereference));
  try {
    const fdOut = fs.openSync(osPath(tmp), O_WRONLY | O_NOFOLLOW);
    try {
      const { buffer } = ctx;
      // One fstat per part (tens of MiB): the part task carries no stat, and this is the same file.
      const sparse = isSparse(fs.fstatSync(fdIn));
      let done = 0;
      let sinceYield = 0;
      while (done < length) {
        const n = fs.readSync(fdIn, buffer, 0, Math.min(buffer.length, length - done), offset + done);
        if (n === 0) throw new EntryFailure(entryError.changed('shrunk'));
        if (sparse) writeSkippingZeros(fdOut, buffer, n, offset + done);
        else writeAllAt(fdOut, buffer, 0, n, offset + done);
        done += n;
        ctx.onBytes(n);
        sinceYield += n;
        if (ctx.yieldEveryChunk || sinceYield >= YIELD_EVERY_BYTES) {
          sinceYield = 0;
          yield;
        }
      }
    } finally {
      fs.closeSync(fdOut);
    }
  } finally {
    fs.closeSync(fdIn);
  }
}

/** Every part is in: check the source, set metadata, flush if asked, rename. */
export function sealSplit(src: string, dest: string, tmp: string, st: SourceStat, policy: CopyPolicy): void {
  checkUnchanged(src, st, policy.dereference);
  if (policy.owner) fs.lchownSync(osPath(tmp), st.uid, st.gid);
  fs.chmodSync(osPath(tmp), targetMode(st, policy));
  if (policy.times) fs.utimesSync(osPath(tmp), utimeSeconds(st.atimeNs), utimeSeconds(st.mtimeNs));
  if (policy.fsync) {
    const fd = fs.openSync(osPath(tmp), fs.constants.O_RDONLY | O_NOFOLLOW);
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }
  renameOver(tmp, dest);
}
