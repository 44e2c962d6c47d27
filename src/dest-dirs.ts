/** Destination directories: `mkdir -p` with real errors, and the clean-up of dead runs' temp files. */
import fs from 'node:fs';
import path from 'node:path';
import { TEMP_NAME_PATTERN } from './protocol.js';

/**
 * `mkdir -p` that reports the real reason: Node's recursive mkdir says ENOENT where the first missing
 * level fails with EROFS or EACCES. Returns true if `dir` was created (false: it existed).
 */
export function makeDirs(dir: string, mode: number): boolean {
  try {
    fs.mkdirSync(dir, mode);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' && fs.statSync(dir).isDirectory()) return false;
    if (code !== 'ENOENT' || path.dirname(dir) === dir) throw err;
  }
  makeDirs(path.dirname(dir), 0o777);
  fs.mkdirSync(dir, mode);
  return true;
}

/** Removes temp files left in `dir` by pcopy runs whose process is gone (never those of a live run). */
export function removeStaleTemps(dir: string): void {
  for (const name of fs.readdirSync(dir)) {
    const m = TEMP_NAME_PATTERN.exec(name);
    if (m && !isAlive(Number(m[1]))) {
      try {
        fs.unlinkSync(path.join(dir, name));
      } catch {
        // raced with another cleaner: fine
      }
    }
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
