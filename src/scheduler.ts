/**
 * The scheduler: the one place that knows what state every job of a run is in, and decides where it
 * goes. Pure: no processes, no file system. It is driven by the pool (jobs added, worker reports,
 * exits) and answers through a `SchedulerHost` (fork, send, remove temps, and the run's events),
 * so it can be tested with fake workers.
 *
 * A job's life (`move` is the only place a job's state changes):
 *
 *   queued ─size→ sizing@w ─report→ at@w (copied by the worker that sized it) ─result→ done | failed
 *                           ├──────→ big (a file of bigFileBytes or more, or a -H leader: for the next
 *                           │         idle worker) ─→ at@w' | opening@w' (a huge file, split)
 *                           └──────→ held (-H: waits for its link group; the caller settles it)
 *   opening@w ─opened→ parts (n parts, each queued → at a worker → written) ─last part→ sealing@w → done
 *
 * Workers take jobs in batches (pushed while they have room) and big work one piece at a time (only
 * when idle), so big files spread over the pool. A worker says which jobs it has in hand; when it
 * dies, those are retried once (a second death fails them) and its other jobs are simply queued again.
 * After more deaths in a row than the pool has workers, with no job completed in between, the pool
 * gives up: the remaining jobs fail with one clear error instead of forking forever.
 */
import { entryError, type SerializedError } from './errors.js';
import type { CopyOutcome, JobKind, JobRef, ParentMessage, Task, TaskResult, WorkerReport, WireStat } from './protocol.js';

export type { CopyOutcome } from './protocol.js';

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
  /** Remove these jobs' temp files, if they exist (after a crash, or a failed split). */
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
 * Jobs at one worker and not yet completed, at most. Up to this, workers size what they get at once
 * (the bar's totals are known early); beyond it, jobs wait here as ids, which bounds memory.
 */
export const MAX_OUTSTANDING = 32_768;
/** Outstanding jobs per extra worker before it is worth forking one (a fork costs ~25 ms of a core). */
export const JOBS_PER_EXTRA_WORKER = 64;

const State = {
  queued: 0,
  sizing: 1,
  at: 2,
  held: 3,
  big: 4,
  opening: 5,
  parts: 6,
  sealing: 7,
  done: 8,
  failed: 9,
} as const;
export type JobState = keyof typeof State;
const STATE_NAMES = Object.keys(State) as JobState[];

/** States in which a job is at one worker (counted in its load, interrupted by its death). */
const AT_WORKER: ReadonlySet<number> = new Set([State.sizing, State.at, State.opening, State.sealing]);

interface WorkerBook {
  /** Jobs (and parts) at this worker, not yet completed. */
  load: number;
  /** What its last report said it had in hand. */
  inHand: WorkerReport['inHand'];
}

/** A huge file in parts. */
interface Split {
  st: WireStat;
  parts: number;
  /** Per part: -2 waiting, -1 written, else the worker it is at. */
  where: number[];
  attempts: number[];
  written: number;
}

const WAITING = -2;
const WRITTEN = -1;

export class Scheduler {
  // Jobs as columns indexed by id (dense, from 0): an object per job would be most of the parent's
  // memory on a 200,000-file tree.
  private readonly rels: string[] = [];
  private readonly kinds: JobKind[] = [];
  private readonly fresh: boolean[] = [];
  private readonly states: number[] = [];
  private readonly workerOf: number[] = [];
  private readonly attempts: number[] = [];
  /** Bytes as sized; -1 until then. */
  private readonly sizes: number[] = [];

  private readonly workers = new Map<number, WorkerBook>();
  private nextWorker = 0;
  private queue: number[] = [];
  private queueHead = 0;
  private readonly bigQueue: number[] = [];
  /** Parts waiting for an idle worker, as [id, part]. */
  private readonly partQueue: Array<[number, number]> = [];
  private readonly splits = new Map<number, Split>();
  private batchSize = 16;
  private completed = 0;
  private inputDone = false;
  private ending = false;
  private stopped = false;
  private deathsInARow = 0;
  private gaveUp: SerializedError | undefined;

  constructor(
    private readonly settings: SchedulerSettings,
    private readonly host: SchedulerHost,
  ) {
    const initial = Math.max(1, Math.min(settings.initialWorkers, settings.workers));
    while (this.workers.size < initial) this.fork();
  }

  /** Adds a job. True when jobs wait for a batch: the pool should `flush` soon (or now). */
  add(kind: JobKind, rel: string, fresh: boolean): number {
    const id = this.rels.length;
    this.rels.push(rel);
    this.kinds.push(kind);
    this.fresh.push(fresh);
    this.states.push(State.queued);
    this.workerOf.push(-1);
    this.attempts.push(0);
    this.sizes.push(-1);
    if (this.gaveUp) this.move(id, State.failed, -1, this.gaveUp);
    else {
      this.queue.push(id);
      if (this.waiting() >= this.batchSize) this.dispatch();
    }
    return id;
  }

  /** Sends out jobs waiting for a batch. */
  flush(): void {
    this.dispatch();
  }

  /** No more jobs will be added. */
  finishInput(): void {
    this.inputDone = true;
    this.dispatch();
    this.checkFinished();
  }

  rel(id: number): string {
    return this.rels[id]!;
  }

  kind(id: number): JobKind {
    return this.kinds[id]!;
  }

  /** Bytes of a job as sized (0 if it failed before). */
  size(id: number): number {
    return Math.max(this.sizes[id]!, 0);
  }

  state(id: number): JobState {
    return STATE_NAMES[this.states[id]!]!;
  }

  /** The worker a job is at, or -1. */
  worker(id: number): number {
    return AT_WORKER.has(this.states[id]!) ? this.workerOf[id]! : -1;
  }

  attempt(id: number): number {
    return this.attempts[id]!;
  }

  /** Live workers' indices. */
  liveWorkers(): number[] {
    return [...this.workers.keys()];
  }

  /** Every job has completed (or the run was stopped): workers are told to end. */
  get complete(): boolean {
    return this.stopped || (this.inputDone && this.completed === this.rels.length);
  }

  /** A big file some worker has in hand, for the bar. */
  currentBigFile(): string | undefined {
    for (const book of this.workers.values()) {
      for (const h of book.inHand) {
        const id = typeof h === 'number' ? h : h[0];
        if (this.sizes[id]! >= this.settings.bigFileBytes && this.states[id]! < State.done) return this.rels[id];
      }
    }
    return undefined;
  }

  /** -H: copy this held file after all, as the first of its link group. */
  copyAsLeader(id: number): void {
    this.move(id, State.big, -1);
    this.bigQueue.push(id);
    this.giveBigWork();
  }

  /** Completes a held job the caller handled itself (-H: a further link of a group). */
  settle(id: number, outcome: CopyOutcome | SerializedError): void {
    if (this.states[id]! >= State.done) return;
    // No worker streamed its bytes: they count as done now, so the bar still ends at its total.
    this.host.bytes(this.size(id));
    if (typeof outcome === 'string') this.move(id, State.done, -1, outcome);
    else this.move(id, State.failed, -1, outcome);
    this.checkFinished();
  }

  /** Stops at once: every worker is told to abort; split files' temps go. */
  abort(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.host.removeTemps([...this.splits.keys()].map((id) => this.jobRef(id)));
    for (const w of this.workers.keys()) this.host.send(w, { type: 'abort' });
  }

  /** A worker's report: sizes to route, results, what it has in hand. */
  onReport(w: number, report: WorkerReport): void {
    const book = this.workers.get(w);
    if (!book) return;
    book.inHand = report.inHand;
    if (report.sizes.length > 0) this.routeSized(w, report);
    if (report.bytes) this.host.bytes(report.bytes);
    for (const r of report.results) this.onResult(w, r);
    for (const [id, key] of report.links) this.host.hardLinked(id, key);
    this.dispatch();
    this.checkFinished();
  }

  /**
   * A worker exited. `how` says how it died (e.g. `killed by SIGKILL`), or is undefined when it exited
   * because it was told to (`end`, `abort`).
   */
  onExit(w: number, how: string | undefined): void {
    const book = this.workers.get(w);
    if (!book) return;
    this.workers.delete(w);
    if (how === undefined || this.stopped) return;
    this.deathsInARow++;
    const inHand = new Set(book.inHand.map((h) => (typeof h === 'number' ? h : `${h[0]}:${h[1]}`)));
    const interrupted: number[] = [];
    for (let id = 0; id < this.states.length; id++) {
      if (this.workerOf[id] === w && AT_WORKER.has(this.states[id]!)) interrupted.push(id);
    }
    // Its temp files may exist, complete or not: none may stay behind, and a retry makes a new one.
    this.host.removeTemps(interrupted.filter((id) => this.states[id] !== State.sizing).map((id) => this.jobRef(id)));
    for (const id of interrupted) {
      // A split interrupted while opening or sealing starts again as a whole big file.
      this.splits.delete(id);
      if (inHand.has(id)) this.retryOrFail(id, w, how);
      else this.requeue(id);
    }
    for (const [id, split] of this.splits) {
      for (let part = 0; part < split.parts && this.splits.has(id); part++) {
        if (split.where[part] !== w) continue;
        if (!inHand.has(`${id}:${part}`)) {
          split.where[part] = WAITING;
          this.partQueue.unshift([id, part]);
        } else if (split.attempts[part]! >= 1) {
          this.failSplit(id, entryError.crashed(how));
        } else {
          split.attempts[part]!++;
          split.where[part] = WAITING;
          this.partQueue.unshift([id, part]);
          this.host.warn(`worker ${w} died (${how}) while copying part ${part + 1} of \`${this.rels[id]}\`: writing that part again`);
        }
      }
    }
    if (this.gaveUp || this.deathsInARow > this.settings.workers) this.giveUp(how);
    this.dispatch();
    this.checkFinished();
  }

  // ── transitions ─────────────────────────────────────────────────────────────────────────────────

  /**
   * The one place a job's state changes: it keeps the workers' loads and the completed count, and
   * reports completions. `outcome` goes with `done`, `error` with `failed`.
   */
  private move(id: number, to: number, w: number, result?: CopyOutcome | SerializedError): void {
    const from = this.states[id]!;
    if (from >= State.done) return; // completed once: a late or duplicate result changes nothing
    if (AT_WORKER.has(from)) this.loadOf(this.workerOf[id]!, -1);
    this.states[id] = to;
    this.workerOf[id] = AT_WORKER.has(to) ? w : -1;
    if (AT_WORKER.has(to)) this.loadOf(w, +1);
    if (to < State.done) return;
    this.completed++;
    this.deathsInARow = 0;
    if (to === State.done) this.host.done(id, result as CopyOutcome);
    else this.host.failed(id, result as SerializedError);
  }

  private loadOf(w: number, delta: number): void {
    const book = this.workers.get(w);
    if (book) book.load += delta;
  }

  private routeSized(w: number, report: WorkerReport): void {
    const linked = new Set(report.links.map(([id]) => id));
    const away: number[] = [];
    let bytes = 0;
    let files = 0;
    for (const batch of report.sizes) {
      for (let i = 0; i < batch.length; i += 2) {
        const id = batch[i]!;
        const size = batch[i + 1]!;
        bytes += size - Math.max(this.sizes[id]!, 0);
        this.sizes[id] = size;
        files++;
        if (linked.has(id)) {
          away.push(id);
          this.move(id, State.held, -1);
        } else if (size >= this.settings.bigFileBytes) {
          away.push(id);
          this.move(id, State.big, -1);
          this.bigQueue.push(id);
        } else {
          this.move(id, State.at, w);
        }
      }
    }
    this.host.sized(bytes, files);
    this.host.send(w, { type: 'route', batches: report.sizes.length, away });
  }

  private onResult(w: number, r: TaskResult): void {
    const { id } = r;
    if (r.part !== undefined) return this.onPartResult(w, id, r.part, r.error);
    // An opening that ends the job (nothing to copy, or failed) accounts its bytes here: no part will.
    if (this.states[id] === State.opening && r.outcome !== 'opened') this.host.bytes(this.size(id));
    if (r.error) {
      if (this.splits.has(id)) return this.failSplit(id, r.error);
      return this.move(id, State.failed, -1, r.error);
    }
    if (r.outcome === 'opened') return this.startParts(id, r.st!);
    if (this.states[id] === State.sealing) this.splits.delete(id);
    this.move(id, State.done, -1, r.outcome as CopyOutcome);
  }

  private startParts(id: number, st: WireStat): void {
    const parts = Math.max(1, Math.ceil(st.size / this.settings.partBytes));
    this.splits.set(id, { st, parts, where: new Array<number>(parts).fill(WAITING), attempts: new Array<number>(parts).fill(0), written: 0 });
    this.move(id, State.parts, -1);
    for (let part = 0; part < parts; part++) this.partQueue.push([id, part]);
    this.grow();
  }

  private onPartResult(w: number, id: number, part: number, error: SerializedError | undefined): void {
    const split = this.splits.get(id);
    if (!split || split.where[part] !== w) return;
    this.loadOf(w, -1);
    split.where[part] = WRITTEN;
    if (error) return this.failSplit(id, error);
    if (++split.written < split.parts) return;
    // Every part is in: the worker that wrote the last one checks the source and renames the temp.
    this.move(id, State.sealing, w);
    this.host.send(w, { type: 'tasks', tasks: [{ t: 'seal', job: this.jobRef(id), st: split.st }] });
  }

  /** A split file fails: its temp goes, its parts not yet written count as done bytes for the bar. */
  private failSplit(id: number, error: SerializedError): void {
    const split = this.splits.get(id);
    if (!split) return;
    this.splits.delete(id);
    for (let i = this.partQueue.length - 1; i >= 0; i--) if (this.partQueue[i]![0] === id) this.partQueue.splice(i, 1);
    let unwritten = 0;
    for (let part = 0; part < split.parts; part++) {
      if (split.where[part]! >= 0) this.loadOf(split.where[part]!, -1);
      if (split.where[part] !== WRITTEN) unwritten += Math.min(this.settings.partBytes, split.st.size - part * this.settings.partBytes);
    }
    if (unwritten > 0) this.host.bytes(unwritten);
    this.host.removeTemps([this.jobRef(id)]);
    this.move(id, State.failed, -1, error);
  }

  /** The job a dead worker had in hand: once more on another worker, or failed the second time. */
  private retryOrFail(id: number, w: number, how: string): void {
    if (this.attempts[id]! >= 1) return this.move(id, State.failed, -1, entryError.crashed(how));
    this.attempts[id]!++;
    this.host.warn(`worker ${w} died (${how}) while copying \`${this.rels[id]}\`: trying it once more`);
    this.requeue(id);
  }

  /** Back to where a job waits for a worker: big work for an idle one, the rest to be sized again. */
  private requeue(id: number): void {
    if (this.sizes[id]! >= this.settings.bigFileBytes) {
      this.move(id, State.big, -1);
      this.bigQueue.unshift(id);
    } else {
      this.move(id, State.queued, -1);
      this.queue.push(id);
    }
  }

  /**
   * Workers keep dying: fail everything not at a live worker, now and after each later death (held
   * links wait for their leaders). Nothing is forked any more.
   */
  private giveUp(how: string): void {
    if (!this.gaveUp) {
      this.gaveUp = entryError.poolDying(this.deathsInARow, how);
      this.host.warn(`workers keep dying (${this.deathsInARow} in a row, last ${how}): the entries not copied yet fail`);
    }
    for (const id of this.splits.keys()) this.failSplit(id, this.gaveUp);
    for (let id = 0; id < this.states.length; id++) {
      const s = this.states[id]!;
      if (s === State.queued || s === State.big || (AT_WORKER.has(s) && !this.workers.has(this.workerOf[id]!))) this.move(id, State.failed, -1, this.gaveUp);
    }
    this.queue = [];
    this.queueHead = 0;
    this.bigQueue.length = 0;
  }

  // ── dispatch ────────────────────────────────────────────────────────────────────────────────────

  private waiting(): number {
    return this.queue.length - this.queueHead;
  }

  /** Sends waiting jobs in batches, each to the live worker with the least load, then big work. */
  private dispatch(): void {
    if (this.stopped || this.ending) return;
    this.grow();
    while (this.waiting() > 0 && this.workers.size > 0) {
      let w = -1;
      let least = Infinity;
      for (const [index, book] of this.workers) if (book.load < least) [w, least] = [index, book.load];
      const room = MAX_OUTSTANDING - least;
      if (room <= 0) break; // every worker has enough; its reports will call us again
      const perWorker = this.inputDone ? Math.ceil(this.waiting() / this.workers.size) : this.batchSize;
      const jobs = this.takeQueued(Math.min(perWorker, MAX_BATCH, room)).map((id) => {
        this.move(id, State.sizing, w);
        return this.jobRef(id);
      });
      this.host.send(w, { type: 'size', jobs });
      this.batchSize = Math.min(this.batchSize * 2, MAX_BATCH);
    }
    this.giveBigWork();
  }

  private takeQueued(n: number): number[] {
    const ids = this.queue.slice(this.queueHead, this.queueHead + n);
    this.queueHead += ids.length;
    if (this.queueHead > 4096 && this.queueHead * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.queueHead);
      this.queueHead = 0;
    }
    return ids;
  }

  /** Each idle worker gets one piece of big work: a part of a split file first (it holds a temp file), else a big file. */
  private giveBigWork(): void {
    if (this.stopped || this.ending) return;
    for (const [w, book] of this.workers) {
      if (book.load > 0) continue;
      const next = this.partQueue.shift();
      if (next) {
        const [id, part] = next;
        const { partBytes } = this.settings;
        const split = this.splits.get(id)!;
        split.where[part] = w;
        book.load++;
        const task: Task = { t: 'part', job: this.jobRef(id), part, offset: part * partBytes, length: Math.min(partBytes, split.st.size - part * partBytes) };
        this.host.send(w, { type: 'tasks', tasks: [task] });
        continue;
      }
      const id = this.bigQueue.shift();
      if (id === undefined) return;
      if (this.isLastBigWork(id)) {
        this.move(id, State.opening, w);
        this.host.send(w, { type: 'tasks', tasks: [{ t: 'open', job: this.jobRef(id) }] });
      } else {
        this.move(id, State.at, w);
        this.host.send(w, { type: 'tasks', tasks: [{ t: 'copy', job: this.jobRef(id), size: this.sizes[id]! }] });
      }
    }
  }

  /**
   * Parts pay only when nothing else can keep the workers busy: two workers writing one file contend
   * for it (measured on 4 × 512 MiB: 0.88 s split, 0.77 s as whole files on 2 workers). So a huge file
   * is split only when it is the one big file left, no other jobs wait, and the pool has room for two.
   */
  private isLastBigWork(id: number): boolean {
    return (
      this.sizes[id]! >= this.settings.splitFileBytes &&
      this.settings.workers > 1 &&
      this.attempts[id] === 0 &&
      this.inputDone &&
      this.waiting() === 0 &&
      this.bigQueue.length === 0 &&
      this.splits.size === 0
    );
  }

  /** Forks more workers only when the outstanding work is big enough to keep them busy. */
  private grow(): void {
    if (this.gaveUp || this.stopped || this.ending) return;
    let outstanding = this.waiting() + (this.bigQueue.length + this.partQueue.length) * JOBS_PER_EXTRA_WORKER;
    for (const book of this.workers.values()) outstanding += book.load;
    const wanted = Math.min(this.settings.workers, 1 + Math.floor(outstanding / JOBS_PER_EXTRA_WORKER));
    while (this.workers.size < wanted) this.fork();
  }

  private fork(): void {
    const w = this.nextWorker++;
    this.workers.set(w, { load: 0, inHand: [] });
    this.host.fork(w);
  }

  private checkFinished(): void {
    if (this.stopped || this.ending || !this.inputDone || this.completed < this.rels.length) return;
    this.ending = true;
    for (const w of this.workers.keys()) this.host.send(w, { type: 'end' });
  }

  private jobRef(id: number): JobRef {
    return { id, kind: this.kinds[id]!, rel: this.rels[id]!, attempt: this.attempts[id]!, fresh: this.fresh[id]! };
  }
}
