/** Assertions and runners the end-to-end files share. */
import { expect } from 'vitest';
import { runPcopy, type RunResult } from './run.js';
import { diffTrees, snapshot } from './tree.js';

/** A clean run: exit 0 and nothing on stderr. */
export function expectOk(r: RunResult): void {
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
}

/** SRC and its copy match entry by entry (types, sizes, contents, modes, times, link targets), roots included. */
export function expectSameTree(src: string, dest: string): void {
  expect(diffTrees(snapshot(src, { withRoot: true }), snapshot(dest, { withRoot: true }))).toEqual([]);
}

/** pcopy run to completion with the test's temp directory (`cwd()`) as working directory. */
export function pcopyIn(cwd: () => string): (args: string[], prefix?: string[]) => Promise<RunResult> {
  return (args, prefix = []) => runPcopy(args, { cwd: cwd(), prefix });
}
