/**
 * One copy run: preflight, then scan → jobs → pool → events → result, all overlapping. Directories
 * are made by the parent as the scan meets them (`DestDirs`); files and symlinks go to the worker
 * pool; the run turns the pool's events into progress, entry events and the result.
 */
import path from 'node:path';
import { now } from './clock.js';
import { decode } from './byte-names.js';
import { copyPolicy, type CopyPolicy } from './copy-file.js';
import type { CopyEvent, CopyProgress, CopyResult, SkippedEntry } from './copy-result.js';
import { DestDirs, makeDirs, parentOf, removeStaleTemps, runTagFor } from './dest-dirs.js';
import { PhaseMarks, testDelayMs } from './diagnostics.js';
import { DESTINATION_FATAL_CODES, entryError, PcopyError, serializeError, type SerializedError } from './errors.js';
import { HardLinkGroups } from './hard-links.js';
import { resolveOptions, type CopyOptions } from './options.js';
import { WorkerPool } from './pool.js';
import { resolveTarget, type CopyTarget } from './preflight.js';
import type { CopyOutcome } from './protocol.js';
import { scanSource, type EntryType } from './scan.js';

export type { CopyEvent, CopyFailure, CopyProgress, CopyResult, SkippedEntry } from './copy-result.js';

export interface CopyRunOptions extends Partial<CopyOptions> {
  onEvent?: (event: CopyEvent) => void;
}

const PROGRESS_EVERY_MS = 100;
/** Files at least this big are copied one at a time by idle workers, so they spread over the pool. */
const BIG_FILE_BYTES = 8 * 1024 * 1024;
/** Files at least this big are copied in parts of PART_BYTES by several workers at once. */
const SPLIT_FILE_BYTES = 64 * 1024 * 1024;
const PART_BYTES = 32 * 1024 * 1024;

/**
 * Copies SRC to DEST (see `resolveTarget` for what that means). Refusals throw a `PcopyError` before
 * anything is written; per-entry failures are in the result, which also says if the run was interrupted.
 * A path given as a Buffer is taken as its exact bytes (a name that is not UTF-8). Paths in events and
 * in the result are strings in which each byte that is not UTF-8 is a lone surrogate U+DC80 + byte
 * (see byte-names.ts): `osPath` gives what to hand `node:fs`, `display` the escaped form for people.
 */
export async function copy(source: string | Buffer, destination: string | Buffer, options: CopyRunOptions = {}): Promise<CopyResult> {
  for (const p of [source, destination]) {
    if (typeof p !== 'string' && !Buffer.isBuffer(p)) throw new PcopyError('USAGE', 'source and destination must be strings or Buffers');
  }
  if (options.onEvent !== undefined && typeof options.onEvent !== 'function') throw new PcopyError('USAGE', 'invalid option onEvent: a function');
  const src = typeof source === 'string' ? source : decode(source);
  const dest = typeof destination === 'string' ? destination : decode(destination);
  const { onEvent, ...copyOptions } = options;
  const opts = resolveOptions(copyOptions);
  const target = resolveTarget(src, dest);
  return new CopyRun(target, opts, onEvent ?? (() => {})).run(src, dest);
}

const isRoot = process.getuid?.() === 0;

function currentUmask(): number {
  const mask = process.umask(0o022);
  process.umask(mask);
  return mask;
}

class CopyRun {
  private readonly started = now();
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
  /** Paths already reported as failed: a failure is reported once. */
  private readonly reported = new Set<string>();
  /** Aborts the scan and the pool from inside: the destination cannot take more. */
  private readonly stop = new AbortController();
  private readonly policy: CopyPolicy;
  private readonly pool: WorkerPool;
  private readonly dirs: DestDirs;
  private readonly srcRoot: string;
  private readonly destRoot: string;
  /** In every temp name: the pid tells a later run whether we are alive; the random part avoids reuse. */
  private readonly runTag = runTagFor(process.pid, Math.floor(Math.random() * 0xffffff));
  private readonly hardLinks: HardLinkGroups;
  /** Source directories that are DEST itself (mounted there): skipped, never walked. */
  private readonly notInto = new Set<string>();
  /** What the caller's event listener threw, if it did (see `emit`). */
  private listenerError: unknown;

  constructor(
    private readonly target: CopyTarget,
    private readonly opts: CopyOptions,
    private readonly onEvent: (event: CopyEvent) => void,
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
    this.dirs = new DestDirs(
      { srcRoot: this.srcRoot, destRoot: this.destRoot, policy: this.policy },
      {
        made: (rel, outcome) => this.emit({ type: 'entry-done', path: rel, kind: 'dir', outcome }),
        failed: (rel, error) => this.fail(rel, error, false),
        foundDestination: (rel) => {
          this.notInto.add(rel);
          this.skip(rel, 'destination');
        },
      },
    );
    // Parts need two workers to pay off; --verify hashes whole files, a dry run writes nothing.
    const splitFileBytes = opts.workers > 1 && !opts.verify && !opts.dryRun ? SPLIT_FILE_BYTES : Infinity;
    this.pool = new WorkerPool(
      {
        workers: opts.workers,
        // One worker to start with (the pool grows with the work), but one file that will be split
        // gets every worker at once.
        initialWorkers: target.kind === 'file' && target.size >= splitFileBytes ? opts.workers : 1,
        srcRoot: this.srcRoot,
        destRoot: this.destRoot,
        chunkSize: opts.chunkSize,
        runTag: this.runTag,
        policy: this.policy,
        bigFileBytes: BIG_FILE_BYTES,
        splitFileBytes,
        partBytes: PART_BYTES,
        delayMs: testDelayMs(),
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
    this.hardLinks = new HardLinkGroups(this.pool, this.srcRoot, this.destRoot, this.runTag, this.policy);
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
    const marks = new PhaseMarks();
    try {
      if (this.target.kind === 'tree') await this.scanTree();
      else this.addFile();
      marks.mark('scan done');
      this.progress.scanning = false;
      this.pool.finishInput();
      await this.pool.allJobsDone;
      // Interrupted or stopped by a full disk, the directories made so far still get their modes and
      // times (as cp and rsync give them), and those lent u+rwx their own back: a rerun that keeps
      // no modes would not correct them. On a read-only disk there is nothing to set.
      const finishDirs = (): void => {
        if (this.result.stoppedBy?.code !== 'EROFS' && !this.opts.dryRun) this.dirs.finish();
        marks.mark('directory metadata done');
      };
      // Every job done and nothing stopped: no worker will change an entry of DEST any more, so the
      // directories get their metadata while the workers exit (~7 ms on a tree of 2,000 files).
      // Otherwise once they have exited, having removed their temp files.
      const whileExiting = !this.stop.signal.aborted && !this.result.interrupted && !this.listenerError;
      if (whileExiting) {
        marks.mark('jobs done');
        finishDirs();
      }
      await this.pool.finished;
      if (this.listenerError) throw this.listenerError;
      marks.mark('workers exited');
      if (!whileExiting) finishDirs();
      marks.report();
    } catch (err) {
      // Whatever threw, no worker outlives the run (each removes its temp file as it goes), and the
      // directories made or lent u+rwx get their modes (as after an interruption), if not yet.
      await this.pool.abort();
      if (!this.opts.dryRun) this.dirs.finish();
      throw err;
    } finally {
      clearInterval(ticker);
      signal?.removeEventListener('abort', onAbort);
    }
    this.result.dirs = this.dirs.count;
    this.result.elapsedMs = now() - this.started;
    this.emitProgress();
    if (this.listenerError) throw this.listenerError;
    return { source: src, destination: dest, ...this.result };
  }

  private addFile(): void {
    const { destFile } = this.target as Extract<CopyTarget, { kind: 'file' }>;
    if (!this.opts.dryRun) {
      try {
        // An existing directory may hold the temp file of an earlier run killed while copying this file.
        if (!makeDirs(path.dirname(destFile), 0o777)) removeStaleTemps(path.dirname(destFile), (name) => name === path.basename(destFile));
      } catch (err) {
        return this.fail('', serializeError(err), false);
      }
    }
    this.addJob('file', '', false);
  }

  private async scanTree(): Promise<void> {
    try {
      this.dirs.makeRoot();
    } catch (err) {
      // DEST itself cannot be made: every entry would fail the same way, so fail once.
      return this.fail('', serializeError(err), false);
    }
    const { include, exclude, dereference, oneFileSystem } = this.opts;
    const signal = this.opts.signal ? AbortSignal.any([this.opts.signal, this.stop.signal]) : this.stop.signal;
    await scanSource(
      this.srcRoot,
      {
        entry: ({ rel, type, dir }) => this.onEntry(rel, type, dir ?? parentOf(rel)),
        error: (rel, error) => this.fail(rel, error, false),
        notDescended: (rel, reason) => this.skip(rel, reason),
      },
      { include, exclude, followLinks: dereference, oneFileSystem, destRoot: this.destRoot, notInto: (rel) => this.underDestination(rel), signal },
    );
  }

  /** An entry of the walk, in its directory `dir` (its parent's rel). */
  private onEntry(rel: string, type: EntryType, dir: string): void {
    if (this.result.stoppedBy) return;
    // With --include, a matching entry can come without its parent directories: they are made first.
    if (!this.dirs.parentReady(rel, dir)) {
      if (type === 'dir') this.dirs.markFailed(rel);
      return this.fail(rel, entryError.parentFailed(), false);
    }
    // (With --include the walk may reach entries of such a directory before the directory itself.)
    if (this.notInto.size > 0 && this.underDestination(dir)) return;
    switch (type) {
      case 'dir':
        return this.dirs.make(rel);
      case 'file':
      case 'link':
        return this.addJob(type, rel, this.dirs.isFresh(dir));
      default:
        this.skip(rel, type);
    }
  }

  /** `rel` is a source directory found to be DEST itself, or is below one. */
  private underDestination(rel: string): boolean {
    if (this.notInto.size === 0) return false;
    for (let p = rel; ; p = parentOf(p)) {
      if (this.notInto.has(p)) return true;
      if (p === '') return false;
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

  private onDone(id: number, outcome: CopyOutcome): void {
    this.hardLinks.done(id, outcome);
    const size = this.pool.size(id);
    const kind = this.pool.kind(id);
    this.progress.entriesDone++;
    if (kind === 'link' && !this.opts.dereference) this.result.symlinks++;
    else {
      this.result.bytes += size;
      if (outcome === 'copied') {
        this.result.filesCopied++;
        this.result.bytesCopied += size;
      } else if (outcome === 'same' || outcome === 'fixed') this.result.filesSame++;
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

  /**
   * Hands an event to the caller's listener. One that throws stops the run: the pool is aborted and
   * `copy` rejects with that error (an exception thrown into a worker's message handler would
   * otherwise crash the process, or with an uncaughtException handler leave the run unfinished).
   */
  private emit(event: CopyEvent): void {
    if (this.listenerError) return;
    try {
      this.onEvent(event);
    } catch (err) {
      this.listenerError = err;
      this.stop.abort();
      void this.pool.abort();
    }
  }

  private emitProgress(): void {
    const p = this.progress;
    p.elapsedMs = now() - this.started;
    p.totalsKnown = !p.scanning && p.entriesSized >= p.entriesFound;
    p.currentFile = this.pool.currentBigFile();
    p.dirs = this.dirs.count;
    this.emit({ type: 'progress', progress: { ...p } });
  }
}
