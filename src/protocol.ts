/**
 * The parent↔worker messages: one task union going down, one report shape coming up.
 *
 * A job (one file or symlink) is first *sized*: its worker lstats it at once so the bar's totals fill
 * in early. Where it is copied the scheduler decides once, when it sends the batch, as a rule that
 * travels with it (`keepBelow`): the worker that sized it copies it, or reports it `away` (a big file,
 * which the scheduler gives to the next idle worker; a -H file with several links, for its group).
 * Everything else a worker does is a `Task`. Results come back batched (one `report` per ~100 ms,
 * or when the worker runs dry), never one IPC round trip per file.
 */
import type { CopyPolicy } from './copy-file.js';
import type { SerializedError } from './errors.js';
import type { WireStat } from './metadata.js';


/** `copied` (or would be, in a dry run); `same`: already identical; `kept`: left alone by --ignore-existing / --update. */
/** `fixed`: the content was there, its owner, mode or times were corrected (or would be, in a dry run). */
export type CopyOutcome = 'copied' | 'same' | 'fixed' | 'kept';

/** A regular file (streamed) or a symlink (recreated with the same target text). */
export type JobKind = 'file' | 'link';

/** One entry; `rel` is relative to both roots ('' when SRC itself is a file). */
export interface JobRef {
  id: number;
  kind: JobKind;
  rel: string;
  /** 0 on the first try, 1 on the retry after a worker died: the retry writes to another temp name. */
  attempt: number;
  /** Its destination directory was made by this run: nothing can be in the way there. */
  fresh: boolean;
}

/**
 * Work for a worker, other than copying what it sized:
 * - `copy`: a whole entry that another worker sized (it is stat'ed again here; `size` is what the
 *   bar counted for it, so a changed file is reported as changed);
 * - `open`: a huge file this worker sized: check the destination, then make the temp file its parts go to;
 * - `part`: bytes [offset, offset + length) of a huge file into its temp file;
 * - `seal`: every part is in: check the source did not change, set metadata, rename.
 */
export type Task =
  | { t: 'copy'; job: JobRef; size: number }
  | { t: 'open'; job: JobRef }
  | { t: 'part'; job: JobRef; part: number; offset: number; length: number }
  | { t: 'seal'; job: JobRef; st: WireStat };

/** Settings every worker gets once, before anything else. */
export interface WorkerInit {
  type: 'init';
  srcRoot: string;
  destRoot: string;
  chunkSize: number;
  /** Part of every temp name: `<parent pid>-<random>`, so a later run can tell live temps from stale ones. */
  runTag: string;
  /** What to preserve, when to overwrite, dry run, verify, fsync, -L. */
  policy: CopyPolicy;
  /** Test-only: pause after each chunk (set through PCOPY_TEST_DELAY_MS, not a CLI option). */
  delayMs: number;
}

export type ParentMessage =
  | WorkerInit
  /**
   * lstat these now and report their sizes; copy here, in order, those the scheduler's rule keeps:
   * files smaller than `keepBelow` that are not -H files with several links. Report the others `away`.
   * `found`: the jobs the walk has found so far, which tells a big run (see tier-up.ts).
   */
  | { type: 'size'; jobs: JobRef[]; keepBelow: number; found: number }
  /** More work, done before queued copies (parts and big files first: they hold temp files). */
  | { type: 'tasks'; tasks: Task[] }
  /**
   * Near the end of a run, for an idle worker: give back the end of the queue, about half of the
   * work left here, as `released` in the next report (see Scheduler.rebalance).
   */
  | { type: 'release' }
  /** No more work will come: exit once idle. */
  | { type: 'end' }
  /** Stop now: remove the temp files in hand and exit. */
  | { type: 'abort' };

/**
 * A `size` batch as it goes down the IPC channel: its jobs as columns, not an object each (a third
 * of the bytes, and a quarter of the JSON work on both sides: 20,000 jobs, 11.6 vs 2.9 ms). `rels`
 * joined by NUL, which no name holds; `flags`: 1 a link, 2 fresh, the attempt from bit 2 up.
 * WorkerHandle encodes, the worker decodes: the scheduler deals in `JobRef`s.
 */
export interface WireJobs {
  ids: number[];
  rels: string;
  flags: number[];
}

export type WireMessage = Exclude<ParentMessage, { type: 'size' }> | { type: 'size'; jobs: WireJobs; keepBelow: number; found: number };

export function toWire(message: ParentMessage): WireMessage {
  if (message.type !== 'size') return message;
  const { jobs } = message;
  return {
    type: 'size',
    jobs: { ids: jobs.map((j) => j.id), rels: jobs.map((j) => j.rel).join('\0'), flags: jobs.map((j) => (j.kind === 'link' ? 1 : 0) | (j.fresh ? 2 : 0) | (j.attempt << 2)) },
    keepBelow: message.keepBelow,
    found: message.found,
  };
}

export function fromWireJobs({ ids, rels, flags }: WireJobs): JobRef[] {
  const names = rels.split('\0');
  return ids.map((id, k) => ({ id, kind: flags[k]! & 1 ? 'link' : 'file', rel: names[k]!, attempt: flags[k]! >> 2, fresh: (flags[k]! & 2) !== 0 }));
}

/** What became of one task; `part` is set for parts. */
export type TaskOutcome = CopyOutcome | 'opened' | 'written';

export interface TaskResult {
  id: number;
  part?: number;
  outcome?: TaskOutcome;
  error?: SerializedError;
  /** `open`: the stat the parts were copied against, for `seal`. */
  st?: WireStat;
}

/** The one message a worker sends. */
export interface WorkerReport {
  type: 'report';
  /** Sizes from lstat, flat `[id, bytes, …]` (a failed lstat is a result instead). */
  sizes: number[];
  /** Sized jobs not kept by the `size` rule: the scheduler routes them. */
  away: number[];
  /** -H: sized files with several links, as [id, `dev:ino`]. */
  links: Array<[id: number, key: string]>;
  /** Bytes done since the last report (streamed, plus the rest of each finished file). */
  bytes: number;
  /**
   * Bytes read past a size of 0 (/proc and /sys files) since the last report, as [id, bytes]: done
   * bytes that are new to the total and to the job's size. Absent when there are none.
   */
  grown?: Array<[id: number, bytes: number]>;
  /**
   * What completed, in the order it did. A job that ended `copied` with nothing more to say (most
   * of a run's results) is its bare id, sent and parsed as a number rather than an object.
   */
  results: Array<number | TaskResult>;
  /** The answer to `release`: queued jobs given back, not copied here (empty: too little left to share). */
  released?: number[];
  /** Jobs in hand right now (a part as [id, part]): what a crash of this worker interrupts. */
  inHand: Array<number | [id: number, part: number]>;
}

/** The temp name of a job, in its destination directory: the one definition workers and clean-up share. */
export function tempName(runTag: string, id: number, attempt: number): string {
  return `.pcopy-${runTag}-${id.toString(36)}${attempt ? `r${attempt}` : ''}.tmp`;
}

/** The temp path of a job whose destination is `dest`. */
export function tempPathOf(dest: string, runTag: string, id: number, attempt: number): string {
  return `${dest.slice(0, dest.lastIndexOf('/') + 1)}${tempName(runTag, id, attempt)}`;
}

/** The temp path of a job (in DEST below `destRoot`). */
export function jobTempPath(destRoot: string, runTag: string, job: JobRef): string {
  return tempPathOf(under(destRoot, job.rel), runTag, job.id, job.attempt);
}

/**
 * Matches temp names of any run: group 1 is the pid of the run that made it, group 2 its PID
 * namespace (see `runTagFor`; empty or absent in names of runs before it was there, and in probes).
 */
export const TEMP_NAME_PATTERN = /^\.pcopy-(\d+)-(?:[0-9a-f]{6}([0-9a-z]*)|probe)-[0-9a-z]+(?:r\d+)?\.tmp$/;

/** root + '/' + rel without path.join's normalising: both are already clean (rel '' is the root itself). */
export function under(root: string, rel: string): string {
  return rel === '' ? root : root.endsWith('/') ? root + rel : `${root}/${rel}`;
}
