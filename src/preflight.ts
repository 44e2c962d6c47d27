/**
 * Preflight: everything that can be refused is refused here, before the first byte is written.
 * Paths are compared by real path (and device + inode), so `./x`, `x/` and a symlink to x are all x,
 * and `a` is not inside `ab`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { PcopyError } from './errors.js';

/** What one run copies: a directory's contents into a directory, or one file to one path. */
export type CopyTarget =
  | { kind: 'tree'; srcRoot: string; destRoot: string }
  | { kind: 'file'; srcFile: string; destFile: string };

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
  const srcStat = statOrRefuse(src, 'source');
  if (!srcStat) return refuse(`source \`${src}\` does not exist`);
  const srcReal = fs.realpathSync(src);
  const destStat = statOrRefuse(dest, 'destination');
  if (!destStat && fs.lstatSync(dest, { throwIfNoEntry: false })?.isSymbolicLink()) {
    refuse(`destination \`${dest}\` is a symlink to a missing path`);
  }
  const destReal = destStat ? fs.realpathSync(dest) : realpathOfMissing(dest);

  if (srcStat.isDirectory()) {
    if (destStat && !destStat.isDirectory()) refuse(`cannot copy directory \`${src}\` onto \`${dest}\`, which is not a directory`);
    if (destReal === srcReal || (destStat && destStat.dev === srcStat.dev && destStat.ino === srcStat.ino)) {
      refuse(`\`${src}\` and \`${dest}\` are the same directory`);
    }
    if (isInside(destReal, srcReal)) refuse(`cannot copy \`${src}\` into itself: \`${dest}\` is inside it`);
    if (isInside(srcReal, destReal)) refuse(`cannot copy \`${src}\` into \`${dest}\`: the source is inside the destination`);
    return { kind: 'tree', srcRoot: srcReal, destRoot: destReal };
  }
  if (!srcStat.isFile()) refuse(`source \`${src}\` is not a regular file or directory`);
  const intoDir = destStat ? destStat.isDirectory() : /[/\\]$/.test(dest);
  const destFile = intoDir ? path.join(destReal, path.basename(path.resolve(src))) : destReal;
  const existing = fs.statSync(destFile, { throwIfNoEntry: false });
  if (existing && existing.dev === srcStat.dev && existing.ino === srcStat.ino) {
    refuse(`\`${src}\` and \`${destFile}\` are the same file`);
  }
  return { kind: 'file', srcFile: srcReal, destFile };
}

/** True when `child` is strictly below `parent` (both real, absolute paths). */
export function isInside(child: string, parent: string): boolean {
  const prefix = parent.endsWith(path.sep) ? parent : parent + path.sep;
  return child.startsWith(prefix);
}

function statOrRefuse(p: string, role: 'source' | 'destination'): fs.Stats | undefined {
  try {
    return fs.statSync(p, { throwIfNoEntry: false });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOTDIR') return refuse(`${role} \`${p}\`: a part of the path is not a directory`);
    if (e.code === 'ELOOP') return refuse(`${role} \`${p}\`: too many levels of symbolic links`);
    return refuse(`cannot access ${role} \`${p}\`: ${e.code ?? ''} ${e.message}`.trim());
  }
}

/** Real path of a path that does not exist yet: the real path of its nearest existing ancestor + the rest. */
function realpathOfMissing(p: string): string {
  const abs = path.resolve(p);
  let existing = abs;
  const rest: string[] = [];
  while (!fs.existsSync(existing)) {
    rest.unshift(path.basename(existing));
    existing = path.dirname(existing);
  }
  if (!fs.statSync(existing).isDirectory()) refuse(`cannot create \`${p}\`: \`${existing}\` is not a directory`);
  return path.join(fs.realpathSync(existing), ...rest);
}
