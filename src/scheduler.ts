/**
 * The scheduler: the one place that decides where every job of a run goes, and the owner of its
 * state (a `JobBook`, whose `move` is the only transition; parts of huge files in a `SplitBook`).
 * Pure: no processes, no file system. The pool drives it (jobs added, worker reports, exits) and it
 * answers through a `SchedulerHost` (fork, send, remove temps, the run's events), so it is tested
 * with fake workers.
 *
 *   queued ─size→ sizing@w ─report→ at@w (kept by the worker that sized it) ─result→ done | failed
 *                           ├──────→ big (bigFileBytes or more, or a -H leader) ─idle worker→ at@w' (see giveBigWork)
 *                           │                                                  └─ or opening@w' (split)
 *                           └──────→ held (-H: waits for its link group; the caller settles it)
 *   at@w (still in w's queue) ─release→ sizing@w' (an idle worker; see rebalance)
 *   opening@w ─opened→ parts (each waits → at a worker → written) ─last part→ sealing@w ─→ done
 *
 * Where a sized job is copied is decided once, when its batch is sent: the `size` message carries the
 * rule (files under bigFileBytes stay with the worker that sizes them, the rest is reported away), so
 * no second round trip holds a worker up. Workers take jobs in batches (pushed while they have room)
 * and big work one piece at a time, when idle, so big files spread over the pool (and one is always
 * in hand somewhere while any waits). Near the end, a worker that runs dry gets about half of what
 * another still has queued (see `rebalance`). A worker says which jobs it has in hand, so when it dies
 * `Recovery` (recovery.ts) knows which to retry once and which to queue again, and when to give up.
 */
import type { SerializedError } from './errors.js';
import { JobBook, State } from './job-book.js';
import type { CopyOutcome, JobKind, ParentMessage, TaskResult, WorkerReport } from './protocol.js';
import { Recovery } from './recovery.js';
import { BYTES_PER_JOB, JOBS_PER_EXTRA_WORKER, LOW_WATER, REGROW_AFTER_JOBS, MAX_BATCH, MAX_OUTSTANDING, MAX_OUTSTANDING_GROWING, type SchedulerHost, type SchedulerSettings } from './scheduler-settings.js';
import { SplitBook } from './split-book.js';


export class Scheduler {
  /** Every job's state (read it; only the scheduler moves jobs). */
  readonly jobs: JobBook;
  private readonly splits: SplitBook;
  /** What each live worker's last report said it had in hand. */
  private readonly inHand = new Map<number, WorkerReport['inHand']>();
  /** Workers asked to release work, until they give some back or get new jobs (see `rebalance`). */
  private readonly asked = new Set<number>();
  private nextWorker = 0;
  /** Workers that have reported at least once: they started. */
  private readonly started = new Set<number>();
  /** The pool's size at most: `settings.workers`, or fewer once another worker could not start. */
  private maxWorkers: number;
  /** Jobs completed when the pool last stopped growing (see `couldNotStart`), or -1. */
  private cappedAt = -1;
  private toldCapped = false;
  private batchSize = 16;
  private inputDone = false;
  private ending = false;
  private stopped = false;
  private readonly recovery: Recovery;

  constructor(
    private readonly settings: SchedulerSettings,
    private readonly host: SchedulerHost,
  ) {
    this.jobs = new JobBook(settings.bigFileBytes, (id, result) => {
      this.recovery.completed();
      if (typeof result === 'string') host.done(id, result);
      else host.failed(id, result);
    });
    this.splits = new SplitBook(settings.partBytes);
    this.recovery = new Recovery(this.jobs, this.splits, settings, host);
    this.maxWorkers = settings.workers;
    const initial = Math.max(1, Math.min(settings.initialWorkers, settings.workers));
    while (this.jobs.workerCount < initial) this.fork();
  }

  /** Adds a job; it goes out when a batch is full, or at the next `flush`. */
  add(kind: JobKind, rel: string, fresh: boolean): number {
    const id = this.jobs.add(kind, rel, fresh);
    if (this.recovery.gaveUp) this.jobs.move(id, State.failed, -1, this.recovery.gaveUp);
    else if (this.waiting() >= this.batchSize) this.dispatch();
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

  liveWorkers(): number[] {
    return [...this.jobs.workers()];
  }

  /** Every job has completed, or the run was stopped. */
  get complete(): boolean {
    return this.stopped || this.allJobsDone;
  }

  /** Every job of a run not stopped has completed: no worker will change an entry of DEST any more. */
  get allJobsDone(): boolean {
    return !this.stopped && this.inputDone && this.jobs.completed === this.jobs.length;
  }

  /** A big file some worker has in hand, for the bar. */
  currentBigFile(): string | undefined {
    for (const held of this.inHand.values()) {
      for (const h of held) {
        const id = typeof h === 'number' ? h : h[0];
        if (this.jobs.size(id) >= this.settings.bigFileBytes && !this.jobs.isCompleted(id)) return this.jobs.rel(id);
      }
    }
    return undefined;
  }

  /** -H: copy this held file after all, as the first of its link group. */
  copyAsLeader(id: number): void {
    // The pool gave up: no worker will take it (a lead passed on as the last ones failed).
    if (this.recovery.gaveUp) return this.jobs.move(id, State.failed, -1, this.recovery.gaveUp);
    this.jobs.move(id, State.big);
    this.giveBigWork();
  }

  /** Completes a held job the caller handled itself (-H: a further link of a group). */
  settle(id: number, outcome: CopyOutcome | SerializedError): void {
    if (this.jobs.isCompleted(id)) return;
    // No worker streamed its bytes: they count as done now, so the bar still ends at its total.
    this.host.bytes(this.jobs.sizedBytes(id));
    this.jobs.move(id, typeof outcome === 'string' ? State.done : State.failed, -1, outcome);
    this.checkFinished();
  }

  /** Stops at once: every worker is told to abort; split files' temps go. */
  abort(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.host.removeTemps(this.splits.ids().map((id) => this.jobs.ref(id)));
    for (const w of this.jobs.workers()) this.host.send(w, { type: 'abort' });
  }

  /** A worker's report: sizes to route, results, what it has in hand. */
  onReport(w: number, report: WorkerReport): void {
    if (!this.jobs.isLive(w)) return;
    this.started.add(w);
    this.inHand.set(w, report.inHand);
    if (report.sizes.length > 0) this.sized(w, report);
    // Read past a size of 0: the job's size and the total grow first, so the bar never passes it.
    for (const [id, n] of report.grown ?? []) {
      this.jobs.setSize(id, this.jobs.sizedBytes(id) + n);
      this.host.sized(n, 0);
      this.host.bytes(n);
    }
    if (report.bytes) this.host.bytes(report.bytes);
    for (const r of report.results) this.onResult(w, r);
    for (const [id, key] of report.links) this.host.hardLinked(id, key);
    if (report.released) this.released(w, report.released);
    this.dispatch();
    this.checkFinished();
  }

  /** A worker exited: `how` it died (e.g. `killed by SIGKILL`), or undefined when it was told to go. */
  onExit(w: number, how: string | undefined): void {
    if (!this.jobs.isLive(w)) return;
    const held = this.inHand.get(w) ?? [];
    this.inHand.delete(w);
    this.asked.delete(w);
    const interrupted = this.jobs.jobsAt(w);
    this.jobs.removeWorker(w);
    const started = this.started.delete(w);
    if (how === undefined || this.stopped) return;
    if (!started && this.jobs.workerCount > 0) this.couldNotStart(w, how, interrupted);
    else this.recovery.workerDied(w, how, held, interrupted);
    this.dispatch();
    this.checkFinished();
  }

  /**
   * A worker could not start (out of processes, threads or descriptors: fork failed, or it never
   * reported) while others live: the pool stays at the size it has, and the jobs sent to that worker
   * go to the others. Not a death: no job was tried, and giving up would fail jobs the others can
   * copy. (When the last one cannot start either, that is a death.)
   */
  private couldNotStart(w: number, how: string, sent: number[]): void {
    this.maxWorkers = this.jobs.workerCount;
    this.cappedAt = this.jobs.completed;
    const what = /^(could|did) not start/.test(how) ? how : `ended as it started (${how})`;
    if (!this.toldCapped) this.host.warn(`another worker ${what}: going on with ${this.maxWorkers}`);
    this.toldCapped = true;
    this.recovery.notStarted(w, how, sent);
  }

  // ── routing and results ──

  /** Records what a worker sized: kept there by the batch's rule, or away (big: for an idle worker; held: -H). */
  private sized(w: number, report: WorkerReport): void {
    const linked = new Set(report.links.map(([id]) => id));
    const away = new Set(report.away);
    let bytes = 0;
    let files = 0;
    for (let i = 0; i < report.sizes.length; i += 2) {
      const id = report.sizes[i]!;
      const size = report.sizes[i + 1]!;
      // A job sized again (released to another worker, or retried after a crash) counts once.
      if (this.jobs.size(id) < 0) files++;
      bytes += size - this.jobs.sizedBytes(id);
      this.jobs.setSize(id, size);
      if (!away.has(id)) this.jobs.move(id, State.at, w);
      else this.jobs.move(id, linked.has(id) ? State.held : State.big);
    }
    this.host.sized(bytes, files);
  }

  /**
   * Jobs worker `w` gave back (`release`) go to the idle workers, shared out in order (or wait again if
   * none is idle any more). Nothing given back: it has little left, and it is not asked again unless
   * it gets more jobs.
   */
  private released(w: number, ids: number[]): void {
    if (this.stopped) return;
    if (ids.length > 0) this.asked.delete(w);
    const back = ids.filter((id) => this.jobs.state(id) === State.at && this.jobs.worker(id) === w).reverse();
    const idle = [...this.jobs.workers()].filter((x) => this.isIdle(x));
    if (idle.length === 0) {
      for (const id of back) this.jobs.move(id, State.queued);
      return;
    }
    const share = Math.ceil(back.length / idle.length);
    idle.forEach((x, i) => {
      const ids = back.slice(i * share, (i + 1) * share);
      if (ids.length > 0) this.sendSize(x, ids);
    });
  }

  /** A result of a report: a bare id is a job copied with nothing more to say (no object per file). */
  private onResult(w: number, r: number | TaskResult): void {
    if (typeof r === 'number') return this.ended(r, 'copied');
    const { id } = r;
    if (r.part !== undefined) return this.onPartResult(w, id, r.part, r.error);
    if (r.outcome === 'opened') {
      this.splits.start(id, r.st!);
      this.jobs.move(id, State.parts);
      return this.grow();
    }
    this.ended(id, r.error ?? (r.outcome as CopyOutcome));
  }

  /** A job ended at a worker (a copy, a seal, an opening with nothing to copy) in an outcome or an error. */
  private ended(id: number, result: CopyOutcome | SerializedError): void {
    const state = this.jobs.state(id);
    // An opening that ends the job (nothing to copy, or failed) accounts its bytes here: no part will.
    if (state === State.opening) this.host.bytes(this.jobs.sizedBytes(id));
    if (typeof result === 'string') {
      if (state === State.sealing) this.splits.drop(id);
      return this.jobs.move(id, State.done, -1, result);
    }
    // Failed at sizing (gone, or changed type): it counts as sized, or the bar's totals never settle.
    if (state === State.sizing && this.jobs.size(id) < 0) this.host.sized(0, 1);
    if (this.splits.has(id)) return this.recovery.failSplit(id, result);
    this.jobs.move(id, State.failed, -1, result);
  }

  private onPartResult(w: number, id: number, part: number, error: SerializedError | undefined): void {
    const written = this.splits.written(id, part, w);
    if (written === 'stale') return;
    this.jobs.addLoad(w, -1);
    if (error) return this.recovery.failSplit(id, error);
    if (written === 'more') return;
    // Every part is in: the worker that wrote the last one checks the source and renames the temp.
    this.jobs.move(id, State.sealing, w);
    this.host.send(w, { type: 'tasks', tasks: [{ t: 'seal', job: this.jobs.ref(id), st: this.splits.st(id) }] });
  }

  // ── dispatch ──

  private waiting(): number {
    return this.jobs.count(State.queued);
  }

  /** Sends waiting jobs in batches, each to the live worker with the least load, then big work. */
  private dispatch(): void {
    if (this.stopped || this.ending) return;
    this.grow();
    while (this.waiting() > 0 && this.jobs.workerCount > 0) {
      const w = this.leastLoaded();
      const least = this.jobs.load(w);
      const room = (this.jobs.workerCount < this.maxWorkers ? MAX_OUTSTANDING_GROWING : MAX_OUTSTANDING) - least;
      if (room <= 0) break; // every worker has enough; their reports call us again
      // While the walk goes on, a part batch waits to fill up unless the least loaded worker runs low:
      // one message per directory listing (and the report each brings back) cost more than the walk.
      if (!this.inputDone && this.waiting() < Math.min(this.batchSize, room) && least >= LOW_WATER) break;
      const perWorker = this.inputDone ? Math.ceil(this.waiting() / this.jobs.workerCount) : this.batchSize;
      this.sendSize(w, this.jobs.take('queued', Math.min(perWorker, MAX_BATCH, room)));
      this.batchSize = Math.min(this.batchSize * 2, MAX_BATCH);
    }
    this.giveBigWork();
    this.rebalance();
  }

  /**
   * Near the end of a run, jobs kept by the worker that sized them can leave one worker copying alone
   * (a mixed tree: one worker with the medium files that its queue kept, behind a big file, while the
   * other ran dry). So when a worker is idle (and up: it has reported) and nothing waits to be sent, the busiest worker with
   * queued jobs (more than the one in hand) is asked to `release` the end of its queue: about half its
   * work left comes back and goes to the idle worker, which sizes it again (one lstat per file).
   */
  private rebalance(): void {
    if (!this.inputDone || this.waiting() > 0 || this.jobs.count(State.big) > 0 || this.splits.waiting > 0) return;
    let idle = false;
    let busiest = -1;
    let most = 1;
    for (const w of this.jobs.workers()) {
      const load = this.jobs.load(w);
      if (this.isIdle(w)) idle = true;
      else if (load > most && !this.asked.has(w)) [busiest, most] = [w, load];
    }
    if (!idle || busiest < 0) return;
    this.asked.add(busiest);
    this.host.send(busiest, { type: 'release' });
  }

  /** Nothing at worker `w`, and it is up (it has reported): one still starting could take work later than its owner would. */
  private isIdle(w: number): boolean {
    return this.jobs.load(w) === 0 && this.inHand.has(w);
  }

  /** Worker `w` sizes these jobs (and copies those the rule keeps). */
  private sendSize(w: number, ids: number[]): void {
    const jobs = ids.map((id) => {
      this.jobs.move(id, State.sizing, w);
      return this.jobs.ref(id);
    });
    this.host.send(w, { type: 'size', jobs, keepBelow: this.settings.bigFileBytes, found: this.jobs.length });
    this.asked.delete(w);
  }

  /**
   * Each idle worker gets one piece of big work: a part first (it holds a temp file), else a big file.
   * And big files do not wait behind small ones alone: while no worker has one in hand, the least
   * loaded worker takes one (before its queued files), so the device reads a big file while the
   * other workers copy small ones (on a cold cache, a `mixed` tree's big files were read only once
   * the small ones were done). The last one, to be split, still waits for idle workers.
   */
  private giveBigWork(): void {
    if (this.stopped || this.ending) return;
    for (const w of this.jobs.workers()) {
      if (this.jobs.load(w) > 0) continue;
      const part = this.splits.take(w);
      if (part) {
        this.jobs.addLoad(w, +1);
        this.host.send(w, { type: 'tasks', tasks: [{ t: 'part', job: this.jobs.ref(part.id), part: part.part, offset: part.offset, length: part.length }] });
        continue;
      }
      const [id] = this.jobs.take('big', 1);
      if (id === undefined) return;
      this.giveBigFile(w, id);
    }
    if (this.jobs.workerCount === 0 || this.jobs.bigInHand > 0 || this.splits.count > 0 || this.mayBeLastBigWork()) return;
    const [id] = this.jobs.take('big', 1);
    if (id !== undefined) this.giveBigFile(this.leastLoaded(), id);
  }

  /** Worker `w` copies big file `id`: whole, or (the last one, huge) opens it for parts. */
  private giveBigFile(w: number, id: number): void {
    if (this.isLastBigWork(id)) {
      this.jobs.move(id, State.opening, w);
      this.host.send(w, { type: 'tasks', tasks: [{ t: 'open', job: this.jobs.ref(id) }] });
    } else {
      this.jobs.move(id, State.at, w);
      this.host.send(w, { type: 'tasks', tasks: [{ t: 'copy', job: this.jobs.ref(id), size: this.jobs.size(id) }] });
    }
  }

  private leastLoaded(): number {
    let w = -1;
    let least = Infinity;
    for (const index of this.jobs.workers()) if (this.jobs.load(index) < least) [w, least] = [index, this.jobs.load(index)];
    return w;
  }

  /**
   * Parts pay only when nothing else can keep the workers busy: two workers writing one file contend
   * for it (measured on 4 × 512 MiB: 0.88 s split, 0.77 s as whole files on 2 workers). So a huge file
   * is split only when it is the one big file left, no other jobs wait, and the pool has room for two.
   */
  private isLastBigWork(id: number): boolean {
    return this.jobs.size(id) >= this.settings.splitFileBytes && this.maxWorkers > 1 && this.jobs.attempt(id) === 0 && this.mayBeLastBigWork();
  }

  /** No big file waits but one, and nothing else will come: it is the last big work (and may be split). */
  private mayBeLastBigWork(): boolean {
    return this.inputDone && this.waiting() === 0 && this.jobs.count(State.big) <= 1 && this.splits.count === 0;
  }

  /** Forks more workers only when the outstanding work is big enough to keep them busy. */
  private grow(): void {
    if (this.recovery.gaveUp || this.stopped || this.ending) return;
    if (this.cappedAt >= 0 && this.jobs.completed - this.cappedAt >= REGROW_AFTER_JOBS) {
      this.maxWorkers = this.settings.workers;
      this.cappedAt = -1;
    }
    // Each piece of big work weighs a worker's worth, unless an idle worker is about to take it.
    let idle = 0;
    let outstanding = this.waiting() + Math.floor(this.jobs.keptBytes / BYTES_PER_JOB);
    for (const w of this.jobs.workers()) {
      outstanding += this.jobs.load(w);
      if (this.jobs.load(w) === 0) idle++;
    }
    outstanding += Math.max(0, this.jobs.count(State.big) + this.splits.waiting - idle) * JOBS_PER_EXTRA_WORKER;
    const wanted = Math.min(this.maxWorkers, 1 + Math.floor(outstanding / JOBS_PER_EXTRA_WORKER));
    while (this.jobs.workerCount < wanted) this.fork();
  }

  private fork(): void {
    const w = this.nextWorker++;
    this.jobs.addWorker(w);
    this.host.fork(w);
  }

  private checkFinished(): void {
    if (this.stopped || this.ending || !this.inputDone || this.jobs.completed < this.jobs.length) return;
    this.ending = true;
    for (const w of this.jobs.workers()) this.host.send(w, { type: 'end' });
  }
}
