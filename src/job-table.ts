/**
 * The parent's table of every job of a run, as columns indexed by job id: on a 200,000-file tree an
 * object per job would be most of the parent's memory. Ids are dense, from 0.
 */
import type { CopyJob, JobKind } from './protocol.js';

const LINK = 1;
const FRESH = 2;
const LEADER = 4;
const DONE = 8;
const ATTEMPT_UNIT = 16;

export class JobTable {
  private readonly rels: string[] = [];
  /** Flags above, plus the attempt number times ATTEMPT_UNIT. */
  private readonly info: number[] = [];
  /** Bytes as a worker sized it; -1 until then. */
  private readonly sizes: number[] = [];

  get length(): number {
    return this.rels.length;
  }

  add(kind: JobKind, rel: string, fresh: boolean): number {
    this.rels.push(rel);
    this.info.push((kind === 'link' ? LINK : 0) | (fresh ? FRESH : 0));
    this.sizes.push(-1);
    return this.rels.length - 1;
  }

  rel(id: number): string {
    return this.rels[id]!;
  }

  kind(id: number): JobKind {
    return this.info[id]! & LINK ? 'link' : 'file';
  }

  attempt(id: number): number {
    return Math.floor(this.info[id]! / ATTEMPT_UNIT);
  }

  bumpAttempt(id: number): void {
    this.info[id]! += ATTEMPT_UNIT;
  }

  /** -1 until sized. */
  size(id: number): number {
    return this.sizes[id]!;
  }

  setSize(id: number, bytes: number): void {
    this.sizes[id] = bytes;
  }

  isDone(id: number): boolean {
    return (this.info[id]! & DONE) !== 0;
  }

  markDone(id: number): void {
    this.info[id]! |= DONE;
  }

  /** -H: the first of its hard-link group, to be copied although it has several links. */
  setLeader(id: number): void {
    this.info[id]! |= LEADER;
  }

  /** The job as a worker gets it. */
  toJob(id: number): CopyJob {
    const info = this.info[id]!;
    const job: CopyJob = { id, kind: this.kind(id), rel: this.rels[id]!, attempt: this.attempt(id), fresh: (info & FRESH) !== 0 };
    if (info & LEADER) job.linkLeader = true;
    return job;
  }
}
