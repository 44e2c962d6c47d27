/**
 * A pool of forked workers fed from a job table. It takes care of:
 * - forking: for a tree all workers at once, in parallel with the scan (measured faster on every
 *   benchmark tree, and only ~10 ms slower on a 10-file tree); for one file a single worker;
 * - sending jobs in batches to the least-loaded worker, as soon as the scan finds them;
 * - the shared queue of big files, handed one at a time to whichever worker reports itself idle;
 * - reading the completion queue (the workers' IPC messages) and turning it into events;
 * - surviving its children: a worker that dies mid-job gets its temp file removed and its job
 *   retried once on a new worker (a second death fails only that job); its queued jobs are re-sent;
 * - ending: `end` once every job has completed, `abort` to stop at once; resolves only when every
 *   child has exited, so the parent never leaves a worker behind.
 */
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { EntryFailure, type CopyOutcome } from './copy-file.js';
import { entryError, serializeError, type SerializedError } from './errors.js';
import { JobTable } from './job-table.js';
import { finishSplit, startSplit, type SplitFile } from './split-file.js';
import { tempName, type CopyJob, type JobKind, type ParentMessage, type RangeJob, type WorkerInit, type WorkerMessage } from './protocol.js';

const WORKER_FILE = new URL('./worker.js', import.meta.url);
/** Largest batch of jobs in one message; early batches are smaller so workers start at once. */
const MAX_BATCH = 512;
/**
 * Jobs sent to one worker and not yet completed, at most. Up to this, a worker sizes what it gets at
 * once, so the bar's totals are known early for trees of up to ~65,000 files on 2 workers; beyond it,
 * the rest waits in the parent as ids, which keeps memory (and the IPC buffers) bounded on huge trees.
 */
const MAX_OUTSTANDING = 32_768;
/** Queued jobs per extra worker before it is worth forking (a fork costs ~25 ms of a core). */
const JOBS_PER_EXTRA_WORKER = 64;
/**
 * A small young generation: a worker's garbage is short-lived (stats, messages), and the default 16 MiB
 * semi-spaces only let RSS grow (measured on 200,000 files: 109 → 88 MiB per worker, no slower).
 * Nothing of the parent's own flags is passed on.
 */
const WORKER_EXEC_ARGV = ['--max-semi-space-size=2'];
/** How long an aborted worker gets to clean up before it is killed. */
const ABORT_GRACE_MS = 3000;

export interface PoolEvents {
  /** Bytes of newly sized jobs (a job re-sized after a crash counts only its difference). */
  sized(bytes: number, files: number): void;
  bytes(n: number): void;
  /** -H: a sized file with several links, handed back; the listener calls `copyAsLeader` or `settle`. */
  hardLinked(id: number, key: string): void;
  done(id: number, outcome: CopyOutcome): void;
  failed(id: number, error: SerializedError): void;
  warn(message: string): void;
}

interface Slot {
  index: number;
  child: ChildProcess;
  /** Jobs sent to this worker's own queue and not yet completed, in the order it works on them. */
  local: Set<number>;
  /** The big file it works on, if any (only given when idle, so it is the job in hand). */
  shared: number | null;
  /** The part of a huge file it works on, if any (also only given when idle). */
  range: RangeJob | null;
  idle: boolean;
  /** The big file it reported in hand, -1 if none: the bar names it. */
  current: number;
  exited: Promise<void>;
}

export type PoolSettings = Omit<WorkerInit, 'type'> & {
  workers: number;
  /** Files at least this big are split into parts of `rangeBytes` copied by several workers. */
  splitFileBytes: number;
  rangeBytes: number;
  /** Forked at once; more follow only as the work needs them (a fork costs ~25 ms of a core). */
  initialWorkers: number;
};

export class WorkerPool {
  private readonly jobs = new JobTable();
  /** Jobs not yet sent to a worker: `unassigned[unassignedHead…]`. */
  private unassigned: number[] = [];
  private unassignedHead = 0;
  /** Every worker has MAX_OUTSTANDING jobs: dispatching waits for completions. */
  private full = false;
  private readonly bigQueue: number[] = [];
  /** Parts of huge files waiting for an idle worker; the files in progress by job id. */
  private readonly rangeQueue: RangeJob[] = [];
  private readonly splits = new Map<number, SplitFile>();
  private readonly slots = new Set<Slot>();
  private completed = 0;
  private inputDone = false;
  private stopping = false;
  private dispatchScheduled = false;
  private batchSize = 16;
  private nextIndex = 0;
  private deaths = 0;
  private finish!: () => void;
  /** Resolves once every job has completed (or the pool was aborted) and every worker has exited. */
  readonly finished: Promise<void>;

  constructor(
    private readonly settings: PoolSettings,
    private readonly events: PoolEvents,
  ) {
    this.finished = new Promise((resolve) => (this.finish = resolve));
    while (this.slots.size < Math.max(1, Math.min(settings.initialWorkers, settings.workers))) this.spawn();
  }

  /** Adds a job; it is sent out in the next batch. */
  add(kind: JobKind, rel: string, fresh: boolean): number {
    const id = this.jobs.add(kind, rel, fresh);
    this.unassigned.push(id);
    if (!this.full && this.waiting() >= this.batchSize) this.dispatch();
    else this.scheduleDispatch();
    return id;
  }

  /** Path of a job relative to the roots, for messages. */
  rel(id: number): string {
    return this.jobs.rel(id);
  }

  kind(id: number): JobKind {
    return this.jobs.kind(id);
  }

  /** -H: copy this handed-back file after all, as the first of its link group (through the shared queue). */
  copyAsLeader(id: number): void {
    this.jobs.setLeader(id);
    this.bigQueue.push(id);
    this.giveShared();
  }

  /** Completes a job the parent handled itself (-H: a further link of a group). */
  settle(id: number, outcome: CopyOutcome | SerializedError): void {
    // No worker streamed its bytes: they count as done now, so the bar still ends at its total.
    if (!this.jobs.isDone(id)) this.events.bytes(Math.max(this.jobs.size(id), 0));
    this.finishJob(id, outcome);
    this.checkFinished();
  }

  /** A big file some worker is copying right now, for the bar. */
  currentBigFile(): string | undefined {
    for (const slot of this.slots) if (slot.current >= 0 && !this.jobs.isDone(slot.current)) return this.jobs.rel(slot.current);
    return undefined;
  }

  /** Bytes of a job as its worker sized it (0 if it failed before being sized). */
  size(id: number): number {
    return Math.max(this.jobs.size(id), 0);
  }

  /** No more jobs will be added. */
  finishInput(): void {
    this.inputDone = true;
    this.dispatch();
    this.checkFinished();
  }

  /** Stops at once: every worker removes its temp file and exits. Resolves when all have. */
  async abort(): Promise<void> {
    if (!this.stopping) {
      this.stopping = true;
      for (const split of this.splits.values()) removeTemp(split.tmp);
      for (const slot of this.slots) {
        this.post(slot, { type: 'abort' });
        const timer = setTimeout(() => slot.child.kill('SIGKILL'), ABORT_GRACE_MS);
        void slot.exited.then(() => clearTimeout(timer));
      }
      void Promise.all([...this.slots].map((s) => s.exited)).then(() => this.finish());
    }
    return this.finished;
  }

  /** Second interrupt: no grace period. Workers still remove their temp file on SIGTERM. */
  kill(): void {
    this.stopping = true;
    for (const slot of this.slots) slot.child.kill('SIGTERM');
  }

  private spawn(): void {
    const child = fork(WORKER_FILE, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: WORKER_EXEC_ARGV });
    let exited!: () => void;
    const slot: Slot = {
      index: this.nextIndex++,
      child,
      local: new Set(),
      shared: null,
      range: null,
      // A new worker has nothing to do: it can take a big file at once (it reports idle only after work).
      idle: true,
      current: -1,
      exited: new Promise((resolve) => (exited = resolve)),
    };
    this.slots.add(slot);
    child.on('message', (m: WorkerMessage) => this.onMessage(slot, m));
    child.on('error', () => {}); // a failed send shows up as 'exit' too
    child.on('exit', (code, signal) => {
      this.slots.delete(slot);
      this.onExit(slot, code, signal);
      exited();
    });
    const { workers: _workers, initialWorkers: _initial, splitFileBytes: _split, rangeBytes: _range, ...init } = this.settings;
    this.post(slot, { type: 'init', ...init });
    this.giveShared();
  }

  private post(slot: Slot, message: ParentMessage): void {
    if (slot.child.connected) slot.child.send(message);
  }

  private scheduleDispatch(): void {
    if (this.dispatchScheduled) return;
    this.dispatchScheduled = true;
    setImmediate(() => {
      this.dispatchScheduled = false;
      this.dispatch();
    });
  }

  /** Sends unassigned jobs out in batches, each to the worker with the fewest jobs outstanding. */
  private dispatch(): void {
    if (this.stopping) return;
    this.growPool();
    while (this.waiting() > 0 && this.slots.size > 0) {
      const slots = [...this.slots];
      const perWorker = this.inputDone ? Math.ceil(this.waiting() / slots.length) : this.batchSize;
      const slot = slots.reduce((a, b) => (b.local.size < a.local.size ? b : a));
      const room = MAX_OUTSTANDING - slot.local.size;
      this.full = room <= 0;
      if (this.full) return; // every worker has enough; completions will call us again
      const ids = this.takeUnassigned(Math.min(perWorker, MAX_BATCH, room));
      const jobs: CopyJob[] = ids.map((id) => {
        slot.local.add(id);
        return this.jobs.toJob(id);
      });
      slot.idle = false;
      this.post(slot, { type: 'jobs', jobs });
      this.batchSize = Math.min(this.batchSize * 2, MAX_BATCH);
    }
  }

  private waiting(): number {
    return this.unassigned.length - this.unassignedHead;
  }

  private takeUnassigned(n: number): number[] {
    const ids = this.unassigned.slice(this.unassignedHead, this.unassignedHead + n);
    this.unassignedHead += ids.length;
    if (this.unassignedHead > 4096 && this.unassignedHead * 2 > this.unassigned.length) {
      this.unassigned = this.unassigned.slice(this.unassignedHead);
      this.unassignedHead = 0;
    }
    return ids;
  }

  /** Forks more workers only when the outstanding work is big enough to keep them busy. */
  private growPool(): void {
    let outstanding = this.waiting() + (this.bigQueue.length + this.rangeQueue.length) * JOBS_PER_EXTRA_WORKER;
    for (const s of this.slots) outstanding += s.local.size;
    const wanted = Math.min(this.settings.workers, 1 + Math.floor(outstanding / JOBS_PER_EXTRA_WORKER));
    while (this.slots.size < wanted) this.spawn();
  }

  private onMessage(slot: Slot, m: WorkerMessage): void {
    if (m.type === 'sized') {
      let bytes = 0;
      for (let i = 0; i < m.sizes.length; i += 2) {
        const id = m.sizes[i]!;
        const size = m.sizes[i + 1]!;
        bytes += size - Math.max(this.jobs.size(id), 0);
        this.jobs.setSize(id, size);
      }
      this.events.sized(bytes, m.sizes.length / 2);
      for (const id of m.big) {
        slot.local.delete(id);
        if (this.jobs.size(id) >= this.settings.splitFileBytes && this.isLastBigWork(m.big.length)) this.split(id);
        else this.bigQueue.push(id);
      }
      for (const [id, key] of m.links) {
        slot.local.delete(id);
        this.events.hardLinked(id, key);
      }
      if (m.big.length > 0) this.growPool();
    } else {
      if (m.bytes) this.events.bytes(m.bytes);
      for (const id of m.copied) this.complete(slot, id) && this.events.done(id, 'copied');
      for (const id of m.same) this.complete(slot, id) && this.events.done(id, 'same');
      for (const id of m.kept) this.complete(slot, id) && this.events.done(id, 'kept');
      for (const f of m.failed) this.complete(slot, f.id) && this.events.failed(f.id, f.error);
      for (const [id] of m.ranges) {
        slot.range = null;
        this.rangeDone(id);
      }
      for (const f of m.rangesFailed) {
        slot.range = null;
        this.rangeFailed(f.id, f.error);
      }
      slot.idle = m.idle;
      slot.current = m.current;
    }
    this.giveShared();
    if (this.waiting() > 0 && (slot.idle || m.type === 'progress')) {
      this.full = false;
      this.dispatch();
    }
    this.checkFinished();
  }

  /** Takes a completed job off the worker's books and counts it (see markDone). */
  private complete(slot: Slot, id: number): boolean {
    if (slot.shared === id) slot.shared = null;
    slot.local.delete(id);
    return this.markDone(id);
  }

  /** Counts a job as completed, once: false if it already was (a late message after a crash re-queue). */
  private markDone(id: number): boolean {
    if (this.jobs.isDone(id)) return false;
    this.jobs.markDone(id);
    this.completed++;
    return true;
  }

  private giveShared(): void {
    if (this.stopping) return;
    for (const slot of this.slots) {
      if (!slot.idle || slot.shared !== null || slot.range !== null) continue;
      // Parts of files already started go first: each finished file frees its temp file sooner.
      const range = this.rangeQueue.shift();
      if (range) {
        slot.range = range;
        slot.idle = false;
        this.post(slot, { type: 'range', range });
        continue;
      }
      if (this.bigQueue.length === 0) return;
      const id = this.bigQueue.shift()!;
      slot.shared = id;
      slot.idle = false;
      this.post(slot, { type: 'shared', job: this.jobs.toJob(id), size: this.jobs.size(id) });
    }
  }

  /**
   * Parts pay only when nothing else can keep the workers busy: two workers writing one file contend
   * for it (measured on 4 × 512 MiB: 0.88 s split, 0.77 s as whole files on 2 workers). So a huge file
   * is split only when it is the one big file left and no other jobs are waiting.
   */
  private isLastBigWork(bigInMessage: number): boolean {
    return bigInMessage === 1 && this.inputDone && this.waiting() === 0 && this.bigQueue.length === 0 && this.splits.size === 0;
  }

  /** Splits a huge file into parts for several workers (see split-file.ts). */
  private split(id: number): void {
    const size = this.jobs.size(id);
    const rel = this.jobs.rel(id);
    const { srcRoot, destRoot, runTag, policy, rangeBytes } = this.settings;
    const dest = path.join(destRoot, rel);
    const tmpName = tempName(runTag, id, this.jobs.attempt(id));
    const parts = Math.ceil(size / rangeBytes);
    try {
      const started = startSplit(path.join(srcRoot, rel), dest, path.join(path.dirname(dest), tmpName), size, parts, policy);
      if (typeof started === 'string') {
        this.finishJob(id, started);
        return;
      }
      this.splits.set(id, started);
      for (let part = 0; part < parts; part++) {
        const offset = part * rangeBytes;
        this.rangeQueue.push({ id, part, rel, tmp: tmpName, offset, length: Math.min(rangeBytes, size - offset) });
      }
    } catch (err) {
      this.finishJob(id, errorOf(err));
    }
    this.growPool();
  }

  private rangeDone(id: number): void {
    const split = this.splits.get(id);
    if (!split || split.failed || --split.remaining > 0) return;
    this.splits.delete(id);
    try {
      finishSplit(split, this.settings.policy);
      this.finishJob(id, 'copied');
    } catch (err) {
      this.finishJob(id, errorOf(err));
    }
  }

  /** A part failed: the file fails, its temp goes, its parts not yet started are dropped (as done bytes). */
  private rangeFailed(id: number, error: SerializedError): void {
    const split = this.splits.get(id);
    if (!split || split.failed) return;
    split.failed = true;
    removeTemp(split.tmp);
    for (let i = this.rangeQueue.length - 1; i >= 0; i--) {
      const range = this.rangeQueue[i]!;
      if (range.id !== id) continue;
      this.rangeQueue.splice(i, 1);
      this.events.bytes(range.length);
    }
    this.finishJob(id, error);
  }

  /** Completes a job the parent finished itself (a split file: its bytes were counted by its parts). */
  private finishJob(id: number, outcome: CopyOutcome | SerializedError): void {
    if (!this.markDone(id)) return;
    if (typeof outcome === 'string') this.events.done(id, outcome);
    else this.events.failed(id, outcome);
  }

  private checkFinished(): void {
    if (this.stopping || !this.inputDone || this.completed < this.jobs.length) return;
    this.stopping = true;
    for (const slot of this.slots) this.post(slot, { type: 'end' });
    void Promise.all([...this.slots].map((s) => s.exited)).then(() => this.finish());
  }

  /** A worker that exits before `end` or `abort` crashed: clean up and re-queue its jobs. */
  private onExit(slot: Slot, code: number | null, signal: NodeJS.Signals | null): void {
    // Completions are reported in batches, so the job in hand is not simply the first unreported one:
    // it is the one whose temp file exists. Removing every unfinished job's temp finds it and cleans up.
    const unfinished = slot.shared === null ? [...slot.local] : [slot.shared, ...slot.local];
    const inHand = unfinished.find((id) => removeTemp(this.tempPath(id)));
    if (this.stopping) return;
    const how = signal ? `killed by ${signal}` : `exit code ${code}`;
    // A part of a huge file is simply written again by another worker: positional writes are idempotent.
    if (slot.range) {
      this.events.warn(`worker ${slot.index} died (${how}) while copying part ${slot.range.part + 1} of \`${slot.range.rel}\`: writing that part again`);
      this.rangeQueue.unshift(slot.range);
    }
    this.deaths++;
    const requeue = unfinished.filter((id) => id !== inHand);
    if (inHand !== undefined) {
      if (this.jobs.attempt(inHand) >= 1) {
        this.complete(slot, inHand);
        this.events.failed(inHand, entryError.crashed(how));
      } else {
        this.jobs.bumpAttempt(inHand);
        this.events.warn(`worker ${slot.index} died (${how}) while copying \`${this.jobs.rel(inHand)}\`: trying it once more`);
        requeue.unshift(inHand);
      }
    }
    for (const id of requeue) {
      if (this.jobs.size(id) >= this.settings.bigFileBytes) this.bigQueue.push(id);
      else this.unassigned.push(id);
    }
    if (this.deaths > 2 * this.settings.workers + 2) {
      // Something kills every worker: fail what is left rather than fork forever.
      for (const id of [...this.unassigned.slice(this.unassignedHead), ...this.bigQueue]) {
        this.complete(slot, id);
        this.events.failed(id, entryError.crashed(how));
      }
      this.unassigned = [];
      this.unassignedHead = 0;
      this.bigQueue.length = 0;
    } else if (this.slots.size < this.settings.workers && this.completed < this.jobs.length) {
      this.spawn();
    }
    this.dispatch();
    this.giveShared();
    this.checkFinished();
  }

  private tempPath(id: number): string {
    const rel = this.jobs.rel(id);
    const attempt = this.jobs.attempt(id);
    const dest = path.join(this.settings.destRoot, rel);
    return path.join(path.dirname(dest), tempName(this.settings.runTag, id, attempt));
  }
}

function errorOf(err: unknown): SerializedError {
  return err instanceof EntryFailure ? err.error : serializeError(err);
}

/** Removes a temp file; true if there was one. */
function removeTemp(path: string): boolean {
  try {
    fs.unlinkSync(path);
    return true;
  } catch {
    return false;
  }
}
