/**
 * Preflight: everything that can be refused is refused here, before the first byte is written.
 * Paths are compared by real path (and device + inode), so `./x`, `x/` and a symlink to x are all x,
 * and `a` is not inside `ab`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { decode, display, osPath } from './byte-names.js';
import { describeError, PcopyError, serializeError } from './errors.js';

/** What one run copies: a directory's contents into a directory, or one file to one path. */
export type CopyTarget =
  | { kind: 'tree'; srcRoot: string; destRoot: string }
  /** `size`: as SRC was stat'ed here (a huge one gets the whole pool at once, to be split). */
  | { kind: 'file'; srcFile: string; destFile: string; size: number };

const refuse = (message: string): never => {
  throw new PcopyError('PREFLIGHT', message);
};

/**
 * Resolves SRC and DEST as given on the command line (symlinks there are followed, like `cp -H`).
 * A directory SRC copies its contents into DEST (created or merged); a file SRC becomes DEST, or
 * DEST/<name> when DEST is a directory (or is written with a trailing slash).
 */
export function resolveTarget(src: string, dest: string): CopyTarget {
  if (src === '' || dest === '') refuse('source and destination must not be empty');
  // Paths in messages: bytes that are not UTF-8 escaped.
  const [s, d] = [display(src), display(dest)];
  const srcStat = statOrRefuse(src, 'source');
  if (!srcStat) return refuse(`source \`${s}\` does not exist`);
  const srcReal = realpath(src);
  const destStat = statOrRefuse(dest, 'destination');
  if (!destStat && fs.lstatSync(osPath(dest), { throwIfNoEntry: false })?.isSymbolicLink()) {
    refuse(`destination \`${d}\` is a symlink to a missing path`);
  }
  const destReal = destStat ? realpath(dest) : realpathOfMissing(dest);

  if (srcStat.isDirectory()) {
    if (destStat && !destStat.isDirectory()) refuse(`cannot copy directory \`${s}\` onto \`${d}\`, which is not a directory`);
    if (destReal === srcReal || (destStat && destStat.dev === srcStat.dev && destStat.ino === srcStat.ino)) {
      refuse(`\`${s}\` and \`${d}\` are the same directory`);
    }
    if (isInside(destReal, srcReal)) refuse(`cannot copy \`${s}\` into itself: \`${d}\` is inside it`);
    if (isInside(srcReal, destReal)) refuse(`cannot copy \`${s}\` into \`${d}\`: the source is inside the destination`);
    return { kind: 'tree', srcRoot: srcReal, destRoot: destReal };
  }
  if (!srcStat.isFile()) refuse(`source \`${s}\` is not a regular file or directory`);
  const intoDir = goesInto(dest, destStat);
  const destFile = intoDir ? path.join(destReal, path.basename(absolute(src))) : destReal;
  const existing = statIfAny(destFile);
  if (existing && existing.dev === srcStat.dev && existing.ino === srcStat.ino) {
    // Named as given, as cp names them (`pcopy f f`: `f` and `f`), not by the resolved path.
    const shownDest = intoDir ? display(path.join(dest, path.basename(absolute(src)))) : d;
    refuse(`\`${s}\` and \`${shownDest}\` are the same file`);
  }
  return { kind: 'file', srcFile: srcReal, destFile, size: srcStat.size };
}

/** A path that can only name a directory: a trailing slash, or `.` or `..` as its last component. */
const NAMES_A_DIRECTORY = /(?:^|\/)(?:\.\.?)?$/;

/** A file SRC goes into DEST (as DEST/<name>) when DEST is a directory or can only name one. */
function goesInto(dest: string, destStat: fs.Stats | undefined): boolean {
  return destStat ? destStat.isDirectory() : NAMES_A_DIRECTORY.test(dest);
}

/** Whether SRC (followed, as preflight follows it) is a directory: what a copy of a tree starts from. */
export function sourceIsDirectory(src: string): boolean {
  return statIfAny(src)?.isDirectory() ?? false;
}

/**
 * Where a file SRC goes, spelled as the user gave DEST (for messages): DEST, or DEST/<name>. Asked
 * once the copy has started: DEST is then as preflight found it, or made as the directory it names.
 */
export function shownFileDestination(src: string, dest: string): string {
  return goesInto(dest, statIfAny(dest)) ? path.join(dest, path.basename(src)) : dest;
}

/**
 * What a file SRC would replace, followed through links (a link to SRC itself is the same file). One
 * that cannot be stat'ed (a looping link, no search permission) is not SRC: the copy replaces it or
 * reports why it cannot.
 */
function statIfAny(p: string): fs.Stats | undefined {
  try {
    return fs.statSync(osPath(p), { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}

/** True when `child` is strictly below `parent` (both real, absolute paths). */
export function isInside(child: string, parent: string): boolean {
  const prefix = parent.endsWith(path.sep) ? parent : parent + path.sep;
  return child.startsWith(prefix);
}

function statOrRefuse(p: string, role: 'source' | 'destination'): fs.Stats | undefined {
  try {
    return fs.statSync(osPath(p), { throwIfNoEntry: false });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOTDIR') return refuse(`${role} \`${display(p)}\`: a part of the path is not a directory`);
    if (e.code === 'ELOOP') return refuse(`${role} \`${display(p)}\`: too many levels of symbolic links`);
    return refuse(`cannot access ${role} \`${display(p)}\`: ${describeError(serializeError(err))}`);
  }
}

/** Real path of a path that does not exist yet: the real path of its nearest existing ancestor + the rest. */
function realpathOfMissing(p: string): string {
  // Component by component, as the kernel resolves a path: `link/..` is the parent of where the link
  // points, not the directory holding the link (path.resolve's reading). Components that do not
  // exist yet will be made as real directories, so a `..` after one just takes it back (mkdir -p).
  let real = path.isAbsolute(p) ? '/' : realpath('.');
  const missing: string[] = [];
  for (const c of p.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') {
      if (missing.length > 0) missing.pop();
      else real = path.dirname(real);
    } else if (missing.length === 0 && fs.existsSync(osPath(path.join(real, c)))) real = realpath(path.join(real, c));
    else missing.push(c);
  }
  if (missing.length > 0 && !fs.statSync(osPath(real)).isDirectory()) refuse(`cannot create \`${display(p)}\`: \`${display(real)}\` is not a directory`);
  return path.join(real, ...missing);
}

/**
 * The real path, read as bytes (a name that is not UTF-8 would come back mangled as a string). The
 * native realpath(3): Node's own `realpathSync` turns a Buffer path into a string on the way.
 */
function realpath(p: string): string {
  try {
    return decode(fs.realpathSync.native(osPath(p), { encoding: 'buffer' }));
  } catch (err) {
    // ENAMETOOLONG (a working directory deeper than PATH_MAX), EACCES on a parent: refused, not a crash.
    return refuse(`cannot resolve \`${display(p)}\`: ${describeError(serializeError(err))}`);
  }
}

/**
 * `path.resolve`, but by the working directory's bytes: `process.cwd()` replaces those that are not
 * UTF-8 (getcwd gives the real path, so the real path of `.` is the same directory).
 */
function absolute(p: string): string {
  if (path.isAbsolute(p)) return path.resolve(p);
  const cwd = process.cwd();
  return path.resolve(cwd.includes('\uFFFD') ? realpath('.') : cwd, p);
}
