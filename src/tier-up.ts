/**
 * When V8 optimizes a function: later than its default in pcopy's processes, and later still while
 * a run is young. Each process lives for one run, and most of its time is in system calls, so
 * TurboFan's compiling (in V8's threads, on the same two cores as the copy) costs CPU that only a
 * long run earns back. V8 optimizes a function once it has run about `--interrupt-budget` bytes of
 * bytecode a few times over (Node 20's default: 66 KiB).
 *
 * - At start, `tierUpLater`: 10 times the default, so a run of a few thousand files optimizes
 *   little. Perf on /usr/include (7,911 files) put V8's compiler threads at 14% of all of pcopy's
 *   CPU at the 3x budget used before. Whole runs, pcopy / plain node (12 alternating runs):
 *   /usr/include 0.95 vs 1.09, npm's tree 1.20 vs 1.22.
 * - Once the walk has found BIG_RUN entries, `settleWhen`: 3 times the default, from then on, in the
 *   parent (it counts them) and in the workers (each `size` batch tells them how many jobs so far).
 *   On a tree of 46,000 files optimized code pays: pcopy / plain node 0.83 at 3x throughout, 0.84
 *   this way, 0.85 with 30x while young, 0.90 with no TurboFan at all (`--max-opt=1`, which cannot
 *   be undone at run time).
 *   (Lone workers measured before: `mixed` compiled 81 ms at the default budget, 41 ms at 3x.)
 *
 * Set at run time (on a worker's command line, a flag V8 does not know would stop Node from
 * starting), and only on the V8 this was measured on, Node 20's 11.x: others tier up differently
 * (Maglev), and one without the flag would print "unrecognized flag" on stderr. Only tier-up timing
 * changes: no behaviour.
 */
import v8 from 'node:v8';

const DEFAULT_BUDGET = 66 * 1024;
const YOUNG_BUDGET = 10 * DEFAULT_BUDGET;
const SETTLED_BUDGET = 3 * DEFAULT_BUDGET;
/** A run is big once its walk has found this many entries: its processes live long enough to earn TurboFan's compiling back. */
export const BIG_RUN = 16000;

/** Whether this Node's V8 is the one the budgets were measured on. */
export const tiersUpLater = process.versions.v8.startsWith('11.');

let settled = false;

export function tierUpLater(): void {
  if (tiersUpLater) v8.setFlagsFromString(`--interrupt-budget=${YOUNG_BUDGET}`);
}

/** The run has shown `seen` units of work: from `enough` on, V8 optimizes at the settled budget. */
export function settleWhen(seen: number, enough: number): void {
  if (settled || seen < enough || !tiersUpLater) return;
  settled = true;
  v8.setFlagsFromString(`--interrupt-budget=${SETTLED_BUDGET}`);
}
