/**
 * The forked worker. It takes care of:
 * - sizing each batch of jobs at once (one lstat per entry), so the parent's totals fill in early;
 *   files of `bigFileBytes` or more go back to the parent's shared queue, to spread them over workers;
 * - copying its queue in time slices of synchronous fs calls (a worker is its own process, so sync
 *   calls block nobody), yielding to the event loop between slices so an abort, new jobs or the
 *   parent's disappearance are seen within milliseconds, even inside a huge file;
 * - sending progress in batches: at most one message per ~100 ms, plus one when it runs dry.
 *
 * Signals: Ctrl-C reaches the whole process group, but the parent coordinates the stop, so a first
 * SIGINT/SIGHUP is ignored here; a second one, SIGTERM, an `abort` message or a lost parent
 * all make the worker remove its temp file and exit at once.
 */
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { copyRange, copyRegularFile, copySymlink, EntryFailure, type CopyContext, type CopyOutcome } from './copy-file.js';
import { entryError, serializeError, type SerializedError } from './errors.js';
import { JobQueue, type QueuedJob } from './job-queue.js';
import { sourceStatOf, type SourceStat } from './metadata.js';
import { tempName, type CopyJob, type JobFailure, type ParentMessage, type RangeJob, type WorkerInit, type WorkerMessage } from './protocol.js';

const SLICE_MS = 20;
const FLUSH_MS = 100;
const MAX_RESULTS_PER_MESSAGE = 4000;

interface InHand extends QueuedJob {
  gen?: Generator<void, CopyOutcome | void>;
  reported: number;
  /** Set when the job in hand is a part of a huge file (then `st.size` is the part's length). */
  range?: RangeJob;
}

let init: WorkerInit | undefined;
let ctx: CopyContext | undefined;
const queue = new JobQueue();
const sharedQueue: QueuedJob[] = [];
const rangeQueue: RangeJob[] = [];
let current: InHand | null = null;
let scheduled = false;
let ending = false;
let idleReported = false;

let bytes = 0;
let copied: number[] = [];
let same: number[] = [];
let kept: number[] = [];
let ranges: Array<[number, number]> = [];
let rangesFailed: Array<JobFailure & { part: number }> = [];
let failed: JobFailure[] = [];
let lastFlush = performance.now();

process.on('message', (message: ParentMessage) => {
  switch (message.type) {
    case 'init':
      init = message;
      ctx = {
        buffer: Buffer.allocUnsafe(message.chunkSize),
        policy: message.policy,
        uid: process.geteuid?.() ?? -1,
        gid: process.getegid?.() ?? -1,
        yieldEveryChunk: message.delayMs > 0,
        onBytes: countBytes,
      };
      break;
    case 'jobs':
      sizeJobs(message.jobs);
      break;
    case 'shared':
      takeShared(message.job);
      break;
    case 'range':
      rangeQueue.push(message.range);
      idleReported = false;
      schedule();
      break;
    case 'end':
      ending = true;
      schedule();
      break;
    case 'abort':
      abortNow();
      break;
  }
});

// Temp files are created with the source's permission bits, exactly (see copyRegularFile).
process.umask(0);

let interrupts = 0;
const onInterrupt = (): void => {
  if (++interrupts > 1) abortNow();
};
process.on('SIGINT', onInterrupt);
process.on('SIGHUP', onInterrupt);
process.on('SIGTERM', abortNow);
process.on('disconnect', abortNow);

function settings(): WorkerInit {
  if (!init) throw new Error('worker used before init');
  return init;
}

/** lstat every job of a batch now: the parent learns sizes early; vanished or changed entries fail here. */
function sizeJobs(jobs: CopyJob[]): void {
  const { srcRoot, bigFileBytes } = settings();
  const { hardLinks } = settings().policy;
  const sizes: number[] = [];
  const big: number[] = [];
  const links: Array<[number, string]> = [];
  for (const job of jobs) {
    const st = statSource(srcRoot, job);
    if (!st) continue;
    sizes.push(job.id, st.size);
    if (hardLinks && st.nlink > 1 && job.kind === 'file' && !job.linkLeader) links.push([job.id, `${st.dev}:${st.ino}`]);
    else if (st.size >= bigFileBytes) big.push(job.id);
    else queue.push({ job, st });
  }
  send({ type: 'sized', sizes, big, links });
  idleReported = false;
  schedule();
}

function takeShared(job: CopyJob): void {
  const st = statSource(settings().srcRoot, job);
  if (st) sharedQueue.push({ job, st });
  idleReported = false;
  schedule();
}

/** The entry's stat, or undefined after recording why it cannot be copied. */
function statSource(srcRoot: string, job: CopyJob): SourceStat | undefined {
  const src = under(srcRoot, job.rel);
  try {
    const dereference = settings().policy.dereference;
    const st = dereference ? fs.statSync(src, { bigint: true }) : fs.lstatSync(src, { bigint: true });
    const ok = job.kind === 'file' || dereference ? st.isFile() : st.isSymbolicLink();
    if (ok) return sourceStatOf(st);
    fail(job, entryError.changed(`no longer a ${job.kind === 'file' ? 'regular file' : 'symlink'}`), 0);
  } catch (err) {
    fail(job, sourceError(err, job, src), 0);
  }
  return undefined;
}

function sourceError(err: unknown, job: CopyJob, src: string): SerializedError {
  if (err instanceof EntryFailure) return err.error;
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'ENOENT' && e.path === src) {
    if (job.rel.includes('\uFFFD')) return entryError.notUtf8();
    if (job.kind === 'link' && settings().policy.dereference) return entryError.noReferent();
    return entryError.vanished();
  }
  return serializeError(err);
}

function countBytes(n: number): void {
  if (!current) return;
  // Count no more than the sized bytes: the bar must never pass the total, even for a growing file.
  const counted = Math.min(n, current.st.size - current.reported);
  current.reported += counted;
  bytes += counted;
}

function fail(job: CopyJob, error: SerializedError, bytesLeft: number): void {
  failed.push({ id: job.id, error });
  bytes += bytesLeft;
}

function schedule(): void {
  if (scheduled) return;
  scheduled = true;
  setImmediate(pump);
}

/** Runs jobs for one time slice, then yields to the event loop. */
function pump(): void {
  scheduled = false;
  const sliceEnd = performance.now() + SLICE_MS;
  const delayMs = init?.delayMs ?? 0;
  for (;;) {
    if (!current) {
      const range = rangeQueue.shift();
      const next = range ? rangeInHand(range) : (sharedQueue.shift() ?? queue.shift());
      if (!next) break;
      current = { ...next, reported: 0, range };
    }
    step(current);
    if (delayMs > 0 && current) {
      flush(false);
      scheduled = true;
      setTimeout(pump, delayMs);
      return;
    }
    if (performance.now() >= sliceEnd) break;
  }
  const idle = !current && sharedQueue.length === 0 && rangeQueue.length === 0 && queue.length === 0;
  flush(idle);
  if (!idle) schedule();
  else if (ending) {
    if (process.env.PCOPY_DEBUG_TIMING) reportCpu();
    process.disconnect();
  }
}

/** Advances the job in hand by one step; settles it when it completes or fails. */
function step(job: InHand): void {
  const { srcRoot, destRoot, runTag } = settings();
  const src = under(srcRoot, job.job.rel);
  const dest = under(destRoot, job.job.rel);
  if (job.range) return stepRange(job, job.range, src, under(path.dirname(dest), job.range.tmp));
  try {
    let outcome: CopyOutcome | undefined;
    if (job.job.kind === 'link' && !ctx!.policy.dereference) {
      outcome = copySymlink(src, dest, tmpPath(dest, runTag, job.job), job.st, ctx!, job.job.fresh);
    } else {
      job.gen ??= copyRegularFile(src, dest, tmpPath(dest, runTag, job.job), job.st, ctx!, job.job.fresh);
      const r = job.gen.next();
      if (r.done) outcome = r.value as CopyOutcome;
    }
    if (outcome === undefined) return;
    (outcome === 'copied' ? copied : outcome === 'same' ? same : kept).push(job.job.id);
    bytes += job.st.size - job.reported;
  } catch (err) {
    fail(job.job, sourceError(err, job.job, src), job.st.size - job.reported);
  }
  current = null;
}

/** A part of a huge file, in the shape of a job in hand (its `st.size` is the part's length). */
function rangeInHand(range: RangeJob): QueuedJob {
  const job: CopyJob = { id: range.id, kind: 'file', rel: range.rel, attempt: 0, fresh: false };
  const st: SourceStat = { size: range.length, mode: 0, uid: 0, gid: 0, dev: 0, ino: 0n, nlink: 1, atimeNs: 0n, mtimeNs: 0n };
  return { job, st };
}

function stepRange(job: InHand, range: RangeJob, src: string, tmp: string): void {
  try {
    job.gen ??= copyRange(src, tmp, range.offset, range.length, ctx!);
    if (!job.gen.next().done) return;
    ranges.push([range.id, range.part]);
    bytes += range.length - job.reported;
  } catch (err) {
    rangesFailed.push({ id: range.id, part: range.part, error: sourceError(err, job.job, src) });
    bytes += range.length - job.reported;
  }
  current = null;
}

function tmpPath(dest: string, runTag: string, job: CopyJob): string {
  return `${dest.slice(0, dest.lastIndexOf('/') + 1)}${tempName(runTag, job.id, job.attempt)}`;
}

/** root + '/' + rel without path.join's normalising: both are already clean (rel '' is the root itself). */
function under(root: string, rel: string): string {
  return rel === '' ? root : root.endsWith('/') ? root + rel : `${root}/${rel}`;
}

/** Sends what finished since the last message, if due (or when running dry). */
function flush(idle: boolean): void {
  const results = copied.length + same.length + kept.length + failed.length + ranges.length + rangesFailed.length;
  const now = performance.now();
  const due = now - lastFlush >= FLUSH_MS || results >= MAX_RESULTS_PER_MESSAGE || (idle && !idleReported);
  if (!due || (results === 0 && bytes === 0 && !(idle && !idleReported))) return;
  const big = current && current.st.size >= settings().bigFileBytes ? current.job.id : -1;
  send({ type: 'progress', bytes, copied, same, kept, failed, ranges, rangesFailed, idle, current: big });
  if (idle) idleReported = true;
  bytes = 0;
  copied = [];
  same = [];
  kept = [];
  ranges = [];
  rangesFailed = [];
  failed = [];
  lastFlush = now;
}

function send(message: WorkerMessage): void {
  if (!process.connected) return abortNow();
  process.send!(message);
}

/** Hidden diagnostics (PCOPY_DEBUG_TIMING): this worker's CPU time and when it finished. */
function reportCpu(): void {
  const { user, system } = process.cpuUsage();
  const { rss, heapUsed } = process.memoryUsage();
  process.stderr.write(
    `pcopy worker ${process.pid}: cpu user ${(user / 1000).toFixed(0)} ms, system ${(system / 1000).toFixed(0)} ms, lived ${performance.now().toFixed(0)} ms, ` +
      `max rss ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB (now ${rss >> 20}, heap used ${heapUsed >> 20})\n`,
  );
}

/** Stop now: the generator's `finally` removes the temp file in hand. */
function abortNow(): void {
  try {
    current?.gen?.return(undefined as never);
  } finally {
    process.exit(0);
  }
}
