/**
 * What happens when things fail in the pool: a worker that dies, a part of a huge file that fails.
 * The jobs a dead worker had in hand are tried once more on another worker (a second death fails
 * them); its other jobs are simply queued again; every temp file it may have left is removed. After
 * more deaths in a row than the pool has workers, with no job completed in between, the pool gives
 * up: the remaining jobs fail with one clear error instead of forking forever. Pure, like the
 * scheduler it serves.
 */
import { display } from './byte-names.js';
import { entryError, type SerializedError } from './errors.js';
import { State, type JobBook } from './job-book.js';
import type { WorkerReport } from './protocol.js';
import type { SchedulerHost, SchedulerSettings } from './scheduler-settings.js';
import type { SplitBook } from './split-book.js';

export class Recovery {
  private deathsInARow = 0;
  /** Set once the pool gave up: the error every job not yet at a live worker fails with. */
  gaveUp: SerializedError | undefined;

  constructor(
    private readonly jobs: JobBook,
    private readonly splits: SplitBook,
    private readonly settings: SchedulerSettings,
    private readonly host: SchedulerHost,
  ) {}

  /** A job completed: the workers are not all dying. */
  completed(): void {
    this.deathsInARow = 0;
  }

  /** Worker `w` died (`how`), having said it held `held`; `interrupted` were its jobs. */
  workerDied(w: number, how: string, held: WorkerReport['inHand'], interrupted: number[]): void {
    this.deathsInARow++;
    this.takeBack(w, how, held, interrupted);
    if (this.gaveUp || this.deathsInARow > this.settings.workers) this.giveUp(how);
  }

  /**
   * Worker `w` never started (see Scheduler.couldNotStart): the jobs and parts of huge files sent to
   * it wait for the others again, without counting as a try (it held none), nor as a death.
   */
  notStarted(w: number, how: string, sent: number[]): void {
    this.takeBack(w, how, [], sent);
  }

  /**
   * The work of a worker gone (`how`): what it held is tried once more (or fails the second time),
   * the rest of its jobs and parts wait again.
   */
  private takeBack(w: number, how: string, held: WorkerReport['inHand'], jobs: number[]): void {
    // Its temp files may exist, complete or not: none may stay, and a retry makes a new one.
    this.host.removeTemps(jobs.filter((id) => this.jobs.state(id) !== State.sizing).map((id) => this.jobs.ref(id)));
    for (const id of jobs) {
      // A split interrupted while opening or sealing starts again as a whole big file.
      this.splits.drop(id);
      if (held.includes(id)) this.retryOrFail(id, w, how);
      else this.requeue(id);
    }
    const parts = this.splits.interrupted(w, (id, part) => held.some((h) => typeof h !== 'number' && h[0] === id && h[1] === part));
    for (const [id, part] of parts.retried) {
      this.host.warn(`worker ${w} died (${how}) while copying part ${part + 1} of ${this.named(id)}: writing that part again`);
    }
    for (const id of parts.lost) this.failSplit(id, entryError.crashed(how));
  }

  /** A job's name in a warning; a file SRC (path '') is "the file". */
  private named(id: number): string {
    const rel = this.jobs.rel(id);
    return rel === '' ? 'the file' : `\`${display(rel)}\``;
  }

  /** A split file fails: its temp goes, its parts not yet written count as done bytes for the bar. */
  failSplit(id: number, error: SerializedError): void {
    const { unwritten, heldBy } = this.splits.drop(id);
    for (const w of heldBy) this.jobs.addLoad(w, -1);
    if (unwritten > 0) this.host.bytes(unwritten);
    this.host.removeTemps([this.jobs.ref(id)]);
    this.jobs.move(id, State.failed, -1, error);
  }

  /** A job a dead worker had in hand: once more on another worker, or failed the second time. */
  private retryOrFail(id: number, w: number, how: string): void {
    if (this.jobs.attempt(id) >= 1) return this.jobs.move(id, State.failed, -1, entryError.crashed(how));
    this.jobs.retry(id);
    this.host.warn(`worker ${w} died (${how}) while copying ${this.named(id)}: trying it once more`);
    this.requeue(id);
  }

  /** Back to where a job waits for a worker: big work for an idle one, the rest to be sized again. */
  private requeue(id: number): void {
    this.jobs.move(id, this.jobs.size(id) >= this.settings.bigFileBytes ? State.big : State.queued);
  }

  /**
   * Workers keep dying: fail everything not at a live worker, now and after each later death (held
   * links wait for their leaders). The scheduler forks no more.
   */
  private giveUp(how: string): void {
    if (!this.gaveUp) {
      this.gaveUp = entryError.poolDying(this.deathsInARow, how);
      this.host.warn(`workers keep dying (${this.deathsInARow} in a row, last ${how}): the entries not copied yet fail`);
    }
    for (const id of this.splits.ids()) this.failSplit(id, this.gaveUp);
    for (const id of this.jobs.jobsIn(State.queued, State.big)) this.jobs.move(id, State.failed, -1, this.gaveUp);
  }
}
