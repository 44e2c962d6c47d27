/**
 * A worker's queue of sized jobs, kept as columns rather than one object per job: a worker may hold
 * 100,000 queued files, and an object per job with its stat (three bigints among them) costs about
 * 300 bytes where columns cost about 100. Jobs come out in the order they went in.
 *
 * Times are kept as 64-bit nanoseconds, which end in 2262; the rare time beyond (ext4 keeps them to
 * 2446) is kept aside, by the job's place in the order of jobs ever pushed.
 */
import type { SourceStat } from './metadata.js';
import type { JobKind, JobRef } from './protocol.js';

export interface QueuedJob {
  job: JobRef;
  st: SourceStat;
}

const LINK = 1;
const FRESH = 2;
/** Its times are in `farTimes`. */
const FAR = 4;

export class JobQueue {
  private capacity = 0;
  private start = 0;
  private end = 0;
  private rels: string[] = [];
  private numbers = new Float64Array(0); // per job: id, flags|attempt, size, mode, uid, gid, dev, nlink, blocks
  private bigs = new BigInt64Array(0); // per job: ino, atimeNs, mtimeNs
  private static readonly N = 9;
  private static readonly B = 3;

  /** Jobs shifted out so far: the queue's n-th job ever pushed is at `n - shifted` from the front. */
  shifted = 0;
  /** Times that do not fit in 64-bit nanoseconds, by the job's n. */
  private readonly farTimes = new Map<number, { atimeNs: bigint; mtimeNs: bigint }>();

  get length(): number {
    return this.end - this.start;
  }

  /** Path and size of the job `offset` places from the front (for reading ahead). */
  peek(offset: number): { rel: string; size: number; link: boolean } | undefined {
    if (offset < 0 || offset >= this.end - this.start) return undefined;
    const i = this.start + offset;
    return { rel: this.rels[i]!, size: this.numbers[i * JobQueue.N + 2]!, link: (this.numbers[i * JobQueue.N + 1]! % 8 & LINK) !== 0 };
  }

  /**
   * Takes jobs off the end of the queue for another worker: about half of the work left here, where
   * `inHand` weighs the work in hand and a queued job its bytes plus `perFile`. Stops at a job that
   * `keep(n)` says stays (one being read ahead). The ids taken off, last first.
   */
  giveBack(inHand: number, perFile: number, keep: (n: number) => boolean): number[] {
    const weightAt = (offset: number): number => this.numbers[(this.start + offset) * JobQueue.N + 2]! + perFile;
    let left = inHand;
    for (let offset = 0; offset < this.length; offset++) left += weightAt(offset);
    const ids: number[] = [];
    let given = 0;
    while (this.length > 0) {
      const weight = weightAt(this.length - 1);
      if ((given + weight) * 2 > left || keep(this.shifted + this.length - 1)) break;
      given += weight;
      const i = --this.end;
      this.farTimes.delete(this.shifted + this.length);
      this.rels[i] = '';
      ids.push(this.numbers[i * JobQueue.N]!);
    }
    if (this.start === this.end) this.start = this.end = 0;
    return ids;
  }

  // Element by element, not `set([...])` and `subarray`: no array or view per job (a worker pushes and
  // shifts every file it copies).
  push({ job, st }: QueuedJob): void {
    if (this.end === this.capacity) this.grow();
    const nth = this.shifted + this.length;
    const i = this.end++;
    const { bigs, numbers } = this;
    const b = i * JobQueue.B;
    // The columns wrap a time that does not fit: then it is kept aside.
    bigs[b] = st.ino;
    bigs[b + 1] = st.atimeNs;
    bigs[b + 2] = st.mtimeNs;
    const far = bigs[b + 1] !== st.atimeNs || bigs[b + 2] !== st.mtimeNs;
    if (far) this.farTimes.set(nth, { atimeNs: st.atimeNs, mtimeNs: st.mtimeNs });
    const flags = (job.kind === 'link' ? LINK : 0) | (job.fresh ? FRESH : 0) | (far ? FAR : 0);
    this.rels[i] = job.rel;
    const n = i * JobQueue.N;
    numbers[n] = job.id;
    numbers[n + 1] = flags + job.attempt * 8;
    numbers[n + 2] = st.size;
    numbers[n + 3] = st.mode;
    numbers[n + 4] = st.uid;
    numbers[n + 5] = st.gid;
    numbers[n + 6] = st.dev;
    numbers[n + 7] = st.nlink;
    numbers[n + 8] = st.blocks;
  }

  shift(): QueuedJob | undefined {
    if (this.start === this.end) return undefined;
    const i = this.start++;
    const nth = this.shifted++;
    const { bigs, numbers } = this;
    const n = i * JobQueue.N;
    const b = i * JobQueue.B;
    const flags = numbers[n + 1]! % 8;
    const kind: JobKind = flags & LINK ? 'link' : 'file';
    const job: JobRef = { id: numbers[n]!, kind, rel: this.rels[i]!, attempt: Math.floor(numbers[n + 1]! / 8), fresh: (flags & FRESH) !== 0 };
    this.rels[i] = '';
    const st: SourceStat = {
      size: numbers[n + 2]!,
      blocks: numbers[n + 8]!,
      mode: numbers[n + 3]!,
      uid: numbers[n + 4]!,
      gid: numbers[n + 5]!,
      dev: numbers[n + 6]!,
      nlink: numbers[n + 7]!,
      ino: BigInt.asUintN(64, bigs[b]!),
      atimeNs: bigs[b + 1]!,
      mtimeNs: bigs[b + 2]!,
    };
    if (flags & FAR) {
      Object.assign(st, this.farTimes.get(nth));
      this.farTimes.delete(nth);
    }
    if (this.start === this.end) this.start = this.end = 0;
    return { job, st };
  }

  /** Doubles the room, or first moves the live part to the front when half of it is spent. */
  private grow(): void {
    const live = this.end - this.start;
    if (this.start > 0 && live <= this.capacity / 2) {
      this.numbers.copyWithin(0, this.start * JobQueue.N, this.end * JobQueue.N);
      this.bigs.copyWithin(0, this.start * JobQueue.B, this.end * JobQueue.B);
      this.rels = this.rels.slice(this.start, this.end);
    } else {
      this.capacity = Math.max(1024, this.capacity * 2);
      const numbers = new Float64Array(this.capacity * JobQueue.N);
      numbers.set(this.numbers.subarray(this.start * JobQueue.N, this.end * JobQueue.N));
      const bigs = new BigInt64Array(this.capacity * JobQueue.B);
      bigs.set(this.bigs.subarray(this.start * JobQueue.B, this.end * JobQueue.B));
      this.numbers = numbers;
      this.bigs = bigs;
      this.rels = this.rels.slice(this.start, this.end);
    }
    this.start = 0;
    this.end = live;
  }
}
