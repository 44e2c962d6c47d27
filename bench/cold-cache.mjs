/**
 * Cold and warm page cache for the rows whose source is on the disk.
 *
 * Cold: before each timed run the destination is removed, then `sync; echo 3 >
 * /proc/sys/vm/drop_caches` (file data, dentries and inodes all go), and nothing is read after that
 * until the tool starts. The tool's own binary and node's are dropped too, as on a cold machine.
 * Warm: the source is read once, untimed, before the first run and never dropped.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';

const DROP_CACHES = '/proc/sys/vm/drop_caches';

/**
 * Why the page cache cannot be dropped here (not root, a read-only /proc/sys in a container), or
 * undefined if it can. Opening the file for writing checks that without dropping anything: the
 * kernel acts only on a write.
 */
export function dropCachesProblem() {
  try {
    fs.closeSync(fs.openSync(DROP_CACHES, 'w'));
    return undefined;
  } catch (err) {
    const why = { EACCES: 'permission denied (run as root)', EPERM: 'not permitted (run as root)', EROFS: '/proc/sys is read-only here (a container?)' };
    return `cannot write ${DROP_CACHES}: ${why[err.code] ?? err.message}`;
  }
}

/** Writes out every dirty page, then drops the page cache, dentries and inodes. */
export function dropCaches() {
  spawnSync('sync');
  fs.writeFileSync(DROP_CACHES, '3');
}

/**
 * Why `dir` cannot hold a source for cold runs, or undefined: a tree in tmpfs or ramfs lives in
 * memory and has no cache to drop.
 */
export function diskDirProblem(dir) {
  const r = spawnSync('stat', ['-f', '-c', '%T', dir], { encoding: 'utf8' });
  const type = r.status === 0 ? r.stdout.trim() : 'unknown';
  return type === 'tmpfs' || type === 'ramfs' ? `${dir} is on ${type} (in memory), not on a disk` : undefined;
}

/** The device's parallel read of every regular file under src (issue 9's fixed cold reference). */
export const PARALLEL_READ = ['sh', '-c', 'find "$1" -type f -print0 | xargs -0 -P 16 -n 64 cat > /dev/null', 'sh'];

/** Brings every file of `src` into the page cache (the untimed warm-up of the warm-disk rows). */
export function warmTree(src) {
  spawnSync(PARALLEL_READ[0], [...PARALLEL_READ.slice(1), src], { stdio: 'ignore' });
}
