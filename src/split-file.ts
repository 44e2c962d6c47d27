/**
 * Huge files are split into parts copied by several workers at once, so one file does not keep one
 * core busy while the others idle. The parent makes the temp file, workers fill their parts with
 * positional reads and writes (`copyRange`), and the parent checks the source, sets the metadata and
 * renames the temp file once every part is in — the same atomic rule as for any other file.
 */
import fs from 'node:fs';
import { EntryFailure, existingOutcome, matchesQuickCheck, removeQuietly, renameOver, type CopyOutcome, type CopyPolicy } from './copy-file.js';
import { entryError } from './errors.js';
import { sourceStatOf, targetMode, utimeSeconds, type SourceStat } from './metadata.js';

const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_RDONLY } = fs.constants;

/** A split file in progress. */
export interface SplitFile {
  src: string;
  dest: string;
  tmp: string;
  st: SourceStat;
  remaining: number;
  failed: boolean;
}

/**
 * Starts a split: an outcome when nothing is to be copied (the destination already matches, or is
 * kept), else the split with its temp file made. Throws on errors (the file then fails).
 */
export function startSplit(src: string, dest: string, tmp: string, sizedBytes: number, parts: number, policy: CopyPolicy): SplitFile | CopyOutcome {
  const st = sourceStatOf(policy.dereference ? fs.statSync(src, { bigint: true }) : fs.lstatSync(src, { bigint: true }));
  if ((st.mode & fs.constants.S_IFMT) !== fs.constants.S_IFREG) throw new EntryFailure(entryError.changed('no longer a regular file'));
  if (st.size !== sizedBytes) throw new EntryFailure(entryError.changed(`size ${sizedBytes} → ${st.size}`));
  const outcome = existingOutcome(dest, st, policy, (have) => matchesQuickCheck(have, st, policy.modifyWindowUs));
  if (outcome) return outcome;
  if (policy.dryRun) return 'copied';
  fs.closeSync(fs.openSync(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600));
  return { src, dest, tmp, st, remaining: parts, failed: false };
}

/** Every part is in: check the source did not change, set metadata, rename. Removes the temp on failure. */
export function finishSplit(split: SplitFile, policy: CopyPolicy): void {
  const { src, dest, tmp, st } = split;
  try {
    const end = policy.dereference ? fs.statSync(src, { bigint: true }) : fs.lstatSync(src, { bigint: true });
    if (!end.isFile() || end.ino !== st.ino) throw new EntryFailure(entryError.changed('replaced'));
    if (end.size !== BigInt(st.size)) throw new EntryFailure(entryError.changed(`size ${st.size} → ${end.size}`));
    if (end.mtimeNs !== st.mtimeNs) throw new EntryFailure(entryError.changed('modified'));
    if (policy.owner) fs.lchownSync(tmp, st.uid, st.gid);
    fs.chmodSync(tmp, targetMode(st, policy));
    if (policy.times) fs.utimesSync(tmp, utimeSeconds(st.atimeNs), utimeSeconds(st.mtimeNs));
    if (policy.fsync) {
      const fd = fs.openSync(tmp, O_RDONLY | O_NOFOLLOW);
      try {
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    }
    renameOver(tmp, dest);
  } catch (err) {
    removeQuietly(tmp);
    throw err;
  }
}
