/**
 * The parent↔worker messages. Jobs travel as paths relative to the two roots that `init` set,
 * in batches; results come back batched too (one `progress` message per ~100 ms or per batch),
 * never one IPC round trip per file.
 */
import type { CopyPolicy } from './copy-file.js';
import type { SerializedError } from './errors.js';

/** What one job copies: a regular file (streamed) or a symlink (recreated with the same target text). */
export type JobKind = 'file' | 'link';

/** One entry to copy; `rel` is relative to both roots ('' when SRC itself is a file). */
export interface CopyJob {
  id: number;
  kind: JobKind;
  rel: string;
  /** 0 on the first try; a retry after a worker crash writes to a different temp name. */
  attempt: number;
  /** Its destination directory was created by this run: nothing can be in the way there. */
  fresh: boolean;
  /** -H: the first of its hard-link group; copy it even though it has several links. */
  linkLeader?: boolean;
}

/** Settings every worker gets once, before any job. */
export interface WorkerInit {
  type: 'init';
  srcRoot: string;
  destRoot: string;
  chunkSize: number;
  /** Part of every temp name: `<parent pid>-<random>`, so a later run can tell live temps from stale ones. */
  runTag: string;
  /** What to preserve, when to overwrite, dry run, verify, fsync, -L. */
  policy: CopyPolicy;
  /** Files at least this big are handed back to the parent's shared queue, so big files spread over workers. */
  bigFileBytes: number;
  /** Test-only: pause after each chunk (set through PCOPY_TEST_DELAY_MS, not a CLI option). */
  delayMs: number;
}

export type ParentMessage =
  | WorkerInit
  /** Jobs for this worker's own queue; it sizes them at once and reports with `sized`. */
  | { type: 'jobs'; jobs: CopyJob[] }
  /** A big file from the shared queue, given to a worker that reported itself idle. */
  | { type: 'shared'; job: CopyJob; size: number }
  /** A part of a huge file, given to a worker that reported itself idle (see RangeJob). */
  | { type: 'range'; range: RangeJob }
  /** No more jobs will come: exit once idle. */
  | { type: 'end' }
  /** Stop now: remove the temp file in hand and exit. */
  | { type: 'abort' };

/**
 * A part of a huge file: the parent made the temp file; several workers fill it at once with
 * positional reads and writes, and the parent renames it when every part is in.
 */
export interface RangeJob {
  /** The file's job id. */
  id: number;
  part: number;
  rel: string;
  /** The temp file's name, in the destination directory. */
  tmp: string;
  offset: number;
  length: number;
}

/** A failed entry; `id` refers to the job. */
export interface JobFailure {
  id: number;
  error: SerializedError;
}

export type WorkerMessage =
  /**
   * Sizes from an lstat of each job of a batch, flat `[id, bytes, id, bytes, …]`. Handed back, not
   * queued: `big` files (for the shared queue), and with -H files with several links (`dev:ino` keys).
   */
  | { type: 'sized'; sizes: number[]; big: number[]; links: Array<[id: number, key: string]> }
  /**
   * Completions since the last message. `bytes` is the increase of bytes done (streamed so far plus
   * the rest of each finished file: every finished job accounts exactly its sized bytes).
   */
  | {
      type: 'progress';
      bytes: number;
      copied: number[];
      same: number[];
      kept: number[];
      failed: JobFailure[];
      /** Parts of huge files written, as [id, part]. */
      ranges: Array<[id: number, part: number]>;
      rangesFailed: Array<JobFailure & { part: number }>;
      /** The big file in hand (id), so the bar can name it; -1 when none. */
      current: number;
      /** Nothing queued, nothing in hand: ready for a shared job. */
      idle: boolean;
    };

/** The temp name of a job, in its destination directory. Workers and the parent (crash clean-up) share it. */
export function tempName(runTag: string, id: number, attempt: number): string {
  return `.pcopy-${runTag}-${id.toString(36)}${attempt ? `r${attempt}` : ''}.tmp`;
}

/** Matches temp names of any run; group 1 is the pid of the run that made it. */
export const TEMP_NAME_PATTERN = /^\.pcopy-(\d+)-[0-9a-z]+-[0-9a-z]+(?:r\d+)?\.tmp$/;
