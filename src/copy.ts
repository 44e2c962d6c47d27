/**
 * One copy run: preflight, then scan → jobs → pool → events → result, all overlapping. The parent
 * makes directories itself as the scan meets them (so they exist before any job inside them, and a
 * directory is never created by two workers at once) and applies their metadata last, deepest first,
 * after their contents. Files and symlinks go to the worker pool.
 */
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { copyPolicy, type CopyOutcome, type CopyPolicy } from './copy-file.js';
import { DESTINATION_FATAL_CODES, entryError, serializeError, type SerializedError } from './errors.js';
import { fixPathMetadata, sourceStatOf, takesOwnGroup, targetMode, type SourceStat } from './metadata.js';
import { resolveOptions, type CopyOptions } from './options.js';
import { resolveTarget, type CopyTarget } from './plan.js';
import { WorkerPool } from './pool.js';
import { makeDirs, removeStaleTemps } from './dest-dirs.js';
import { HardLinkGroups } from './hard-links.js';
import { scanSource, type EntryType, type NotDescendedReason } from './scan.js';

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

export type EntryOutcome = CopyOutcome;

export type CopyEvent =
  /** About ten times a second, and once at the end. */
  | { type: 'progress'; progress: CopyProgress }
  | { type: 'entry-done'; path: string; kind: 'file' | 'link' | 'dir'; outcome: EntryOutcome }
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

export interface CopyRunOptions extends Partial<CopyOptions> {
  onEvent?: (event: CopyEvent) => void;
}

const PROGRESS_EVERY_MS = 100;
/** Files at least this big go through the shared queue so they spread over workers. */
const BIG_FILE_BYTES = 8 * 1024 * 1024;
/** Files at least this big are copied in parts of RANGE_BYTES by several workers at once. */
const SPLIT_FILE_BYTES = 64 * 1024 * 1024;
const RANGE_BYTES = 32 * 1024 * 1024;

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
  /** The metadata it gets at the end (the source's; its own for --ignore-existing). */
  st: SourceStat;
  /** Made by this run (with mode 0700 until the end), so its mode is always set. */
  created: boolean;
}

const isRoot = process.getuid?.() === 0;

function currentUmask(): number {
  const mask = process.umask(0o022);
  process.umask(mask);
  return mask;
}

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
  private readonly result: Omit<CopyResult, 'source' | 'destination'>;
  private readonly dirs: DirRecord[] = [];
  /** Relative paths of directories handled (made, merged or failed), for --include's parents. */
  private readonly knownDirs = new Set<string>(['']);
  private readonly failedDirs = new Set<string>();
  /** Directories (relative) that this run created: nothing can be in the way of their entries. */
  private readonly freshDirs = new Set<string>();
  private readonly reported = new Set<string>();
  /** Aborts the scan and the pool from inside: the destination cannot take more. */
  private readonly stop = new AbortController();
  private readonly policy: CopyPolicy;
  private readonly pool: WorkerPool;
  private readonly srcRoot: string;
  private readonly destRoot: string;
  /** In every temp name: the pid tells a later run whether we are alive; the random part avoids reuse. */
  private readonly runTag = `${process.pid}-${Math.floor(Math.random() * 0xffffff).toString(16).padStart(6, '0')}`;
  private readonly hardLinks: HardLinkGroups;

  constructor(
    private readonly target: CopyTarget,
    private readonly opts: CopyOptions,
    private readonly emit: (event: CopyEvent) => void,
  ) {
    this.srcRoot = target.kind === 'tree' ? target.srcRoot : target.srcFile;
    this.destRoot = target.kind === 'tree' ? target.destRoot : target.destFile;
    this.result = {
      dryRun: opts.dryRun,
      filesCopied: 0,
      filesSame: 0,
      filesKept: 0,
      symlinks: 0,
      dirs: 0,
      bytes: 0,
      bytesCopied: 0,
      failures: [],
      skipped: [],
      elapsedMs: 0,
      interrupted: false,
    };
    this.policy = copyPolicy(opts, isRoot, currentUmask());
    this.pool = new WorkerPool(
      {
        workers: opts.workers,
        // A tree gets every worker at once; one file only one, unless it is big enough to be split.
        initialWorkers: target.kind === 'tree' || fs.statSync(target.srcFile).size >= SPLIT_FILE_BYTES ? opts.workers : 1,
        srcRoot: this.srcRoot,
        destRoot: this.destRoot,
        chunkSize: opts.chunkSize,
        runTag: this.runTag,
        policy: this.policy,
        bigFileBytes: BIG_FILE_BYTES,
        // Parts need two workers to pay off; --verify hashes whole files, a dry run writes nothing.
        splitFileBytes: opts.workers > 1 && !opts.verify && !opts.dryRun ? SPLIT_FILE_BYTES : Infinity,
        rangeBytes: RANGE_BYTES,
        delayMs: Number(process.env.PCOPY_TEST_DELAY_MS) || 0,
      },
      {
        sized: (bytes, files) => {
          this.progress.bytesFound += bytes;
          this.progress.entriesSized += files;
        },
        bytes: (n) => (this.progress.bytesDone += n),
        done: (id, outcome) => this.onDone(id, outcome),
        failed: (id, error) => this.onFailed(id, error),
        hardLinked: (id, key) => this.hardLinks.handedBack(id, key),
        warn: (message) => this.emit({ type: 'warning', message }),
      },
    );
    this.hardLinks = new HardLinkGroups(this.pool, this.destRoot, this.runTag, opts.dryRun);
  }

  async run(src: string, dest: string): Promise<CopyResult> {
    const { signal } = this.opts;
    const onAbort = (): void => {
      this.result.interrupted = true;
      void this.pool.abort();
    };
    if (signal?.aborted) onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    const ticker = setInterval(() => this.emitProgress(), PROGRESS_EVERY_MS);
    const marks: Array<[string, number]> = [['run starts', this.started]];
    try {
      if (this.target.kind === 'tree') await this.scanTree();
      else this.addFile();
      marks.push(['scan done', performance.now()]);
      this.progress.scanning = false;
      this.pool.finishInput();
      await this.pool.finished;
      marks.push(['jobs done, workers exited', performance.now()]);
      if (!this.result.interrupted && !this.result.stoppedBy && !this.opts.dryRun) this.finishDirs();
      marks.push(['directory metadata done', performance.now()]);
      // Hidden diagnostics for the benchmark notes: where the time of a run goes.
      if (process.env.PCOPY_DEBUG_TIMING) {
        const { user, system } = process.cpuUsage();
        const maxRss = (process.resourceUsage().maxRSS / 1024).toFixed(0);
        process.stderr.write(
          `pcopy timing (ms since process start): ${marks.map(([what, t]) => `${what} ${t.toFixed(0)}`).join(', ')}; ` +
            `parent cpu user ${(user / 1000).toFixed(0)} ms, system ${(system / 1000).toFixed(0)} ms, max rss ${maxRss} MiB\n`,
        );
      }
    } finally {
      clearInterval(ticker);
      signal?.removeEventListener('abort', onAbort);
    }
    this.result.dirs = this.progress.dirs;
    this.result.elapsedMs = performance.now() - this.started;
    this.emitProgress();
    return { source: src, destination: dest, ...this.result };
  }

  private addFile(): void {
    const { destFile } = this.target as Extract<CopyTarget, { kind: 'file' }>;
    if (!this.opts.dryRun) {
      try {
        makeDirs(path.dirname(destFile), 0o777);
      } catch (err) {
        return this.fail('', serializeError(err), false);
      }
    }
    this.addJob('file', '', false);
  }

  private async scanTree(): Promise<void> {
    const rootStat = sourceStatOf(fs.statSync(this.srcRoot, { bigint: true }));
    try {
      if (this.opts.dryRun) {
        this.progress.dirs++;
      } else {
        const made = makeDirs(this.destRoot, 0o700);
        this.enterDir(this.destRoot, rootStat, !made);
        if (made && takesOwnGroup(this.destRoot)) this.freshDirs.add('');
      }
    } catch (err) {
      // DEST itself cannot be made: every entry would fail the same way, so fail once.
      this.fail('', serializeError(err), false);
      return;
    }
    const { include, exclude, dereference, oneFileSystem } = this.opts;
    const signal = this.opts.signal ? AbortSignal.any([this.opts.signal, this.stop.signal]) : this.stop.signal;
    await scanSource(
      this.srcRoot,
      {
        entry: ({ rel, type }) => this.onEntry(rel, type),
        error: (rel, error) => this.fail(rel, error, false),
        notDescended: (rel, reason) => this.skip(rel, reason),
      },
      { include, exclude, followLinks: dereference, oneFileSystem, destRoot: this.destRoot, signal },
    );
  }

  private onEntry(rel: string, type: EntryType): void {
    if (this.result.stoppedBy) return;
    const parent = parentOf(rel);
    // With --include, a matching entry can come without its parent directories: make them first.
    if (!this.knownDirs.has(parent)) this.makeDir(parent);
    if (this.failedDirs.has(parent)) {
      if (type === 'dir') {
        this.failedDirs.add(rel);
        this.knownDirs.add(rel);
      }
      return this.fail(rel, entryError.parentFailed(), false);
    }
    switch (type) {
      case 'dir':
        return this.makeDir(rel);
      case 'file':
      case 'link':
        return this.addJob(type, rel, this.freshDirs.has(parent));
      default:
        this.skip(rel, type);
    }
  }

  private skip(rel: string, reason: SkippedEntry['reason']): void {
    const entry = { path: rel, reason };
    this.result.skipped.push(entry);
    this.emit({ type: 'skipped', entry });
  }

  private addJob(kind: 'file' | 'link', rel: string, fresh: boolean): void {
    this.pool.add(kind, rel, fresh);
    this.progress.entriesFound++;
  }

  /**
   * Makes DEST/rel as a real directory, owner-writable until its final mode is set at the end.
   * Whatever is in the way and is not a directory (a file, a symlink, even a dangling one) is replaced,
   * never followed. In a dry run it only counts.
   */
  private makeDir(rel: string): void {
    if (this.knownDirs.has(rel)) return;
    const parent = parentOf(rel);
    if (!this.knownDirs.has(parent)) this.makeDir(parent);
    this.knownDirs.add(rel);
    if (this.failedDirs.has(parent)) {
      this.failedDirs.add(rel);
      return this.fail(rel, entryError.parentFailed(), false);
    }
    const dest = path.join(this.destRoot, rel);
    const src = path.join(this.srcRoot, rel);
    try {
      const st = sourceStatOf(this.opts.dereference ? fs.statSync(src, { bigint: true }) : fs.lstatSync(src, { bigint: true }));
      if (this.opts.dryRun) {
        this.progress.dirs++;
        const existed = fs.lstatSync(dest, { throwIfNoEntry: false })?.isDirectory() ?? false;
        this.emit({ type: 'entry-done', path: rel, kind: 'dir', outcome: existed ? 'same' : 'copied' });
        return;
      }
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
      if (!existed && takesOwnGroup(dest)) this.freshDirs.add(rel);
      this.emit({ type: 'entry-done', path: rel, kind: 'dir', outcome: existed ? 'same' : 'copied' });
    } catch (err) {
      this.failedDirs.add(rel);
      const e = err as NodeJS.ErrnoException;
      this.fail(rel, e.code === 'ENOENT' && e.path === src ? entryError.vanished() : serializeError(err), false);
    }
  }

  /** Records a directory for its final metadata; in one that existed before, removes stale temps of dead runs. */
  private enterDir(dest: string, st: SourceStat, existed: boolean): void {
    this.progress.dirs++;
    if (!existed) {
      this.dirs.push({ dest, st, created: true });
      return;
    }
    const have = fs.lstatSync(dest, { bigint: true });
    // --ignore-existing never touches an existing entry: the directory gets its own mode and times back.
    this.dirs.push({ dest, st: this.opts.overwrite === 'never' ? sourceStatOf(have) : st, created: false });
    // A read-only directory left by an earlier run must take new files until its mode is set again.
    const mode = Number(have.mode);
    if (!isRoot && (mode & 0o700) !== 0o700) fs.chmodSync(dest, mode | 0o700);
    removeStaleTemps(dest);
  }

  private onDone(id: number, outcome: CopyOutcome): void {
    this.hardLinks.done(id);
    const size = this.pool.size(id);
    const kind = this.pool.kind(id);
    this.progress.entriesDone++;
    if (kind === 'link' && !this.opts.dereference) this.result.symlinks++;
    else {
      this.result.bytes += size;
      if (outcome === 'copied') {
        this.result.filesCopied++;
        this.result.bytesCopied += size;
      } else if (outcome === 'same') this.result.filesSame++;
      else this.result.filesKept++;
    }
    this.emit({ type: 'entry-done', path: this.pool.rel(id), kind: this.opts.dereference ? 'file' : kind, outcome });
  }

  private onFailed(id: number, error: SerializedError): void {
    this.fail(this.pool.rel(id), error, true);
    this.hardLinks.failed(id);
  }

  /**
   * A failed entry: counted, reported once. `isJob` entries also count as done for the bar. The first
   * failure that concerns the whole destination (out of space, read-only) stops the run; the same
   * failure of other entries in flight then is not reported again.
   */
  private fail(rel: string, error: SerializedError, isJob: boolean): void {
    if (isJob) this.progress.entriesDone++;
    if (DESTINATION_FATAL_CODES.has(error.code)) {
      if (this.result.stoppedBy) return;
      this.result.stoppedBy = error;
      this.stop.abort();
      void this.pool.abort();
    }
    if (this.reported.has(rel)) return;
    this.reported.add(rel);
    const failure = { path: rel, error };
    this.result.failures.push(failure);
    this.emit({ type: 'failed', failure });
  }

  /** Owner, mode and times of every directory, deepest first (a child's creation changes its parent's mtime). */
  private finishDirs(): void {
    for (let i = this.dirs.length - 1; i >= 0; i--) {
      const { dest, st, created } = this.dirs[i]!;
      try {
        const have = fs.lstatSync(dest, { bigint: true });
        fixPathMetadata(dest, have, st, this.policy);
        if (created && !this.policy.mode) fs.chmodSync(dest, targetMode(st, this.policy, Number(have.mode)));
      } catch (err) {
        this.fail(path.relative(this.destRoot, dest), serializeError(err), false);
      }
    }
  }

  private emitProgress(): void {
    const p = this.progress;
    p.elapsedMs = performance.now() - this.started;
    p.totalsKnown = !p.scanning && p.entriesSized >= p.entriesFound;
    p.currentFile = this.pool.currentBigFile();
    this.emit({ type: 'progress', progress: { ...p } });
  }
}

/** `a/b/c` → `a/b`, `a` → '' (the root): relative paths from the scan are already clean. */
function parentOf(rel: string): string {
  const slash = rel.lastIndexOf('/');
  return slash < 0 ? '' : rel.slice(0, slash);
}
