/**
 * Hidden diagnostics and test hooks, set through the environment (never CLI options):
 * - PCOPY_DEBUG_TIMING: phase times and CPU of the parent and of each worker (and whether its bundle
 *   came from its code cache), on stderr, for the benchmark notes;
 * - PCOPY_TEST_DELAY_MS: workers pause after each chunk, so tests can interrupt a copy mid-file, and
 *   after opening a huge file for parts, before the parent hears of it;
 * - PCOPY_TEST_READ_AHEAD: workers read ahead from the start (tests cannot make a cache cold);
 * - PCOPY_TEST_BIG_RUN: the jobs found after which a run counts as big (read in tier-up.ts);
 * - PCOPY_TEST_WORKER_START_MS: how long a worker may take to start before it is killed (tests of a
 *   worker stuck in Node's start-up need not wait the default 30 s);
 * - PCOPY_MAKE_CODE_CACHE: the build's run that writes the bundles' code caches (code-cache.ts).
 */
import { now } from './clock.js';
import { codeCacheUse } from './code-cache.js';
import { isSettled } from './tier-up.js';

const timing = Boolean(process.env.PCOPY_DEBUG_TIMING);

/** Test-only pause after each chunk, in ms (0: none). */
export function testDelayMs(): number {
  return Number(process.env.PCOPY_TEST_DELAY_MS) || 0;
}

/** Test-only: how long a worker may take to start, in ms (undefined: the default). */
export function testWorkerStartMs(): number | undefined {
  return Number(process.env.PCOPY_TEST_WORKER_START_MS) || undefined;
}

/** Test-only: read ahead whatever the device's speed. */
export function testReadAhead(): boolean {
  return process.env.PCOPY_TEST_READ_AHEAD === '1';
}

/** The parent's CPU time so far (user + system), in ms. */
const cpuMs = (): number => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

/** Phase marks of a run, each with the parent's CPU time so far; printed by `report` when timing is on. */
export class PhaseMarks {
  private readonly marks: Array<[what: string, at: number, cpu: number]> = [];

  constructor() {
    this.mark('run starts');
  }

  mark(what: string): void {
    if (timing) this.marks.push([what, now(), cpuMs()]);
  }

  report(): void {
    if (!timing) return;
    const { user, system } = process.cpuUsage();
    const maxRss = (process.resourceUsage().maxRSS / 1024).toFixed(0);
    process.stderr.write(
      `pcopy timing (ms since process start, parent cpu ms so far): ${this.marks.map(([what, t, cpu]) => `${what} ${t.toFixed(0)} (cpu ${cpu.toFixed(0)})`).join(', ')}; ` +
        `parent cpu user ${(user / 1000).toFixed(0)} ms, system ${(system / 1000).toFixed(0)} ms, max rss ${maxRss} MiB, ${v8State()}\n`,
    );
  }
}

/** This process's tier-up (tier-up.ts) and how its bundle was compiled (code-cache.ts; a library run's parent loads none). */
function v8State(): string {
  const use = codeCacheUse();
  return `tier-up ${isSettled() ? 'settled' : 'young'}, ${use ? `code cache ${use}` : 'no bundle loaded'}`;
}

/** A worker's CPU time, life and memory, when timing is on. */
export function reportWorkerCpu(filesReadAhead: number): void {
  if (!timing) return;
  const { user, system } = process.cpuUsage();
  const { rss, heapUsed } = process.memoryUsage();
  process.stderr.write(
    `pcopy worker ${process.pid}${process.argv.includes('early') ? ' (forked early)' : ''}: cpu user ${(user / 1000).toFixed(0)} ms, system ${(system / 1000).toFixed(0)} ms, lived ${now().toFixed(0)} ms, read ahead ${filesReadAhead} files, ${v8State()}, ` +
      `max rss ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB (now ${rss >> 20}, heap used ${heapUsed >> 20})\n`,
  );
}
