/**
 * The state of every job of a run, and the one function that changes it (`move`). Jobs are kept as
 * columns indexed by id (dense, from 0): an object per job would be most of the parent's memory on a
 * 200,000-file tree. The book also keeps each live worker's load (jobs and parts at it, not yet
 * completed), which `move` maintains for jobs. Pure: the scheduler decides, the book records.
 *
 * But for the paths, the columns are typed arrays (1 to 8 bytes a job each), grown by doubling: off
 * V8's heap, they neither fill the parent's old generation nor leave their outgrown copies there, so
 * V8 marks it later and less. Arrays of numbers took ~2 MB more of it on `small` (20,000 files), enough
 * to start a full mark-compact near the end of the run (13 + 5 ms); on the real tree (46,000 files)
 * its one mark-compact took 4 instead of 19 ms. Whole runs against the same build with arrays (14
 * and 10 alternating): `small` 443.7 vs 452.8 ms, the real tree 933.6 vs 945.6 ms; npm's tree (1,943
 * files) the same.
 */
import type { SerializedError } from './errors.js';
import type { CopyOutcome, JobKind, JobRef } from './protocol.js';

/**
 * queued: waits to be sent for sizing · sizing: its worker lstats it · at: its worker copies it (or a
 * task of it) · held: -H, waits for its link group · big: waits for a worker (Scheduler.giveBigWork) ·
 * opening / parts / sealing: a huge file in parts · done / failed: completed (final).
 */
export const State = {
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
export type StateCode = (typeof State)[JobState];
const NAMES = Object.keys(State) as JobState[];

/** The columns' first length; they double as jobs come. */
const INITIAL_JOBS = 1024;
/** A job's kind as stored: its index here. */
const KINDS: readonly JobKind[] = ['file', 'link'];
const KIND_CODE = Object.fromEntries(KINDS.map((kind, code) => [kind, code])) as Record<JobKind, number>;

/** States in which a job is at one worker: counted in its load, interrupted by its death. */
const AT_WORKER: ReadonlySet<number> = new Set([State.sizing, State.at, State.opening, State.sealing]);
/** States in which a big file is a piece of work in a worker's hands (see `bigInHand`). */
const BIG_IN_HAND: ReadonlySet<number> = new Set([State.at, State.opening, State.sealing]);

export class JobBook {
  private readonly rels: string[] = [];
  /** KIND_CODE of each job. */
  private kinds = new Uint8Array(INITIAL_JOBS);
  /** 1: its destination directory was made by this run. */
  private fresh = new Uint8Array(INITIAL_JOBS);
  private states = new Uint8Array(INITIAL_JOBS);
  private workerOf = new Int32Array(INITIAL_JOBS);
  /** 0, or 1 once retried (Recovery retries a job once). */
  private attempts = new Uint8Array(INITIAL_JOBS);
  /** Bytes as sized; -1 until then. */
  private sizes = new Float64Array(INITIAL_JOBS);
  private readonly loads = new Map<number, number>();
  /** Jobs in each state. */
  private readonly counts: number[] = Object.values(State).map(() => 0);
  /** Jobs waiting in `queued` and in `big`, in the order they got there (see `take`). */
  private readonly waiting: Record<'queued' | 'big', { ids: number[]; head: number }> = { queued: { ids: [], head: 0 }, big: { ids: [], head: 0 } };
  /** Jobs done or failed. */
  completed = 0;
  /** Sized bytes of the jobs in `at` that workers kept from their batches (see `keptBytes`). */
  private kept = 0;
  /** Files of `bigBytes` or more that some worker has in hand (see `bigInHand`). */
  private bigs = 0;

  /**
   * `completed` hears each job's completion exactly once. Files of `bigBytes` and more are at a worker
   * as a task of their own, so they do not weigh in `keptBytes`.
   */
  constructor(
    private readonly bigBytes: number,
    private readonly onCompleted: (id: number, result: CopyOutcome | SerializedError) => void,
  ) {}

  /** Bytes queued at workers under the batches' rule, not yet copied: what a new worker could relieve. */
  get keptBytes(): number {
    return this.kept;
  }

  /** Big files at workers, as whole copies or being opened or sealed for their parts. */
  get bigInHand(): number {
    return this.bigs;
  }

  private weight(bytes: number): number {
    return bytes > 0 && bytes < this.bigBytes ? bytes : 0;
  }

  private isBig(id: number): 0 | 1 {
    return BIG_IN_HAND.has(this.states[id]!) && this.sizes[id]! >= this.bigBytes ? 1 : 0;
  }

  get length(): number {
    return this.rels.length;
  }

  add(kind: JobKind, rel: string, fresh: boolean): number {
    const id = this.rels.length;
    if (id === this.states.length) this.grow();
    this.rels.push(rel);
    this.kinds[id] = KIND_CODE[kind];
    this.fresh[id] = fresh ? 1 : 0;
    this.states[id] = State.queued;
    this.workerOf[id] = -1;
    this.attempts[id] = 0;
    this.sizes[id] = -1;
    this.counts[State.queued]!++;
    this.waiting.queued.ids.push(id);
    return id;
  }

  /** Twice the room in every column. */
  private grow(): void {
    const n = this.states.length * 2;
    this.kinds = grown(this.kinds, n);
    this.fresh = grown(this.fresh, n);
    this.states = grown(this.states, n);
    this.workerOf = grown(this.workerOf, n);
    this.attempts = grown(this.attempts, n);
    this.sizes = grown(this.sizes, n);
  }

  /**
   * The one transition: `w` is the worker for states at a worker; `result` the outcome for `done`,
   * the error for `failed`. A completed job never moves again (a late or duplicate result changes nothing).
   */
  move(id: number, to: StateCode, w = -1, result?: CopyOutcome | SerializedError): void {
    const from = this.states[id]!;
    if (from >= State.done) return;
    if (AT_WORKER.has(from)) this.addLoad(this.workerOf[id]!, -1);
    if (from === State.at) this.kept -= this.weight(this.sizes[id]!);
    if (to === State.at) this.kept += this.weight(this.sizes[id]!);
    this.counts[from]!--;
    this.counts[to]!++;
    if (to === State.queued) this.waiting.queued.ids.push(id);
    if (to === State.big) this.waiting.big.ids.push(id);
    this.bigs -= this.isBig(id);
    this.states[id] = to;
    this.bigs += this.isBig(id);
    this.workerOf[id] = AT_WORKER.has(to) ? w : -1;
    if (AT_WORKER.has(to)) this.addLoad(w, +1);
    if (to < State.done) return;
    this.completed++;
    this.onCompleted(id, result!);
  }

  /** How many jobs are in a state. */
  count(state: StateCode): number {
    return this.counts[state]!;
  }

  /** Up to `n` jobs waiting in `queued` (or `big`), first come first served; they leave that state next. */
  take(state: 'queued' | 'big', n: number): number[] {
    const q = this.waiting[state];
    const ids: number[] = [];
    // A job that left the state since it was put in line (failed when the pool gave up) is passed over.
    while (ids.length < n && q.head < q.ids.length) {
      const id = q.ids[q.head++]!;
      if (this.states[id] === State[state]) ids.push(id);
    }
    if (q.head > 4096 && q.head * 2 > q.ids.length) {
      q.ids = q.ids.slice(q.head);
      q.head = 0;
    }
    return ids;
  }

  state(id: number): StateCode {
    return this.states[id] as StateCode;
  }

  stateName(id: number): JobState {
    return NAMES[this.states[id]!]!;
  }

  isCompleted(id: number): boolean {
    return this.states[id]! >= State.done;
  }

  /** The worker a job is at, or -1. */
  worker(id: number): number {
    return AT_WORKER.has(this.states[id]!) ? this.workerOf[id]! : -1;
  }

  /** Jobs at worker `w` (for when it dies). */
  jobsAt(w: number): number[] {
    const ids: number[] = [];
    for (let id = 0; id < this.length; id++) if (this.workerOf[id] === w && AT_WORKER.has(this.states[id]!)) ids.push(id);
    return ids;
  }

  /** Jobs in one of these states. */
  jobsIn(...states: StateCode[]): number[] {
    const ids: number[] = [];
    for (let id = 0; id < this.length; id++) if (states.includes(this.states[id] as StateCode)) ids.push(id);
    return ids;
  }

  rel(id: number): string {
    return this.rels[id]!;
  }

  kind(id: number): JobKind {
    return KINDS[this.kinds[id]!]!;
  }

  /** -1 until sized. */
  size(id: number): number {
    return this.sizes[id]!;
  }

  /** Bytes as sized, 0 before (or if it failed before). */
  sizedBytes(id: number): number {
    return Math.max(this.sizes[id]!, 0);
  }

  setSize(id: number, bytes: number): void {
    if (this.states[id] === State.at) this.kept += this.weight(bytes) - this.weight(this.sizes[id]!);
    this.bigs -= this.isBig(id);
    this.sizes[id] = bytes;
    this.bigs += this.isBig(id);
  }

  attempt(id: number): number {
    return this.attempts[id]!;
  }

  /** A retry after a worker died writes to another temp name. */
  retry(id: number): void {
    this.attempts[id]!++;
  }

  /** Its destination directory was made by this run (or would be, in a dry run). */
  isFresh(id: number): boolean {
    return this.fresh[id] === 1;
  }

  ref(id: number): JobRef {
    return { id, kind: this.kind(id), rel: this.rels[id]!, attempt: this.attempts[id]!, fresh: this.isFresh(id) };
  }

  // ── workers ──

  addWorker(w: number): void {
    this.loads.set(w, 0);
  }

  removeWorker(w: number): void {
    this.loads.delete(w);
  }

  workers(): IterableIterator<number> {
    return this.loads.keys();
  }

  get workerCount(): number {
    return this.loads.size;
  }

  isLive(w: number): boolean {
    return this.loads.has(w);
  }

  /** Jobs and parts at worker `w`, not yet completed. */
  load(w: number): number {
    return this.loads.get(w) ?? 0;
  }

  addLoad(w: number, delta: number): void {
    const load = this.loads.get(w);
    if (load !== undefined) this.loads.set(w, load + delta);
  }
}

/** A column of the same type as `from`, `length` long, that starts with its values. */
function grown<T extends Uint8Array | Int32Array | Float64Array>(from: T, length: number): T {
  const to = new (from.constructor as new (length: number) => T)(length);
  to.set(from);
  return to;
}
