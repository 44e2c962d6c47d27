/**
 * When V8 optimizes a function: later than its default, in pcopy's processes. Each of them lives
 * for one run, and most of its time is in system calls, so TurboFan's compiling (in V8's threads,
 * on the same two cores as the copy) often costs more than the optimized code saves. V8 optimizes a
 * function once it has run about `--interrupt-budget` bytes of bytecode a few times over; three
 * times Node 20's default (66 KiB) still optimizes what runs per file on big trees, soon enough.
 *
 * Measured on warm tmpfs: a lone worker copying `mixed` spent 81 ms compiling (33 functions), 41 ms
 * with this (18 functions); on `small` 174 vs 110 ms, in the same time. The parent compiled 88 vs
 * 11 ms on `mixed`. Whole runs, pcopy / plain node, alternating with the build before: `mixed` 0.83
 * vs 0.93 (14 runs), `real` 0.86 vs 0.87 (8), `large` 0.62 vs 0.64 (5), `small` 1.01 vs 1.01 (14).
 *
 * Set at run time, first thing in each process (on a worker's command line, a flag V8 does not
 * know would stop Node from starting), and only on the V8 this was measured on, Node 20's 11.x:
 * others tier up differently (Maglev), and one without the flag would print "unrecognized flag"
 * on stderr. Only tier-up timing changes: no behaviour.
 */
import v8 from 'node:v8';

const INTERRUPT_BUDGET = 3 * 66 * 1024;

/** Whether this Node's V8 is the one the budget was measured on. */
export const tiersUpLater = process.versions.v8.startsWith('11.');

export function tierUpLater(): void {
  if (tiersUpLater) v8.setFlagsFromString(`--interrupt-budget=${INTERRUPT_BUDGET}`);
}
