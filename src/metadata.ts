/**
 * What pcopy keeps of an entry's metadata (as rsync -a does: mode, owner when root, atime, mtime)
 * and how it applies it. Times travel as bigint nanoseconds and are set to the microsecond.
 */
import fs from 'node:fs';
import path from 'node:path';
import { osPath } from './byte-names.js';

/** The source facts a copy needs, taken from one bigint lstat. */
export interface SourceStat {
  size: number;
  /** 512-byte blocks allocated: fewer than the size needs means the file has holes (see `isSparse`). */
  blocks: number;
  mode: number;
  uid: number;
  gid: number;
  dev: number;
  ino: bigint;
  nlink: number;
  atimeNs: bigint;
  mtimeNs: bigint;
}

/** A file's identity as a string: the key of a -H link group (and of a directory the walk guards). */
export function fileKey(st: { dev: number | bigint; ino: number | bigint }): string {
  return `${st.dev}:${st.ino}`;
}

export function sourceStatOf(st: fs.BigIntStats): SourceStat {
  return {
    size: Number(st.size),
    blocks: Number(st.blocks),
    mode: Number(st.mode),
    uid: Number(st.uid),
    gid: Number(st.gid),
    dev: Number(st.dev),
    ino: st.ino,
    nlink: Number(st.nlink),
    atimeNs: st.atimeNs,
    mtimeNs: st.mtimeNs,
  };
}

/**
 * The file has holes: fewer blocks allocated than its size needs (the test of `cp --sparse=auto`).
 * Only then does a copy look for zeros to leave out; a dense file of zeros is written as it is.
 */
export function isSparse(st: { size: number; blocks: number }): boolean {
  return st.blocks * 512 < st.size;
}

/** Which metadata to apply; `owner` is already false unless running as root. */
export interface MetadataPolicy {
  mode: boolean;
  times: boolean;
  owner: boolean;
  /** The user's umask, for modes that are not preserved (as cp without -p). */
  umask: number;
  /** Modification times this many microseconds apart count as equal (--modify-window); 0 if absent. */
  modifyWindowUs?: number;
}

/**
 * The permission bits a new entry gets: the source's, or the source's less the umask. `bornMode`:
 * the mode a directory made by this run was born with; when modes are not preserved it keeps the
 * setgid bit it inherited from a setgid parent, as mkdir(2) gave it (`cp -r` and `rsync -r` do too).
 */
export function targetMode(st: SourceStat, policy: MetadataPolicy, bornMode = 0): number {
  return policy.mode ? st.mode & 0o7777 : (st.mode & 0o777 & ~policy.umask) | (bornMode & 0o2000);
}

/**
 * Whether entries created in `dir` (just made by this process) get this process's group, as a new
 * directory's own entries normally do. Not when it took another group from a setgid parent (or a
 * `grpid` mount): then its files need the owner fix-up like any other (as root, `cp -a` and
 * `rsync -a` give them the source's group, not the directory's).
 */
export function takesOwnGroup(dir: string): boolean {
  return fs.lstatSync(osPath(dir)).gid === process.getegid?.();
}

let probes = 0;

/**
 * The probe files `keepsCreationModes` makes: temp names of this run (a later run removes one left
 * behind, as any temp of a dead run), never a copy's.
 */
export const PROBE_NAME = /^\.pcopy-\d+-probe-[0-9a-z]+\.tmp$/;

/** The name of this process's `n`-th probe file. */
export function probeName(n: number): string {
  return `.pcopy-${process.pid}-probe-${n.toString(36)}.tmp`;
}

/**
 * Whether files made in `dir` get exactly the mode they ask for. Not under a default ACL (set on DEST
 * or an ancestor, inherited by every directory made below it): it masks the mode of every new file,
 * so files there need their mode set like any other. Probed with a file of mode 0777 made with no
 * umask (a default ACL also sets the umask aside, so only that shows it); the umask is back before
 * anything else runs, and the probe file (a temp name) is removed at once.
 */
export function keepsCreationModes(dir: string): boolean {
  const probe = path.join(dir, probeName(probes++));
  const umask = process.umask(0);
  let fd = -1;
  try {
    fd = fs.openSync(osPath(probe), fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o777);
  } catch {
    return false; // cannot tell: set every mode
  } finally {
    process.umask(umask);
  }
  try {
    return (fs.fstatSync(fd).mode & 0o777) === 0o777;
  } finally {
    fs.closeSync(fd);
    try {
      fs.unlinkSync(osPath(probe));
    } catch {
      // gone already; a probe left behind has a temp name, which a later run removes
    }
  }
}

/** Whole microseconds, rounded down (also before 1970). */
export function micros(ns: bigint): bigint {
  return ns >= 0n ? ns / 1000n : -((-ns + 999n) / 1000n);
}

/**
 * Seconds as Node's utimes wants them, such that libuv sets exactly the microsecond `ns` lies in.
 * libuv turns the double into a timespec and truncates it to the microsecond, and the double nearest
 * a time may lie a hair below it. Until 2^32 s (2106) we aim half a microsecond past it (away from
 * zero), which truncation brings back exactly. Beyond, a double's step is ~1 µs (~2 µs from 2^33 s,
 * in 2242), so the neighbouring double that converts right is searched for; past 2242 some
 * microseconds have no double at all (see `mtimesMatch`).
 */
export function utimeSeconds(ns: bigint): number | string {
  const us = micros(ns);
  let seconds = Number(us) / 1e6;
  if (Math.abs(seconds) < 2 ** 32) seconds += seconds >= 0 ? 5e-7 : -5e-7;
  else {
    for (let step = 0; step < 4 && libuvMicros(seconds) < us; step++) seconds = nextDouble(seconds, 1);
    for (let step = 0; step < 4 && libuvMicros(seconds) > us; step++) seconds = nextDouble(seconds, -1);
  }
  // Node replaces a negative *number* with the current time, but takes a numeric string as it is.
  return seconds >= 0 ? seconds : String(seconds);
}

/** The microsecond libuv sets for `seconds` (uv__fs_to_timespec: truncated toward zero, then to the µs, nanoseconds kept >= 0). */
function libuvMicros(seconds: number): bigint {
  let whole = Math.trunc(seconds);
  let nanos = Math.trunc((seconds - whole) * 1e9);
  nanos -= nanos % 1000;
  if (nanos < 0) {
    nanos += 1e9;
    whole -= 1;
  }
  return BigInt(whole) * 1_000_000n + BigInt(nanos / 1000);
}

const doubleBits = new BigInt64Array(1);
const double = new Float64Array(doubleBits.buffer);

/** The neighbouring double of `x` (not 0), up (`1`) or down (`-1`). */
function nextDouble(x: number, direction: 1 | -1): number {
  double[0] = x;
  doubleBits[0]! += (x > 0) === (direction > 0) ? 1n : -1n;
  return double[0]!;
}

/**
 * Whether two mtimes are equal to the microsecond, within `windowUs`. From 2^33 s on (2242) utimes
 * may miss a time by 1 µs (a double's step is ~2 µs there), so that much more counts as equal, or
 * every rerun would copy such a file again.
 */
export function mtimesMatch(have: bigint, want: bigint, windowUs: number): boolean {
  const diff = micros(have) - micros(want);
  const slack = want >= TWO_POW_33_NS || want <= -TWO_POW_33_NS ? 1n : 0n;
  return (diff < 0n ? -diff : diff) <= BigInt(windowUs) + slack;
}
const TWO_POW_33_NS = 2n ** 33n * 1_000_000_000n;

/**
 * Sets owner, mode and times on an open file, owner first: chown clears setuid bits. `chown` and
 * `chmod` say whether those calls are needed at all (a file born in a directory of this run already
 * has our ids and its creation mode); special mode bits always need the chmod.
 */
export function applyFdMetadata(fd: number, st: SourceStat, policy: MetadataPolicy, chown: boolean, chmod: boolean): void {
  if (policy.owner && chown) fs.fchownSync(fd, st.uid, st.gid);
  const mode = targetMode(st, policy);
  if (chmod || (mode & 0o7000) !== 0) fs.fchmodSync(fd, mode);
  if (policy.times) fs.futimesSync(fd, utimeSeconds(st.atimeNs), utimeSeconds(st.mtimeNs));
}

/** What differs in an existing destination entry's metadata from the source's (see `fixPathMetadata`). */
interface MetadataFixes {
  owner: boolean;
  /** The mode to set, if it differs (links have none of their own). */
  mode: number | undefined;
  times: boolean;
}

function metadataFixes(have: fs.BigIntStats, want: SourceStat, policy: MetadataPolicy): MetadataFixes {
  const isLink = have.isSymbolicLink();
  const owner = policy.owner && (Number(have.uid) !== want.uid || Number(have.gid) !== want.gid);
  const mode = targetMode(want, policy);
  // A chown clears setuid and setgid: the mode is set again after one.
  const modeDiffers = !isLink && (policy.mode || owner) && (owner || (Number(have.mode) & 0o7777) !== mode);
  const times = policy.times && !mtimesMatch(have.mtimeNs, want.mtimeNs, policy.modifyWindowUs ?? 0);
  return { owner, mode: modeDiffers ? mode : undefined, times };
}

/** Whether `fixPathMetadata` would change anything (what a dry run says). */
export function metadataDiffers(have: fs.BigIntStats, want: SourceStat, policy: MetadataPolicy): boolean {
  return anyFix(metadataFixes(have, want, policy));
}

function anyFix(fixes: MetadataFixes): boolean {
  return fixes.owner || fixes.mode !== undefined || fixes.times;
}

/**
 * Corrects the metadata of an existing destination entry where it differs from the source, touching
 * nothing that already matches; true if it changed anything. Never follows a symlink (`lchown`,
 * `lutimes`; links have no mode of their own). Times count as different only by the mtime (within
 * the modify window): an atime moves whenever anything reads the source, and rewriting both on every
 * rerun would change every ctime, as rsync never does. The atime is set with the mtime, and when an
 * entry is written.
 */
export function fixPathMetadata(where: string, have: fs.BigIntStats, want: SourceStat, policy: MetadataPolicy): boolean {
  const path = osPath(where);
  const fixes = metadataFixes(have, want, policy);
  if (fixes.owner) fs.lchownSync(path, want.uid, want.gid);
  if (fixes.mode !== undefined) fs.chmodSync(path, fixes.mode);
  if (fixes.times) {
    const setTimes = have.isSymbolicLink() ? fs.lutimesSync : fs.utimesSync;
    setTimes(path, utimeSeconds(want.atimeNs), utimeSeconds(want.mtimeNs));
  }
  return anyFix(fixes);
}

/** A `SourceStat` as it crosses the process boundary (JSON): its bigints as decimal strings. */
export type WireStat = Omit<SourceStat, 'ino' | 'atimeNs' | 'mtimeNs'> & { ino: string; atimeNs: string; mtimeNs: string };

export function toWireStat(st: SourceStat): WireStat {
  return { ...st, ino: String(st.ino), atimeNs: String(st.atimeNs), mtimeNs: String(st.mtimeNs) };
}

export function fromWireStat(w: WireStat): SourceStat {
  return { ...w, ino: BigInt(w.ino), atimeNs: BigInt(w.atimeNs), mtimeNs: BigInt(w.mtimeNs) };
}
