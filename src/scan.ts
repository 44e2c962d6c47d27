/**
 * Walks the source with fast-glob and hands every entry to the caller as it is found, so copying can
 * start before the walk ends. Nothing is dropped silently: fast-glob would either abort the whole walk
 * on an unreadable directory or (with suppressErrors) skip it without a word, so its `readdir` is
 * wrapped to record each failure and carry on. Types come from the directory entries (no stat here:
 * with `stats: true` one odd name or vanished file empties its whole directory's listing).
 */
import fs from 'node:fs';
import path from 'node:path';
import fg from 'fast-glob';
import { entryError, serializeError, type SerializedError } from './errors.js';

export type EntryType = 'dir' | 'file' | 'link' | 'fifo' | 'socket' | 'char-device' | 'block-device' | 'unknown';

export interface ScanEntry {
  /** Path relative to the source root, `/`-separated. */
  rel: string;
  type: EntryType;
}

export interface ScanHandlers {
  entry(entry: ScanEntry): void;
  /** An entry that could not be listed or read; `rel` is relative to the source root. */
  error(rel: string, error: SerializedError): void;
}

/** Walks `root` (a directory). Resolves when the walk ends or `signal` aborts it. */
export function scanSource(root: string, handlers: ScanHandlers, signal?: AbortSignal): Promise<void> {
  const reported = new Set<string>();
  const readdir = ((dir: string, options: unknown, callback: (err: Error | null, entries: fs.Dirent[]) => void) => {
    fs.readdir(dir, options as { withFileTypes: true }, (err, entries) => {
      if (err) {
        const rel = path.relative(root, dir);
        if (!reported.has(rel)) handlers.error(rel, err.code === 'ENOENT' ? entryError.vanished() : serializeError(err));
        callback(null, []);
        return;
      }
      callback(null, entries);
    });
  }) as unknown as typeof fs.readdir;

  const stream = fg.stream('**', {
    cwd: root,
    dot: true,
    onlyFiles: false,
    followSymbolicLinks: false,
    objectMode: true,
    unique: false,
    fs: { readdir },
  }) as unknown as NodeJS.ReadableStream & { destroy(): void };

  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      stream.destroy();
      resolve();
    };
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    stream.on('data', (e: fg.Entry) => {
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
