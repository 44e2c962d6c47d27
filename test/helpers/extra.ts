/**
 * Compatibility for test/unit and test/integration only (the e2e tests import ./tree.ts, ./run.ts,
 * ./proc.ts, ./output.ts and ./host.ts directly): the names those files imported from the old
 * helper set, mapped onto the one set of helpers. Nothing here has its own logic; delete this file
 * once no test imports it.
 */
import { waitFor as waitUntil } from './run.js';
import { listEntries, writeFile } from './tree.js';
import { workersOf } from './proc.js';

export { hashFile, ino, sha256, sizeOr, tempPerTest } from './tree.js';
export { openTemps } from './proc.js';

/** `writeFile` with the old positional mode (the contents are deterministic now, no longer random). */
export function writeRandom(file: string, size: number, mode?: number): Buffer {
  return writeFile(file, size, { mode });
}

/** All entries below `root` as sorted relative paths (`listEntries(root)`). */
export function listing(root: string): string[] {
  return listEntries(root);
}

/** Pids of the worker processes of a pcopy parent (`workersOf`). */
export function workerChildren(ppid: number): number[] {
  return workersOf(ppid).map((p) => p.pid);
}

/** The old positional call form of the one `waitFor` in ./run.ts. */
export async function waitFor(cond: () => boolean, timeoutMs = 20_000, everyMs = 5, what = 'condition'): Promise<void> {
  await waitUntil(cond, what, { timeoutMs, intervalMs: everyMs });
}
