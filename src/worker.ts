/**
 * The forked worker. It takes care of:
 * - sizing each `size` batch at once (sizing.ts: one lstat per entry) and reporting at once, so the
 *   parent's totals fill in early; it copies, in order, the jobs the batch's rule keeps here and
 *   reports the others away (big files, -H links: the scheduler routes those);
 * - doing the scheduler's other tasks (big files, parts of huge files, their open and seal) first;
 * - giving the end of its queue back when asked (`release`: another worker ran dry near the end);
 * - copying in time slices of synchronous fs calls (a worker is its own process, so sync calls block
 *   nobody), yielding to the event loop between slices so an abort, new work or the parent's
 *   disappearance are seen within milliseconds, even inside a huge file;
 * - reading ahead where the device is slow (read-ahead.ts): then it goes back to the event loop whenever
 *   the next file's read is not in yet, so the completions are taken in at once;
 * - reporting in batches (worker-report.ts): at most one report per ~100 ms, plus one when it runs
 *   dry, one when a job stays in hand past a slice (so a crash is attributed to it), one per sized batch.
 *
 * Signals: Ctrl-C reaches the whole process group, but the parent coordinates the stop, so a first
 * SIGINT/SIGHUP is ignored here; a second one, SIGTERM, an `abort` message or a lost parent
 * all make the worker remove its temp file and exit at once.
 */
import { now } from './clock.js';
import { copyRegularFile, copySymlink, removeQuietly, sourceOpenFlags, statSource, type CopyContext } from './copy-file.js';
import { reportWorkerCpu, testReadAhead } from './diagnostics.js';
import { JobQueue, type QueuedJob } from './job-queue.js';
import { fromWireStat, toWireStat, type SourceStat } from './metadata.js';
import { EntryFailure } from './errors.js';
import { exitProcess } from './exit.js';
import { fromWireJobs, jobTempPath, tempPathOf, under, type CopyOutcome, type Task, type WorkerInit, type WireMessage, type WorkerReport } from './protocol.js';
import { ReadAhead } from './read-ahead.js';
import { BYTES_PER_JOB } from './scheduler-settings.js';
import { Sizing } from './sizing.js';
import { copyPart, openSplit, sealSplit } from './split-file.js';
import { ReportBatch } from './worker-report.js';
import { settleWhen } from './tier-up.js';

/**
 * A slice's length: what a `release` (or an abort) may wait before the worker sees it. Near the end
 * of a run, the idle worker waits that long for its share: at 20 ms one of two workers sat idle for
 * the last 20-25 ms of npm's tree (1,943 files, ~115 ms); at 5 ms the two ended together (pcopy
 * 118.5 -> 115.8 ms, python3.11 109.7 -> 107.0 ms, 16 alternating runs; `small` and `mixed` the
 * same). A yield costs ~10-20 µs.
 */
const SLICE_MS = 5;

/** A job sized here and routed here, or a task. */
type Work = ({ t: 'queued' } & QueuedJob) | Task;

interface InHand {
  work: Work;
  /** A queued job's place in the queue's order (for read-ahead), else -1. */
  n: number;
  st?: SourceStat;
  gen?: Generator<void, CopyOutcome | void>;
  /** Bytes counted for it so far, and at most: the bar never passes the total, even for a growing file. */
  reported: number;
  limit: number;
  /** When its copy began (ms since the epoch, as file times are), for a queued job. */
  startedMs?: number;
  /** A queued job found changed at its end was sized again and copied once more (see `sizeAgain`). */
  sizedAgain?: boolean;
}

let init: WorkerInit | undefined;
let ctx: CopyContext | undefined;
let readAhead: ReadAhead | undefined;
const queue = new JobQueue();
const tasks: Task[] = [];
let current: InHand | null = null;
let inHandReported: InHand | null = null;
let sizing: Sizing | undefined;
let scheduled = false;
let ending = false;
/** Leaving: the last report is on its way (see `leaveAfterLastReport`). */
let leaving = false;
/**
 * Temp files of huge files this worker opened for parts. The parent removes a split's temp on an
 * abort only once it has heard it was opened; one opened just before the abort is removed here.
 */
const openedTemps = new Set<string>();

const report = new ReportBatch();

process.on('message', (message: WireMessage) => {
  // Leaving (see leaveAfterLastReport): nothing more is done.
  if (leaving) return;
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
        onFirstRead: (ms, fd, size) => readAhead!.firstRead(current?.n ?? -1, ms, fd, size),
        onGrown: countGrown,
      };
      sizing = new Sizing(message.srcRoot, message.policy, queue, report);
      readAhead = new ReadAhead(queue, (rel) => under(message.srcRoot, rel), sourceOpenFlags(message.policy.dereference), message.chunkSize, schedule, testReadAhead());
      break; // a first report, idle: the scheduler hears the worker is up
    case 'size':
      // A big run: V8 may optimize sooner (tier-up.ts).
      settleWhen(message.found);
      // Sized now and reported at once: the bar's totals fill in early.
      sizing!.size(fromWireJobs(message.jobs), message.keepBelow);
      flush(true);
      readAhead!.fill();
      break;
    case 'tasks':
      tasks.push(...message.tasks);
      break;
    case 'release':
      // Weighed as the scheduler weighs work: a file costs as much as BYTES_PER_JOB bytes besides its own.
      report.released = queue.giveBack(current ? current.limit - current.reported + BYTES_PER_JOB : 0, BYTES_PER_JOB, (n) => readAhead!.holds(n));
      readAhead!.rewind(queue.shifted + queue.length);
      flush(true);
      break;
    case 'end':
      ending = true;
      break;
    case 'abort':
      return abortNow();
  }
  report.busy();
  schedule();
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
// A report sent as the parent dies fails later, as an 'error' event: the parent is gone all the same.
process.on('error', abortNow);

function settings(): WorkerInit {
  if (!init) throw new Error('worker used before init');
  return init;
}


function countBytes(n: number): void {
  if (!current) return;
  const counted = Math.min(n, current.limit - current.reported);
  current.reported += counted;
  report.bytes += counted;
}

/** Bytes read past a size of 0 (/proc, /sys): reported per job, as they add to its size. */
function countGrown(n: number): void {
  if (!current) return;
  report.grow(current.work.job.id, n);
}

function schedule(): void {
  if (scheduled) return;
  scheduled = true;
  setImmediate(pump);
}

/** The next work: tasks first, then the queue; 'wait' while the next queued file is being read ahead. */
function nextWork(): InHand | null | 'wait' {
  const task = tasks.shift();
  if (task) return { work: task, n: -1, reported: 0, limit: task.t === 'copy' ? task.size : task.t === 'part' ? task.length : 0 };
  if (queue.length > 0 && readAhead!.isPending(queue.shifted)) return 'wait';
  const n = queue.shifted;
  const q = queue.shift();
  return q ? { work: { t: 'queued', ...q }, n, st: q.st, reported: 0, limit: q.st.size } : null;
}

/**
 * Runs work for one time slice, then yields to the event loop. While reading ahead, it also yields
 * when the next file's read is not in yet, so the completions are taken in and the device stays busy.
 */
function pump(): void {
  scheduled = false;
  if (leaving) return;
  const sliceEnd = now() + SLICE_MS;
  const delayMs = init?.delayMs ?? 0;
  let waiting = false;
  for (;;) {
    if (!current) {
      const next = nextWork();
      if (next === 'wait') waiting = true; // read-ahead wakes us
      if (next === null || next === 'wait') break;
      current = next;
    }
    const stepped = current;
    step(current);
    // Test-only pause: after each chunk of the work in hand (named in a report first), and after a
    // huge file's temp is made, before the parent hears of it (an abort must still remove it then).
    if (delayMs > 0 && (current || stepped.work.t === 'open')) {
      if (current) flush(current !== inHandReported);
      scheduled = true;
      setTimeout(pump, delayMs);
      return;
    }
    if (now() >= sliceEnd) break;
    // Reading ahead: on to the next file if its read is in (refilling the slots it frees), else
    // back to the event loop, where the completions are.
    if (current === null && readAhead!.isActive) {
      readAhead!.fill();
      if (!readAhead!.isReady(queue.shifted)) break;
    }
  }
  readAhead!.fill();
  const runnable = hasWork();
  // A job still in hand after a whole slice is named in a report, so a crash is attributed to it.
  flush(current !== null && current !== inHandReported);
  // Waiting for a read-ahead: its completion wakes the pump.
  if (runnable && !waiting) schedule();
  else if (!runnable && ending) {
    reportWorkerCpu(readAhead?.filesRead ?? 0);
    process.disconnect();
  }
}

/** Advances the work in hand by one step; settles it when it completes or fails. */
function step(h: InHand): void {
  const { work } = h;
  const { srcRoot, destRoot, runTag, policy } = settings();
  const job = work.job;
  const src = under(srcRoot, job.rel);
  const dest = under(destRoot, job.rel);
  const tmp = tempPathOf(dest, runTag, job.id, job.attempt);
  const part = work.t === 'part' ? work.part : undefined;
  try {
    let outcome: CopyOutcome | 'opened' | 'written' | undefined;
    let st: SourceStat | undefined;
    switch (work.t) {
      case 'open': {
        const opened = openSplit(src, dest, tmp, policy);
        // Nothing to copy (the scheduler counts its bytes then), or the parts can start.
        if (typeof opened === 'string') outcome = opened;
        else {
          [st, outcome] = [opened, 'opened'];
          openedTemps.add(tmp);
        }
        break;
      }
      case 'part':
        h.gen ??= copyPart(src, tmp, work.offset, work.length, ctx!);
        if (h.gen.next().done) outcome = 'written';
        break;
      case 'seal':
        sealSplit(src, dest, tmp, fromWireStat(work.st), policy);
        outcome = 'copied';
        break;
      default:
        h.st ??= sizing!.stat(job, src);
        if (job.kind === 'link' && !policy.dereference) outcome = copySymlink(src, dest, tmp, h.st, ctx!, job.fresh);
        else {
          h.startedMs ??= Date.now();
          h.gen ??= copyRegularFile(src, dest, tmp, h.st, ctx!, job.fresh, readAhead!.take(h.n));
          const r = h.gen.next();
          if (r.done) outcome = r.value as CopyOutcome;
        }
    }
    if (outcome === undefined) return;
    // `copied` has nothing more to say (no stat, no part): the bare id.
    report.results.push(outcome === 'copied' ? job.id : st ? { id: job.id, outcome, st: toWireStat(st) } : part === undefined ? { id: job.id, outcome } : { id: job.id, part, outcome });
  } catch (err) {
    if (work.t === 'queued' && !h.sizedAgain && err instanceof EntryFailure && err.error.code === 'CHANGED' && sizeAgain(h, src)) return;
    const error = sizing!.sourceError(err, job, src);
    report.results.push(part === undefined ? { id: job.id, error } : { id: job.id, part, error });
  }
  // A finished job accounts exactly its sized bytes.
  report.bytes += h.limit - h.reported;
  current = null;
}

/** How far behind the file times' clock may be (the kernel's coarse clock: one tick, 1-10 ms). */
const COARSE_CLOCK_MS = 20;

/**
 * A queued file is sized when its batch comes, maybe long before its copy begins, and its copy is
 * checked against that size and mtime. Found changed at the end, it may only have changed before the
 * copy began: then its status-change time (which no one can set back) is older than the copy's
 * start, and it is sized again and copied once more from the start (checked again at the end). A
 * file that changed during its copy fails as changed. Either answer is safe: a second copy is a
 * whole copy, checked like the first. The bar's total follows the new size (reported as a size
 * again), and the bytes counted for the first try are taken back. False: the job fails.
 */
function sizeAgain(h: InHand, src: string): boolean {
  let st: SourceStat;
  try {
    const latest = statSource(src, settings().policy.dereference);
    // File times come from the kernel's coarse clock (a few ms behind): a change in the copy's first
    // ms may look older than its start. Only one well before the start counts as before it.
    if (latest.ctimeNs >= BigInt(h.startedMs! - COARSE_CLOCK_MS) * 1_000_000n) return false;
    st = sizing!.checked(h.work.job, latest);
  } catch {
    return false;
  }
  h.sizedAgain = true;
  h.st = st;
  h.gen = undefined;
  report.sizes.push(h.work.job.id, st.size);
  report.bytes -= h.reported;
  h.reported = 0;
  h.limit = st.size;
  return true;
}

/** Work in hand, tasks or queued jobs. */
function hasWork(): boolean {
  return current !== null || tasks.length > 0 || queue.length > 0;
}

/** Sends what happened since the last report, if due (always when `force`, or when running dry). */
function flush(force: boolean): void {
  const idle = !hasWork();
  const inHand: WorkerReport['inHand'] = current ? [current.work.t === 'part' ? [current.work.job.id, current.work.part] : current.work.job.id] : [];
  const due = report.take(force, idle, inHand);
  if (!due) return;
  send(due);
  inHandReported = current;
}

function send(message: WorkerReport): void {
  if (!process.connected) return abortNow();
  process.send!(message);
}

/** Stop now: the copy generator's `finally` removes the temp file in hand; split temps opened here go too. */
function abortNow(): void {
  const inHand = current;
  current = null;
  try {
    inHand?.gen?.return(undefined as never);
  } catch {
    // Its clean-up failed before removing its temp (a close that reports a late write error).
    if (inHand && inHand.work.t !== 'part') removeQuietly(jobTempPath(settings().destRoot, settings().runTag, inHand.work.job));
  }
  // A split sealed since (by whichever worker wrote its last part) has no temp left: nothing to remove.
  for (const tmp of openedTemps) removeQuietly(tmp);
  leaveAfterLastReport();
}

/**
 * Exits once the parent has the files completed since the last report (up to 100 ms of copying,
 * thousands of small files): an interrupted run's summary counts every file it copied. At once when
 * the parent is gone; after a second at most if the report cannot be written.
 */
function leaveAfterLastReport(): void {
  const last = process.connected && !leaving ? report.take(true, true, []) : undefined;
  leaving = true;
  if (!last) return exitProcess(0);
  setTimeout(() => exitProcess(0), 1000).unref();
  process.send!(last, () => exitProcess(0));
}
