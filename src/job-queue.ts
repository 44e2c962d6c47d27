/**
 * A worker's queue of sized jobs, kept as columns rather than one object per job: a worker may hold
 * 100,000 queued files, and an object per job with its stat (three bigints among them) costs about
 * 300 bytes where columns cost about 120. Jobs come out in the order they went in.
 */
import type { SourceStat } from './metadata.js';
import type { JobKind, JobRef } from './protocol.js';

export interface QueuedJob {
  job: JobRef;
  st: SourceStat;
}

const LINK = 1;
const FRESH = 2;

export class JobQueue {
  private capacity = 0;
  private start = 0;
  private end = 0;
  private rels: string[] = [];
  // per job: id, flags|attempt, size, mode, uid, gid, dev, nlink, blocks, and each time as whole
  // seconds and nanoseconds (as nanoseconds alone a time after 2262 would not fit in 64 bits)
  private numbers = new Float64Array(0);
  private bigs = new BigInt64Array(0); // per job: ino
  private static readonly N = 13;
  private static readonly B = 1;

  /** Jobs shifted out so far: the queue's n-th job ever pushed is at `n - shifted` from the front. */
  shifted = 0;

  get length(): number {
    return this.end - this.start;
  }

  /** Path and size of the job `offset` places from the front (for reading ahead). */
  peek(offset: number): { rel: string; size: number; link: boolean } | undefined {
    if (offset < 0 || offset >= this.end - this.start) return undefined;
    const i = this.start + offset;
    return { rel: this.rels[i]!, size: this.numbers[i * JobQueue.N + 2]!, link: (this.numbers[i * JobQueue.N + 1]! % 8 & LINK) !== 0 };
  }

  push({ job, st }: QueuedJob): void {
    if (this.end === this.capacity) this.grow();
    const i = this.end++;
    const flags = (job.kind === 'link' ? LINK : 0) | (job.fresh ? FRESH : 0);
    this.rels[i] = job.rel;
    const [aSec, aNs] = splitNs(st.atimeNs);
    const [mSec, mNs] = splitNs(st.mtimeNs);
    this.numbers.set([job.id, flags + job.attempt * 8, st.size, st.mode, st.uid, st.gid, st.dev, st.nlink, st.blocks, aSec, aNs, mSec, mNs], i * JobQueue.N);
    this.bigs[i * JobQueue.B] = BigInt.asIntN(64, st.ino);
  }

  shift(): QueuedJob | undefined {
    if (this.start === this.end) return undefined;
    const i = this.start++;
    this.shifted++;
    const n = this.numbers.subarray(i * JobQueue.N, (i + 1) * JobQueue.N);
    const flags = n[1]! % 8;
    const kind: JobKind = flags & LINK ? 'link' : 'file';
    const job: JobRef = { id: n[0]!, kind, rel: this.rels[i]!, attempt: Math.floor(n[1]! / 8), fresh: (flags & FRESH) !== 0 };
    this.rels[i] = '';
    const st: SourceStat = { size: n[2]!, blocks: n[8]!, mode: n[3]!, uid: n[4]!, gid: n[5]!, dev: n[6]!, nlink: n[7]!, ino: BigInt.asUintN(64, this.bigs[i * JobQueue.B]!), atimeNs: joinNs(n[9]!, n[10]!), mtimeNs: joinNs(n[11]!, n[12]!) };
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

const NS = 1_000_000_000n;

/** A time in nanoseconds as whole seconds (rounded down, also before 1970) and the nanoseconds past them. */
function splitNs(ns: bigint): [number, number] {
  const rest = ((ns % NS) + NS) % NS;
  return [Number((ns - rest) / NS), Number(rest)];
}

function joinNs(seconds: number, ns: number): bigint {
  return BigInt(seconds) * NS + BigInt(ns);
}
