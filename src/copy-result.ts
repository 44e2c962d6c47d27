/** What a copy run tells its caller: live progress, events as they happen, and the result. */
import type { SerializedError } from './errors.js';
import type { CopyOutcome } from './protocol.js';
import type { EntryType, NotDescendedReason } from './scan.js';

/** Live counters of a run; `totalsKnown` once the scan has ended and every file has been sized. */
export interface CopyProgress {
  scanning: boolean;
  totalsKnown: boolean;
  /** Files and symlinks found so far. */
  entriesFound: number;
  entriesSized: number;
  bytesFound: number;
  entriesDone: number;
  bytesDone: number;
  dirs: number;
  elapsedMs: number;
  /** A big file being copied right now, if any. */
  currentFile?: string;
}

export interface CopyFailure {
  /** Path relative to SRC ('' for SRC itself). */
  path: string;
  error: SerializedError;
}

/** An entry not copied on purpose: a special file, or a directory not walked into (-L loop, -x). */
export interface SkippedEntry {
  path: string;
  reason: Exclude<EntryType, 'dir' | 'file' | 'link'> | NotDescendedReason;
}

export type CopyEvent =
  /** About ten times a second, and once at the end. */
  | { type: 'progress'; progress: CopyProgress }
  | { type: 'entry-done'; path: string; kind: 'file' | 'link' | 'dir'; outcome: CopyOutcome }
  | { type: 'failed'; failure: CopyFailure }
  | { type: 'skipped'; entry: SkippedEntry }
  | { type: 'warning'; message: string };

export interface CopyResult {
  source: string;
  destination: string;
  dryRun: boolean;
  /** Files written (in a dry run: that would be written). */
  filesCopied: number;
  /** Files left alone because size and mtime already matched (rsync's quick check). */
  filesSame: number;
  /** Existing files left alone by --ignore-existing or --update. */
  filesKept: number;
  symlinks: number;
  dirs: number;
  /** Bytes of all files handled (copied, identical or kept). */
  bytes: number;
  /** Bytes written (in a dry run: that would be written). */
  bytesCopied: number;
  failures: CopyFailure[];
  skipped: SkippedEntry[];
  elapsedMs: number;
  interrupted: boolean;
  /** Set when copying stopped early because the destination cannot take more (ENOSPC, EDQUOT, EROFS). */
  stoppedBy?: SerializedError;
}
