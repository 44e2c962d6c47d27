/** What the scheduler is given: its settings and limits, and the host (the pool) it answers through. */
import type { SerializedError } from './errors.js';
import type { CopyOutcome, JobRef, ParentMessage } from './protocol.js';

/** What the run hears of its jobs. */
export interface PoolEvents {
  /** Bytes of newly sized jobs (a job sized again after a crash counts only its difference). */
  sized(bytes: number, files: number): void;
  bytes(n: number): void;
  /** -H: a sized file with several links; the listener calls `copyAsLeader` or `settle`. */
  hardLinked(id: number, key: string): void;
  done(id: number, outcome: CopyOutcome): void;
  failed(id: number, error: SerializedError): void;
  warn(message: string): void;
}

/** What the scheduler asks of the pool that runs it. */
export interface SchedulerHost extends PoolEvents {
  /** Start worker `worker` (indices count up from 0 and are never reused). */
  fork(worker: number): void;
  send(worker: number, message: ParentMessage): void;
  /** Remove these jobs' temp files, if they exist (after a crash, a failed split, an abort). */
  removeTemps(jobs: JobRef[]): void;
}

export interface SchedulerSettings {
  /** Largest pool. */
  workers: number;
  /** Forked at once; more follow only as the work needs them. */
  initialWorkers: number;
  /** Files at least this big are copied one at a time by idle workers, so they spread over the pool. */
  bigFileBytes: number;
  /** Files at least this big may be split into parts of `partBytes` (Infinity: never). */
  splitFileBytes: number;
  partBytes: number;
}

/** Largest batch of jobs in one message; early batches are smaller so workers start at once. */
export const MAX_BATCH = 512;
/**
 * Jobs at a worker below which it gets a part batch at once; above, jobs wait until a whole batch
 * is there (a worker copies ~25 small files a millisecond from memory: this is a few ms of work,
 * and a worker that runs dry reports at once anyway).
 */
export const LOW_WATER = 128;
/**
 * Jobs at one worker and not yet completed, at most. Up to this, workers size what they get at once
 * (the bar's totals are known early); beyond it, jobs wait here as ids, which bounds memory.
 */
export const MAX_OUTSTANDING = 32_768;
/**
 * Outstanding jobs per extra worker before it is worth forking one. A worker's start costs ~60-100 ms
 * of a core (Node's own start-up), as much as ~2,000 small files take to copy from memory: on 100
 * files a second worker made the run 25% slower. (With the code caches a start costs ~20-25 ms on
 * the Intel machine; 128, 256 and 512 there made no difference on npm's tree, 16 alternating runs.)
 */
export const JOBS_PER_EXTRA_WORKER = 1024;
/**
 * A pool that stopped growing because a worker could not start tries again once this many more jobs
 * have completed: a fork that failed for a moment (processes short, or a worker killed for a slow
 * start after pcopy sat stopped by Ctrl-Z) does not hold a long run to fewer workers to its end.
 */
export const REGROW_AFTER_JOBS = 10_000;
/**
 * Bytes that weigh as much as one job when deciding to fork: a MiB copies in about the time of 30
 * small files, so 500 files of 4 MiB get a second worker as 64,000 small files would.
 */
export const BYTES_PER_JOB = 32 * 1024;
/**
 * Jobs at a worker, at most, while the pool may still grow: the rest waits here until the sizes
 * reported show whether another worker pays (else 500 files of 4 MiB would all go to the first one).
 */
export const MAX_OUTSTANDING_GROWING = 64;
