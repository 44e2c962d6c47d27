/**
 * Walks the source with fast-glob and hands every entry to the caller as it is found, so copying can
 * start before the walk ends. Nothing is dropped silently: fast-glob would either abort the whole walk
 * on an unreadable directory or (with suppressErrors) skip it without a word, so its `readdir` is
 * wrapped to record each failure and carry on. Types come from the directory entries (no stat here:
 * with `stats: true` one odd name or vanished file empties its whole directory's listing).
 *
 * The same wrapper guards the walk when it follows symlinks (-L): a directory whose device and inode
 * equal one of its ancestors' (a loop) or DEST's (a link into the copy) is not descended into, and
 * with -x neither is a directory on another file system.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type fastGlob from 'fast-glob';
import { entryError, serializeError, type SerializedError } from './errors.js';

export type EntryType = 'dir' | 'file' | 'link' | 'fifo' | 'socket' | 'char-device' | 'block-device' | 'unknown';

/** Why a directory's contents were not walked (the directory itself is still copied). */
export type NotDescendedReason = 'loop' | 'other-file-system' | 'destination';

export interface ScanEntry {
  /** Path relative to the source root, `/`-separated. */
  rel: string;
  type: EntryType;
}

export interface ScanOptions {
  /** fast-glob patterns (see `toGlob`); empty means everything. */
  include: string[];
  exclude: string[];
  followLinks: boolean;
  oneFileSystem: boolean;
  /** Real path of DEST: when following links, never walk into it. */
  destRoot?: string;
  signal?: AbortSignal;
}

export interface ScanHandlers {
  entry(entry: ScanEntry): void;
  /** An entry that could not be listed or read; `rel` is relative to the source root. */
  error(rel: string, error: SerializedError): void;
  notDescended(rel: string, reason: NotDescendedReason): void;
}

/**
 * A user's pattern as a fast-glob pattern relative to SRC, the way rsync users expect it: a pattern
 * without a slash matches a name at any depth (`*.log` → `**\/*.log`); one with a slash, or starting
 * with `/`, is anchored at SRC (`/build` and `build/out` match only there); a trailing slash is dropped.
 */
export function toGlob(pattern: string): string {
  let p = pattern.trim();
  const anchored = p.startsWith('/');
  p = p.replace(/^\/+/, '').replace(/\/+$/, '');
  return anchored || p.includes('/') ? p : `**/${p}`;
}

/** Walks `root` (a directory). Resolves when the walk ends or the signal aborts it. */
export function scanSource(root: string, handlers: ScanHandlers, options: ScanOptions): Promise<void> {
  const reported = new Set<string>();
  const guard = makeGuard(root, handlers, options);
  /**
   * fast-glob matches paths with regular expressions whose `.` does not match a line break, so it
   * silently drops every name with one (and never walks into such a directory). Those entries are
   * taken out of its listing here and walked by us instead. No pattern can match them, so with
   * --include they are not copied.
   */
  const withoutLineBreaks = (dir: string, entries: fs.Dirent[]): fs.Dirent[] => {
    if (!entries.some((d) => LINE_BREAK.test(d.name))) return entries;
    if (options.include.length === 0) {
      for (const d of entries) if (LINE_BREAK.test(d.name)) walkBypassed(path.relative(root, path.join(dir, d.name)), d);
    }
    return entries.filter((d) => !LINE_BREAK.test(d.name));
  };
  const walkBypassed = (rel: string, d: fs.Dirent): void => {
    handlers.entry({ rel, type: typeOf(d) });
    if (!d.isDirectory()) return;
    let children: fs.Dirent[];
    try {
      children = fs.readdirSync(path.join(root, rel), { withFileTypes: true });
    } catch (err) {
      handlers.error(rel, serializeError(err));
      return;
    }
    for (const child of children) walkBypassed(path.join(rel, child.name), child);
  };
  const readdir = ((dir: string, opts: unknown, callback: (err: Error | null, entries: fs.Dirent[]) => void) => {
    const list = (): void =>
      fs.readdir(dir, opts as { withFileTypes: true }, (err, entries) => {
        if (err) {
          const rel = path.relative(root, dir);
          if (!reported.has(rel)) handlers.error(rel, err.code === 'ENOENT' ? entryError.vanished() : serializeError(err));
          callback(null, []);
          return;
        }
        callback(null, withoutLineBreaks(dir, entries));
      });
    if (!guard) return list();
    guard(dir, (descend) => (descend ? list() : callback(null, [])));
  }) as unknown as typeof fs.readdir;

  // Loaded here rather than at start-up, so the workers are forked ~20 ms sooner.
  const fg = createRequire(import.meta.url)('fast-glob') as typeof fastGlob;
  const patterns = options.include.length > 0 ? options.include.map(toGlob) : ['**'];
  const stream = fg.stream(patterns, {
    cwd: root,
    dot: true,
    onlyFiles: false,
    followSymbolicLinks: options.followLinks,
    objectMode: true,
    unique: false,
    ignore: options.exclude.map(toGlob),
    fs: { readdir },
  }) as unknown as NodeJS.ReadableStream & { destroy(): void };

  const { signal } = options;
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      stream.destroy();
      resolve();
    };
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    stream.on('data', (e: fastGlob.Entry) => {
      const rel = e.path;
      // A name that is not valid UTF-8 reaches us with U+FFFD in it and cannot be opened by that name.
      if (e.name.includes('\uFFFD') && !fs.lstatSync(path.join(root, rel), { throwIfNoEntry: false })) {
        reported.add(rel);
        handlers.error(rel, entryError.notUtf8());
        return;
      }
      handlers.entry({ rel, type: typeOf(e.dirent as unknown as fs.Dirent) });
    });
    stream.on('error', (err) => {
      signal?.removeEventListener('abort', onAbort);
      reject(err);
    });
    stream.on('end', () => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    });
  });
}

/** Line terminators, which `.` in a JavaScript regular expression does not match. */
const LINE_BREAK = /[\n\r\u2028\u2029]/;

type Guard = (dir: string, done: (descend: boolean) => void) => void;

/** With -L or -x: decides per directory, from one stat, whether the walk may go in. */
function makeGuard(root: string, handlers: ScanHandlers, options: ScanOptions): Guard | undefined {
  if (!options.followLinks && !options.oneFileSystem) return undefined;
  const rootDev = fs.statSync(root).dev;
  const destId = options.destRoot ? idOf(fs.statSync(options.destRoot, { throwIfNoEntry: false })) : undefined;
  const ids = new Map<string, string>();
  return (dir, done) => {
    fs.stat(dir, (err, st) => {
      if (err) return done(true); // readdir reports it
      const rel = path.relative(root, dir);
      const id = idOf(st)!;
      let reason: NotDescendedReason | undefined;
      if (options.oneFileSystem && st.dev !== rootDev) reason = 'other-file-system';
      else if (options.followLinks && id === destId) reason = 'destination';
      else if (options.followLinks) {
        for (let p = dir; p.length > root.length; ) {
          p = path.dirname(p);
          if (ids.get(p) === id) reason = 'loop';
        }
      }
      if (reason) {
        handlers.notDescended(rel, reason);
        return done(false);
      }
      ids.set(dir, id);
      done(true);
    });
  };
}

function idOf(st: fs.Stats | undefined): string | undefined {
  return st ? `${st.dev}:${st.ino}` : undefined;
}

function typeOf(d: fs.Dirent | undefined): EntryType {
  if (!d) return 'unknown';
  if (d.isDirectory()) return 'dir';
  if (d.isFile()) return 'file';
  if (d.isSymbolicLink()) return 'link';
  if (d.isFIFO()) return 'fifo';
  if (d.isSocket()) return 'socket';
  if (d.isCharacterDevice()) return 'char-device';
  if (d.isBlockDevice()) return 'block-device';
  return 'unknown';
}
