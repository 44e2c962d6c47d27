/**
 * Destination directories. The parent makes them itself as the scan meets them, so they exist
 * before any job inside them and no two workers ever race to make one; their owner, mode and times
 * are applied last, deepest first, after their contents (a child's creation changes its parent's
 * mtime). Also: `mkdir -p` with real errors, and the clean-up of dead runs' temp files.
 */
import fs from 'node:fs';
import path from 'node:path';
import { isErrorPath, osPath } from './byte-names.js';
import { lstatInDest, statSource, type CopyPolicy } from './copy-file.js';
import { entryError, serializeError, type SerializedError } from './errors.js';
import { fixPathMetadata, keepsCreationModes, sourceStatOf, takesOwnGroup, targetMode, type SourceStat } from './metadata.js';
import { TEMP_NAME_PATTERN, under, type CopyOutcome } from './protocol.js';

const isRoot = process.getuid?.() === 0;

interface DirRecord {
  dest: string;
  /** The metadata it gets at the end (the source's; its own for --ignore-existing). */
  st: SourceStat;
  /** Made by this run (see `madeMode`), so its mode is always set. */
  created: boolean;
  /** An existing directory opened to us (u+rwx) for the run: its own mode, given back at the end. */
  ownMode?: number;
}

export interface DestDirsSettings {
  srcRoot: string;
  destRoot: string;
  policy: CopyPolicy;
}

export interface DestDirsEvents {
  made(rel: string, outcome: CopyOutcome): void;
  failed(rel: string, error: SerializedError): void;
  /** The source directory `rel` is DEST itself (a bind mount of it, say): not made, not to be walked. */
  foundDestination(rel: string): void;
}

/** The directories of one run: made as met, finished at the end. */
export class DestDirs {
  private readonly records: DirRecord[] = [];
  /** Relative paths handled (made, merged or failed), for --include's parents. */
  private readonly known = new Set<string>(['']);
  private readonly failedDirs = new Set<string>();
  /** Made by this run, with our group and no default ACL: nothing can be in the way of their entries, which are born with our ids and exactly the modes they ask for. */
  private readonly freshDirs = new Set<string>();
  /** Directories made or merged (counted in a dry run too). */
  count = 0;
  /** DEST's device and inode, to know it inside SRC. */
  private destId?: { dev: number; ino: bigint };

  constructor(
    private readonly settings: DestDirsSettings,
    private readonly events: DestDirsEvents,
  ) {}

  /** Makes DEST itself (and its missing parents); throws if it cannot be made. */
  makeRoot(): void {
    const { srcRoot, destRoot, policy } = this.settings;
    const st = sourceStatOf(fs.statSync(osPath(srcRoot), { bigint: true }));
    if (policy.dryRun) {
      this.count++;
      const existing = fs.statSync(osPath(destRoot), { bigint: true, throwIfNoEntry: false });
      if (existing) this.destId = { dev: Number(existing.dev), ino: existing.ino };
      return;
    }
    const made = makeDirs(destRoot, madeMode(st, policy));
    const { dev, ino } = fs.statSync(osPath(destRoot), { bigint: true });
    this.destId = { dev: Number(dev), ino };
    this.enter(destRoot, srcRoot, st, !made);
    if (made && takesOwnGroup(destRoot) && keepsCreationModes(destRoot)) this.freshDirs.add('');
  }

  /** Makes the parent of `rel` if needed: false when it could not be (the entry then fails). */
  parentReady(rel: string, parent = parentOf(rel)): boolean {
    if (!this.known.has(parent)) this.make(parent);
    return !this.failedDirs.has(parent);
  }

  /** An entry under a failed directory: a directory among them counts as failed too. */
  markFailed(rel: string): void {
    this.known.add(rel);
    this.failedDirs.add(rel);
  }

  isFresh(rel: string): boolean {
    return this.freshDirs.has(rel);
  }

  /**
   * Makes DEST/rel as a real directory, owner-writable until its final mode is set at the end.
   * Whatever is in the way and is not a directory (a file, a symlink, even a dangling one) is replaced,
   * never followed. In a dry run it only counts.
   */
  make(rel: string): void {
    if (this.known.has(rel)) return;
    if (!this.parentReady(rel)) {
      this.markFailed(rel);
      return this.events.failed(rel, entryError.parentFailed());
    }
    this.known.add(rel);
    const { srcRoot, destRoot, policy } = this.settings;
    const dest = under(destRoot, rel);
    const src = under(srcRoot, rel);
    try {
      const st = sourceStatOf(statSource(src, policy.dereference));
      // DEST mounted (bind, overlay) on a directory of SRC: copying it into itself would nest forever.
      // (With -L the walk's own guard sees it, also through links.)
      if (!policy.dereference && st.dev === this.destId?.dev && st.ino === this.destId.ino) return this.events.foundDestination(rel);
      if (policy.dryRun) {
        // Below a directory the run would make, nothing exists yet (in DEST there may be a file or a
        // link of that name, which the real run replaces: not looked through).
        const have = this.freshDirs.has(parentOf(rel)) ? undefined : lstatInDest(dest, true);
        if (have && !have.isDirectory() && policy.overwrite === 'never') return this.keptInTheWay(rel);
        this.count++;
        if (!have?.isDirectory()) this.freshDirs.add(rel);
        return this.events.made(rel, have?.isDirectory() ? 'same' : 'copied');
      }
      let existed = false;
      const mode = madeMode(st, policy);
      try {
        fs.mkdirSync(osPath(dest), mode);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        existed = fs.lstatSync(osPath(dest)).isDirectory();
        if (!existed) {
          if (policy.overwrite === 'never') return this.keptInTheWay(rel);
          fs.unlinkSync(osPath(dest));
          fs.mkdirSync(osPath(dest), mode);
        }
      }
      this.enter(dest, under(this.settings.srcRoot, rel), st, existed);
      // A directory made below a fresh one inherits its (absent) default ACL, and its group (ours:
      // the fresh one took it, setgid or not): only one made in an existing directory is probed.
      if (!existed && (this.freshDirs.has(parentOf(rel)) || (takesOwnGroup(dest) && keepsCreationModes(dest)))) this.freshDirs.add(rel);
      this.events.made(rel, existed ? 'same' : 'copied');
    } catch (err) {
      this.failedDirs.add(rel);
      const e = err as NodeJS.ErrnoException;
      this.events.failed(rel, e.code === 'ENOENT' && isErrorPath(e.path, src) ? entryError.vanished() : serializeError(err));
    }
  }

  /** A file or symlink where SRC has a directory, kept by --ignore-existing: the directory and its entries fail (as with cp -an). */
  private keptInTheWay(rel: string): void {
    this.failedDirs.add(rel);
    this.events.failed(rel, entryError.keptNotDirectory());
  }

  /** Owner, mode and times of every directory, deepest first; once (a later call finds nothing to do). */
  finish(): void {
    const { destRoot, policy } = this.settings;
    const records = this.records.splice(0);
    for (let i = records.length - 1; i >= 0; i--) {
      const { dest, st, created, ownMode } = records[i]!;
      try {
        const have = fs.lstatSync(osPath(dest), { bigint: true });
        fixPathMetadata(dest, have, st, policy);
        // Modes not kept: a directory made here gets the source's less the umask, one lent u+rwx its own back.
        const mode = policy.mode ? undefined : created ? targetMode(st, policy, Number(have.mode)) : ownMode;
        if (mode !== undefined) fs.chmodSync(osPath(dest), mode);
      } catch (err) {
        this.events.failed(path.relative(destRoot, dest), serializeError(err));
      }
    }
  }

  /** Records a directory for its final metadata; in one that existed before, removes stale temps of dead runs. */
  private enter(dest: string, src: string, st: SourceStat, existed: boolean): void {
    this.count++;
    if (!existed) {
      this.records.push({ dest, st, created: true });
      return;
    }
    const have = fs.lstatSync(osPath(dest), { bigint: true });
    // --ignore-existing never touches an existing entry: the directory gets its own mode and times back.
    const record: DirRecord = { dest, st: this.settings.policy.overwrite === 'never' ? sourceStatOf(have) : st, created: false };
    this.records.push(record);
    // A read-only directory left by an earlier run must take new files until its mode is set again
    // (the source's, or with modes not preserved its own).
    const mode = Number(have.mode);
    if (!isRoot && (mode & 0o700) !== 0o700) {
      fs.chmodSync(osPath(dest), mode | 0o700);
      record.ownMode = mode & 0o7777;
    }
    removeStaleTemps(dest, (name) => inSource(path.join(src, name)));
  }
}

/**
 * The mode a directory is made with, until `finish` sets its own: u+rwx, so it takes files, and of
 * its final bits at most group and other read and search (never write: no one else may slip a
 * file or link into it meanwhile), as cp makes them; when owners are kept (as root) nothing for
 * group and other, since its group is not yet the source's. A run killed before `finish` so leaves
 * it readable as it will be, not 0700.
 */
function madeMode(st: SourceStat, policy: CopyPolicy): number {
  return policy.owner ? 0o700 : (targetMode(st, policy) & 0o755) | 0o700;
}

/** `a/b/c` → `a/b`, `a` → '' (the root): relative paths from the scan are already clean. */
export function parentOf(rel: string): string {
  const slash = rel.lastIndexOf('/');
  return slash < 0 ? '' : rel.slice(0, slash);
}

/**
 * `mkdir -p` that reports the real reason: Node's recursive mkdir says ENOENT where the first missing
 * level fails with EROFS or EACCES. Returns true if `dir` was created (false: it existed).
 */
export function makeDirs(dir: string, mode: number): boolean {
  try {
    fs.mkdirSync(osPath(dir), mode);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' && fs.statSync(osPath(dir)).isDirectory()) return false;
    if (code !== 'ENOENT' || path.dirname(dir) === dir) throw err;
  }
  makeDirs(path.dirname(dir), 0o777);
  fs.mkdirSync(osPath(dir), mode);
  return true;
}

/**
 * This process's PID namespace (its inode, base 36), or '' where it cannot be read. A pid means a
 * process only within its namespace: a run in another one (another container sharing DEST) cannot
 * be told alive or dead from here.
 */
export function pidNamespace(): string {
  try {
    const ino = /\[(\d+)\]/.exec(fs.readlinkSync('/proc/self/ns/pid'))?.[1];
    return ino ? Number(ino).toString(36) : '';
  } catch {
    return '';
  }
}

/** A run's tag in its temp names: its pid, 6 random hex digits, and its PID namespace. */
export function runTagFor(pid: number, random: number): string {
  return `${pid}-${random.toString(16).padStart(6, '0')}${ourNamespace()}`;
}

let namespace: string | undefined;
function ourNamespace(): string {
  return (namespace ??= pidNamespace());
}

/**
 * Removes temp files left in `dir` by pcopy runs whose process is gone (never those of a live run,
 * nor those of a run in another PID namespace, which may be live).
 * A name the source has too (`inSource`) is an entry to copy, not a temp of ours: a tree holding an
 * interrupted copy's temps can be copied, and copied again without rewriting them.
 */
export function removeStaleTemps(dir: string, inSource: (name: string) => boolean): void {
  let names: string[];
  try {
    names = fs.readdirSync(osPath(dir));
  } catch {
    return; // a directory we may write into but not list (a drop box, 0733): nothing to clean we can see
  }
  // Temp names are ASCII: other names may come back mangled here, and are never touched.
  for (const name of names) {
    const m = TEMP_NAME_PATTERN.exec(name);
    if (m && (!m[2] || m[2] === ourNamespace()) && !isAlive(Number(m[1])) && !inSource(name)) {
      try {
        fs.unlinkSync(osPath(path.join(dir, name)));
      } catch {
        // raced with another cleaner: fine
      }
    }
  }
}

/** SRC has an entry at `p`; when that cannot be told (EACCES, ENOTDIR), as if it had: nothing is removed then. */
function inSource(p: string): boolean {
  try {
    return fs.lstatSync(osPath(p), { throwIfNoEntry: false }) !== undefined;
  } catch {
    return true;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
