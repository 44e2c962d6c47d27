/**
 * A worker's sizing of the jobs the scheduler sends it: one lstat each (a stat with -L), checked to
 * still be the kind of entry the scan found, then the batch's rule: the job stays in this worker's
 * queue, or is reported away (big files; -H files with several links). Where the device is slow
 * (read-ahead is on), the lstats go to the thread pool, a few at a time, while the copy goes on:
 * one by one, each would wait for the device with the copy stopped; only a few at a time, so the
 * read-ahead's requests never queue behind a whole batch of them.
 */
import fs from 'node:fs';
import { isErrorPath, osPath } from './byte-names.js';
import { statSource, type CopyPolicy } from './copy-file.js';
import { EntryFailure, entryError, serializeError, type SerializedError } from './errors.js';
import type { JobQueue } from './job-queue.js';
import { sourceStatOf, type SourceStat } from './metadata.js';
import { under, type JobRef } from './protocol.js';
import type { ReportBatch } from './worker-report.js';

/** lstats in flight on the thread pool at most, when sizing there. */
const SIZING_DEPTH = 4;

export class Sizing {
  private readonly waiting: Array<[JobRef, number]> = [];
  private inFlight = 0;

  /** `sized(done)`: some jobs were sized on the thread pool (`done`: none is left). */
  constructor(
    private readonly srcRoot: string,
    private readonly policy: CopyPolicy,
    private readonly queue: JobQueue,
    private readonly report: ReportBatch,
    private readonly sized: (done: boolean) => void,
  ) {}

  /** Jobs are being sized on the thread pool. */
  get busy(): boolean {
    return this.inFlight > 0 || this.waiting.length > 0;
  }

  /** Sizes a batch: now (false: sized), or on the thread pool (true: `sized` tells when). */
  size(jobs: JobRef[], keepBelow: number, onThreadPool: boolean): boolean {
    if (onThreadPool || this.busy) {
      for (const job of jobs) this.waiting.push([job, keepBelow]);
      this.more();
      return true;
    }
    for (const job of jobs) {
      const src = under(this.srcRoot, job.rel);
      try {
        this.keepOrSendAway(job, this.stat(job, src), keepBelow);
      } catch (err) {
        this.report.results.push({ id: job.id, error: this.sourceError(err, job, src) });
      }
    }
    return false;
  }

  /** The stat of a job's source (what a copy of a job sized elsewhere starts from). */
  stat(job: JobRef, src: string): SourceStat {
    return this.checked(job, statSource(src, this.policy.dereference));
  }

  /** A source error as the job's failure: a name gone since the scan is `VANISHED`. */
  sourceError(err: unknown, job: JobRef, src: string): SerializedError {
    if (err instanceof EntryFailure) return err.error;
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT' && isErrorPath(e.path, src)) {
      if (job.kind === 'link' && this.policy.dereference) return entryError.noReferent();
      return entryError.vanished();
    }
    return serializeError(err);
  }

  private more(): void {
    while (this.inFlight < SIZING_DEPTH && this.waiting.length > 0) {
      const [job, keepBelow] = this.waiting.shift()!;
      const src = under(this.srcRoot, job.rel);
      this.inFlight++;
      (this.policy.dereference ? fs.stat : fs.lstat)(osPath(src), { bigint: true }, (err, st) => {
        try {
          if (err) throw err;
          this.keepOrSendAway(job, this.checked(job, st), keepBelow);
        } catch (e) {
          this.report.results.push({ id: job.id, error: this.sourceError(e, job, src) });
        }
        this.inFlight--;
        this.more();
        this.sized(!this.busy);
      });
    }
  }

  /** The stat, if the source is still the kind of entry the scan found. */
  private checked(job: JobRef, st: fs.BigIntStats): SourceStat {
    const ok = job.kind === 'file' || this.policy.dereference ? st.isFile() : st.isSymbolicLink();
    if (!ok) throw new EntryFailure(entryError.changed(`no longer a ${job.kind === 'file' ? 'regular file' : 'symlink'}`));
    return sourceStatOf(st);
  }

  /** The batch's rule: a job stays here, or is reported away (big files, -H files with several links). */
  private keepOrSendAway(job: JobRef, st: SourceStat, keepBelow: number): void {
    this.report.sizes.push(job.id, st.size);
    if (this.policy.hardLinks && st.nlink > 1 && job.kind === 'file') {
      this.report.links.push([job.id, `${st.dev}:${st.ino}`]);
      this.report.away.push(job.id);
    } else if (st.size >= keepBelow) this.report.away.push(job.id);
    else this.queue.push({ job, st });
  }
}
