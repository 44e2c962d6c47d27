/**
 * The pool joins the scheduler (which decides) to worker processes (which copy): it forks a
 * `WorkerHandle` when the scheduler asks, passes messages both ways, removes the temp files the
 * scheduler names, resolves `allJobsDone` once every job has completed (the workers may still be
 * exiting), and `finished` once every job has completed (or the run was aborted) and every child has
 * exited, so the parent never leaves a worker behind.
 */
import { removeQuietly } from './copy-file.js';
import { Scheduler } from './scheduler.js';
import type { PoolEvents, SchedulerSettings } from './scheduler-settings.js';
import type { SerializedError } from './errors.js';
import { jobTempPath, type CopyOutcome, type JobKind, type WorkerInit } from './protocol.js';
import { WorkerHandle } from './worker-handle.js';

export type PoolSettings = Omit<WorkerInit, 'type'> & SchedulerSettings;

export class WorkerPool {
  private readonly scheduler: Scheduler;
  private readonly handles = new Map<number, WorkerHandle>();
  private flushScheduled = false;
  private finish!: () => void;
  private jobsDone!: () => void;
  /** Resolves once every job has completed (or the pool was aborted) and every worker has exited. */
  readonly finished = new Promise<void>((resolve) => (this.finish = resolve));
  /**
   * Resolves once every job has completed, while the workers may still be exiting (none writes in
   * DEST any more); after an abort, with `finished`.
   */
  readonly allJobsDone = new Promise<void>((resolve) => (this.jobsDone = resolve));

  constructor(settings: PoolSettings, events: PoolEvents) {
    const { workers, initialWorkers, bigFileBytes, splitFileBytes, partBytes, ...init } = settings;
    this.scheduler = new Scheduler(
      { workers, initialWorkers, bigFileBytes, splitFileBytes, partBytes },
      {
        ...events,
        fork: (w) => {
          const handle = new WorkerHandle(
            { type: 'init', ...init },
            {
              report: (report) => this.after(() => this.scheduler.onReport(w, report)),
              exit: (how) => {
                this.handles.delete(w);
                this.after(() => this.scheduler.onExit(w, how));
              },
            },
          );
          this.handles.set(w, handle);
        },
        send: (w, message) => this.handles.get(w)?.send(message),
        removeTemps: (jobs) => {
          for (const job of jobs) removeQuietly(jobTempPath(init.destRoot, init.runTag, job));
        },
      },
    );
  }

  /** Adds a job; it goes out in the next batch. */
  add(kind: JobKind, rel: string, fresh: boolean): number {
    const id = this.scheduler.add(kind, rel, fresh);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => {
        this.flushScheduled = false;
        this.after(() => this.scheduler.flush());
      });
    }
    return id;
  }

  /** No more jobs will be added. */
  finishInput(): void {
    this.after(() => this.scheduler.finishInput());
  }

  /** Stops at once: every worker removes its temp file and exits. Resolves when all have. */
  abort(): Promise<void> {
    this.after(() => this.scheduler.abort());
    return this.finished;
  }

  rel(id: number): string {
    return this.scheduler.jobs.rel(id);
  }

  /** Its destination directory was made by this run (or would be, in a dry run). */
  fresh(id: number): boolean {
    return this.scheduler.jobs.isFresh(id);
  }

  kind(id: number): JobKind {
    return this.scheduler.jobs.kind(id);
  }

  /** Bytes of a job as sized (0 if it failed before). */
  size(id: number): number {
    return this.scheduler.jobs.sizedBytes(id);
  }

  currentBigFile(): string | undefined {
    return this.scheduler.currentBigFile();
  }

  /** -H: copy this held file as the first of its link group. */
  copyAsLeader(id: number): void {
    this.after(() => this.scheduler.copyAsLeader(id));
  }

  /** -H: completes a held job the caller handled itself. */
  settle(id: number, outcome: CopyOutcome | SerializedError): void {
    this.after(() => this.scheduler.settle(id, outcome));
  }

  /** Runs a scheduler step, then resolves `allJobsDone` and `finished` once they are due. */
  private after(step: () => void): void {
    step();
    if (this.scheduler.allJobsDone) this.jobsDone();
    if (this.scheduler.complete && this.handles.size === 0) {
      // `finished` first: whoever waited for both hears of it before `allJobsDone`'s waiters resume.
      this.finish();
      this.jobsDone();
    }
  }
}

