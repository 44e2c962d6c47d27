/**
 * One copy run: preflight, then scan → jobs → pool → events → result, all overlapping. The parent
 * makes directories itself as the scan meets them (so they exist before any job inside them, and a
 * directory is never created by two workers at once) and applies their metadata last, deepest first,
 * after their contents. Files and symlinks go to the worker pool.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { entryError, serializeError, type SerializedError } from './errors.js';
import { fixPathMetadata, sourceStatOf, type SourceStat } from './metadata.js';
import { resolveOptions, type CopyOptions } from './options.js';
import { resolveTarget, type CopyTarget } from './plan.js';
import { WorkerPool } from './pool.js';
import { TEMP_NAME_PATTERN } from './protocol.js';
import { scanSource, type EntryType } from './scan.js';

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
}

export interface CopyFailure {
  /** Path relative to SRC ('' for SRC itself). */
  path: string;
  error: SerializedError;
}

export interface SkippedEntry {
  path: string;
  type: EntryType;
}

export type CopyEvent =
  | { type: 'progress'; progress: CopyProgress }
  | { type: 'entry-done'; path: string; outcome: 'copied' | 'same' }
  | { type: 'failed'; failure: CopyFailure }
  | { type: 'skipped'; entry: SkippedEntry }
  | { type: 'warning'; message: string };

export interface CopyResult {
  source: string;
  destination: string;
  filesCopied: number;
  /** Files left alone because size and mtime already matched (rsync's quick check). */
  filesSame: number;
  symlinks: number;
  dirs: number;
  /** Bytes of all files handled (copied or already identical). */
  bytes: number;
  /** Bytes actually written. */
  bytesCopied: number;
  failures: CopyFailure[];
  skipped: SkippedEntry[];
  elapsedMs: number;
  interrupted: boolean;
}

export interface CopyRunOptions extends Partial<CopyOptions> {
  onEvent?: (event: CopyEvent) => void;
}

const PROGRESS_EVERY_MS = 100;
const BIG_FILE_BYTES = 8 * 1024 * 1024;

/**
 * Copies SRC to DEST (see `resolveTarget` for what that means). Refusals throw a `PcopyError` before
 * anything is written; per-entry failures are in the result, which also says if the run was interrupted.
 */
export async function copy(src: string, dest: string, options: CopyRunOptions = {}): Promise<CopyResult> {
  const opts = resolveOptions(options);
  const target = resolveTarget(src, dest);
  return new CopyRun(target, opts, options.onEvent ?? (() => {})).run(src, dest);
}

interface DirRecord {
  dest: string;
  st: SourceStat;
}

const isRoot = process.getuid?.() === 0;

class CopyRun {
  private readonly started = performance.now();
  private readonly progress: CopyProgress = {
    scanning: true,
    totalsKnown: false,
    entriesFound: 0,
    entriesSized: 0,
    bytesFound: 0,
    entriesDone: 0,
    bytesDone: 0,
    dirs: 0,
    elapsedMs: 0,
  };
  private readonly result: Omit<CopyResult, 'source' | 'destination'> = {
    filesCopied: 0,
    filesSame: 0,
    symlinks: 0,
    dirs: 0,
    bytes: 0,
    bytesCopied: 0,
    failures: [],
    skipped: [],
    elapsedMs: 0,
    interrupted: false,
  };
  private readonly dirs: DirRecord[] = [];
  private readonly failedDirs = new Set<string>();
  private readonly reported = new Set<string>();
  private readonly pool: WorkerPool;
  private readonly srcRoot: string;
  private readonly destRoot: string;

  constructor(
    private readonly target: CopyTarget,
    private readonly opts: CopyOptions,
    private readonly emit: (event: CopyEvent) => void,
  ) {
    this.srcRoot = target.kind === 'tree' ? target.srcRoot : target.srcFile;
    this.destRoot = target.kind === 'tree' ? target.destRoot : target.destFile;
    this.pool = new WorkerPool(
      {
        workers: opts.workers,
        srcRoot: this.srcRoot,
        destRoot: this.destRoot,
        chunkSize: opts.chunkSize,
        runTag: `${process.pid}-${randomBytes(3).toString('hex')}`,
        preserveOwner: isRoot,
        bigFileBytes: BIG_FILE_BYTES,
        delayMs: Number(process.env.PCOPY_TEST_DELAY_MS) || 0,
      },
      {
        sized: (bytes, files) => {
          this.progress.bytesFound += bytes;
          this.progress.entriesSized += files;
        },
        bytes: (n) => (this.progress.bytesDone += n),
        done: (id, outcome) => this.onDone(id, outcome),
        failed: (id, error) => this.fail(this.pool.rel(id), error, true),
        warn: (message) => this.emit({ type: 'warning', message }),
      },
    );
  }

  async run(src: string, dest: string): Promise<CopyResult> {
    const { signal } = this.opts;
    const onAbort = (): void => {
      this.result.interrupted = true;
      void this.pool.abort();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const ticker = setInterval(() => this.emitProgress(), PROGRESS_EVERY_MS);
    try {
      if (this.target.kind === 'tree') await this.scanTree();
      else this.addFile();
      this.progress.scanning = false;
      this.pool.finishInput();
      await this.pool.finished;
      if (!this.result.interrupted) this.finishDirs();
    } finally {
      clearInterval(ticker);
      signal?.removeEventListener('abort', onAbort);
    }
    this.result.elapsedMs = performance.now() - this.started;
    this.emitProgress();
    return { source: src, destination: dest, ...this.result };
  }

  private addFile(): void {
    const { destFile } = this.target as Extract<CopyTarget, { kind: 'file' }>;
    try {
      fs.mkdirSync(path.dirname(destFile), { recursive: true });
    } catch (err) {
      return this.fail('', serializeError(err), false);
    }
    this.addJob('file', '');
  }

  private async scanTree(): Promise<void> {
    const rootStat = fs.statSync(this.srcRoot, { bigint: true });
    try {
      const made = fs.mkdirSync(this.destRoot, { recursive: true, mode: 0o700 });
      this.enterDir(this.destRoot, sourceStatOf(rootStat), made === undefined);
    } catch (err) {
      // DEST itself cannot be made: every entry would fail the same way, so fail once.
      this.fail('', serializeError(err), false);
      return;
    }
    await scanSource(
      this.srcRoot,
      {
        entry: ({ rel, type }) => this.onEntry(rel, type),
        error: (rel, error) => this.fail(rel, error, false),
      },
      this.opts.signal,
    );
  }

  private onEntry(rel: string, type: EntryType): void {
    const parent = path.dirname(rel);
    if (parent !== '.' && this.failedDirs.has(parent)) {
      if (type === 'dir') this.failedDirs.add(rel);
      return this.fail(rel, entryError.parentFailed(), false);
    }
    switch (type) {
      case 'dir':
        return this.makeDir(rel);
      case 'file':
      case 'link':
        return this.addJob(type, rel);
      default:
        this.result.skipped.push({ path: rel, type });
        this.emit({ type: 'skipped', entry: { path: rel, type } });
    }
  }

  private addJob(kind: 'file' | 'link', rel: string): void {
    const id = this.pool.add(kind, rel);
    this.progress.entriesFound++;
  }

  /**
   * Makes DEST/rel as a real directory, owner-writable until its final mode is set at the end.
   * Whatever is in the way and is not a directory (a file, a symlink, even a dangling one) is replaced,
   * never followed.
   */
  private makeDir(rel: string): void {
    const dest = path.join(this.destRoot, rel);
    try {
      const st = sourceStatOf(fs.lstatSync(path.join(this.srcRoot, rel), { bigint: true }));
      let existed = false;
      try {
        fs.mkdirSync(dest, 0o700);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        existed = fs.lstatSync(dest).isDirectory();
        if (!existed) {
          fs.unlinkSync(dest);
          fs.mkdirSync(dest, 0o700);
        }
      }
      this.enterDir(dest, st, existed);
    } catch (err) {
      this.failedDirs.add(rel);
      const e = err as NodeJS.ErrnoException;
      const error = e.code === 'ENOENT' && e.path === path.join(this.srcRoot, rel) ? entryError.vanished() : serializeError(err);
      this.fail(rel, error, false);
    }
  }

  /** Records a directory for its final metadata; in one that existed before, removes stale temps of dead runs. */
  private enterDir(dest: string, st: SourceStat, existed: boolean): void {
    this.dirs.push({ dest, st });
    this.progress.dirs++;
    if (!existed) return;
    const have = fs.lstatSync(dest);
    // A read-only directory left by an earlier run must take new files until its mode is set again.
    if (!isRoot && (have.mode & 0o700) !== 0o700) fs.chmodSync(dest, have.mode | 0o700);
    removeStaleTemps(dest);
  }

  private onDone(id: number, outcome: 'copied' | 'same'): void {
    const size = this.pool.size(id);
    this.progress.entriesDone++;
    if (this.pool.kind(id) === 'link') this.result.symlinks++;
    else {
      this.result.bytes += size;
      if (outcome === 'copied') {
        this.result.filesCopied++;
        this.result.bytesCopied += size;
      } else this.result.filesSame++;
    }
    this.emit({ type: 'entry-done', path: this.pool.rel(id), outcome });
  }

  /** A failed entry: counted, reported once. `isJob` entries also count as done for the bar. */
  private fail(rel: string, error: SerializedError, isJob: boolean): void {
    if (isJob) this.progress.entriesDone++;
    if (this.reported.has(rel)) return;
    this.reported.add(rel);
    const failure = { path: rel, error };
    this.result.failures.push(failure);
    this.emit({ type: 'failed', failure });
  }

  /** Owner, mode and times of every directory, deepest first (a child's creation changes its parent's mtime). */
  private finishDirs(): void {
    for (let i = this.dirs.length - 1; i >= 0; i--) {
      const { dest, st } = this.dirs[i]!;
      try {
        fixPathMetadata(dest, fs.lstatSync(dest, { bigint: true }), st, isRoot);
      } catch (err) {
        this.fail(path.relative(this.destRoot, dest), serializeError(err), false);
      }
    }
    this.result.dirs = this.dirs.length;
  }

  private emitProgress(): void {
    const p = this.progress;
    p.elapsedMs = performance.now() - this.started;
    p.totalsKnown = !p.scanning && p.entriesSized >= p.entriesFound;
    this.emit({ type: 'progress', progress: { ...p } });
  }
}

/** Removes temp files left in `dir` by pcopy runs whose process is gone (never those of a live run). */
function removeStaleTemps(dir: string): void {
  for (const name of fs.readdirSync(dir)) {
    const m = TEMP_NAME_PATTERN.exec(name);
    if (m && !isAlive(Number(m[1]))) {
      try {
        fs.unlinkSync(path.join(dir, name));
      } catch {
        // raced with another cleaner: fine
      }
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
