/**
 * What pcopy keeps of an entry's metadata (as rsync -a does: mode, owner when root, atime, mtime)
 * and how it applies it. Times travel as bigint nanoseconds and are set to the microsecond.
 */
import fs from 'node:fs';

/** The source facts a copy needs, taken from one bigint lstat. */
export interface SourceStat {
  size: number;
  mode: number;
  uid: number;
  gid: number;
  ino: bigint;
  atimeNs: bigint;
  mtimeNs: bigint;
}

export function sourceStatOf(st: fs.BigIntStats): SourceStat {
  return {
    size: Number(st.size),
    mode: Number(st.mode),
    uid: Number(st.uid),
    gid: Number(st.gid),
    ino: st.ino,
    atimeNs: st.atimeNs,
    mtimeNs: st.mtimeNs,
  };
}

/** Whole microseconds, rounded down (also before 1970). */
export function micros(ns: bigint): bigint {
  return ns >= 0n ? ns / 1000n : -((-ns + 999n) / 1000n);
}

/**
 * Seconds as Node's utimes wants them. libuv converts the double to a timespec and truncates to the
 * microsecond, so a value that lands a hair below the intended microsecond would lose 1 µs: we aim
 * half a microsecond past it (towards zero's far side), which truncation then brings back exactly.
 */
export function utimeSeconds(ns: bigint): number {
  const us = micros(ns);
  const seconds = Number(us) / 1e6;
  return us >= 0n ? seconds + 5e-7 : seconds - 5e-7;
}

/** Sets owner (when asked), mode and times on an open file, owner first: chown clears setuid bits. */
export function applyFdMetadata(fd: number, st: SourceStat, preserveOwner: boolean): void {
  if (preserveOwner) fs.fchownSync(fd, st.uid, st.gid);
  fs.fchmodSync(fd, st.mode & 0o7777);
  fs.futimesSync(fd, utimeSeconds(st.atimeNs), utimeSeconds(st.mtimeNs));
}

/**
 * Corrects the metadata of an existing destination entry where it differs from the source, touching
 * nothing that already matches. Never follows a symlink (`lchown`, `lutimes`; links have no mode of their own).
 */
export function fixPathMetadata(path: string, have: fs.BigIntStats, want: SourceStat, preserveOwner: boolean): void {
  const isLink = have.isSymbolicLink();
  const ownerDiffers = preserveOwner && (Number(have.uid) !== want.uid || Number(have.gid) !== want.gid);
  if (ownerDiffers) fs.lchownSync(path, want.uid, want.gid);
  if (!isLink && (ownerDiffers || (Number(have.mode) & 0o7777) !== (want.mode & 0o7777))) {
    fs.chmodSync(path, want.mode & 0o7777);
  }
  if (micros(have.mtimeNs) !== micros(want.mtimeNs) || micros(have.atimeNs) !== micros(want.atimeNs)) {
    const setTimes = isLink ? fs.lutimesSync : fs.utimesSync;
    setTimes(path, utimeSeconds(want.atimeNs), utimeSeconds(want.mtimeNs));
  }
}

/** Sets owner, mode and times of a directory we made (or merged into), after its contents are done. */
export function applyDirMetadata(path: string, st: SourceStat, preserveOwner: boolean): void {
  if (preserveOwner) fs.lchownSync(path, st.uid, st.gid);
  fs.chmodSync(path, st.mode & 0o7777);
  fs.utimesSync(path, utimeSeconds(st.atimeNs), utimeSeconds(st.mtimeNs));
}
