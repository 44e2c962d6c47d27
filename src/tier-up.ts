/**
 * When V8 optimizes a function, and how much it inlines: later than its default in pcopy's
 * processes, later still while a run is young, and with less inlining throughout. Each process
 * lives for one run, and most of its time is in system calls, so TurboFan's compiling (in V8's
 * threads, on the same two cores as the copy) costs CPU that only a long run earns back. V8
 * optimizes a function once it has run about `--interrupt-budget` bytes of bytecode a few times
 * over (Node 20's default: 66 KiB).
 *
 * - Once its bundle has loaded, `tierUpLater`: 10 times the default, so a run of a few thousand files optimizes
 *   little. Perf on /usr/include (7,911 files) put V8's compiler threads at 14% of all of pcopy's
 *   CPU at the 3x budget used before. Whole runs, pcopy / plain node (12 alternating runs):
 *   /usr/include 0.95 vs 1.09, npm's tree 1.20 vs 1.22.
 * - Once the walk has found BIG_RUN jobs, `settleWhen`: 3 times the default, from then on. The
 *   parent hears it from its progress (the CLI's; the library never touches V8's flags in a
 *   consumer's process), a worker from its next `size` batch (which says how many jobs so far): one
 *   whose last batch came earlier runs young to its end, and has few files left to copy. A function
 *   goes on the new budget once it has spent the one it had. On a tree of 46,000 files optimized
 *   code pays: pcopy / plain node 0.83 at 3x throughout, 0.84 this way, 0.85 with 30x while young,
 *   0.90 with no TurboFan at all (`--max-opt=1`, which cannot be undone at run time).
 *   (Lone workers measured before: `mixed` compiled 81 ms at the default budget, 41 ms at 3x.)
 * - Throughout, less inlining: what TurboFan inlines into one function adds up to at most
 *   INLINE_BYTECODE bytes of bytecode (Node 20's default: 920). A copy's hot code calls Node's fs
 *   wrappers, and a stat builds a BigIntStats with its Dates: inlined, those made each compile big,
 *   and every process compiles the same code again for itself. One process copying the first 2,500
 *   files of `small` with pcopy's copy code took 111 ms of CPU, 66 ms with no TurboFan at all, 99 ms
 *   at this limit; at 20,000 files it was as fast as with the default. Whole runs (14 alternating,
 *   then the bench's 8): pcopy's CPU 3-4% less on `small` and on the real tree, `large` and `mixed`
 *   unchanged; pcopy / plain node small 1.07 → 1.03, real 0.90 → 0.87 in the same run.
 *
 * Set at run time (on a worker's command line, a flag V8 does not know would stop Node from
 * starting), and only on the V8 this was measured on, Node 20's 11.3: others tier up differently
 * (Maglev), and one without the flag would print "unrecognized flag" on stderr. Only when and how V8
 * optimizes changes: no behaviour.
 */
import v8 from 'node:v8';

const DEFAULT_BUDGET = 66 * 1024;
const DEFAULT_INLINE_BYTECODE = 920;
const YOUNG_BUDGET = 10 * DEFAULT_BUDGET;
const SETTLED_BUDGET = 3 * DEFAULT_BUDGET;
/** The most bytecode TurboFan inlines into one function, all inlined callees together. */
const INLINE_BYTECODE = 200;
/**
 * A run is big once its walk has found this many jobs (files and links): its processes live long
 * enough to earn TurboFan's compiling back. Test-only: PCOPY_TEST_BIG_RUN (see diagnostics.ts).
 */
const BIG_RUN = Number(process.env.PCOPY_TEST_BIG_RUN) || 16000;

/** Whether this Node's V8 is the one the budgets were measured on (Node 20's). */
export const tiersUpLater = process.versions.v8.startsWith('11.3.');

let settled = false;

/**
 * Called once a process has loaded its bundle, not before: V8 takes a code cache only under the
 * flags it was made with, and Node's own modules (readline, perf_hooks, os…) come with caches made
 * under Node's. Loaded after a flag had changed, each compiled from source: perf_hooks 1.8 instead
 * of 0.5 ms, readline 1.4 instead of 0.35 ms, child_process 3.3 instead of 0.8 ms.
 */
export function tierUpLater(): void {
  setTierUp(YOUNG_BUDGET, INLINE_BYTECODE);
}

/**
 * Node's own budget and inlining back, as the build's cache run makes a code cache (code-cache.ts):
 * V8 stamps a cache with the flags of the moment, and a process loads its bundle before it sets its
 * own (`tierUpLater`).
 */
export function tierUpAsNode(): void {
  setTierUp(DEFAULT_BUDGET, DEFAULT_INLINE_BYTECODE);
}

function setTierUp(budget: number, inlineBytecode: number): void {
  if (tiersUpLater) v8.setFlagsFromString(`--interrupt-budget=${budget} --max-inlined-bytecode-size-cumulative=${inlineBytecode}`);
}

/** The walk has found `found` jobs so far: from BIG_RUN on, V8 optimizes at the settled budget. */
export function settleWhen(found: number): void {
  if (settled || !(found >= BIG_RUN) || !tiersUpLater) return;
  settled = true;
  v8.setFlagsFromString(`--interrupt-budget=${SETTLED_BUDGET}`);
}

/** Whether `settleWhen` settled this process (shown by PCOPY_DEBUG_TIMING). */
export function isSettled(): boolean {
  return settled;
}
