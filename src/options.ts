/**
 * Options of a copy and the value parsers the CLI uses for them.
 * Parsers throw `PcopyError('USAGE', …)` so every bad value becomes exit 2 with one line.
 */
import { availableParallelism } from 'node:os';
import { PcopyError } from './errors.js';
import { makePathFilter } from './patterns.js';

export const MIN_CHUNK = 1024;
export const MAX_CHUNK = 64 * 1024;
/** Measured on 2 cores (see README benchmark): more workers than cores only adds scheduling. */
export const MAX_DEFAULT_WORKERS = 4;

/** When an existing destination file is replaced (rsync's words and flags). */
export type OverwriteMode =
  /** Default: skip when size and mtime match (rsync's quick check). */
  | 'quick-check'
  /** `-I, --ignore-times`: copy even when size and mtime match. */
  | 'always'
  /** `--ignore-existing`: never touch an existing destination entry. */
  | 'never'
  /** `-u, --update`: keep a destination file that is newer than the source. */
  | 'update';

/** Which metadata a copy keeps. Owner is only ever set when running as root. */
export interface Preserve {
  mode: boolean;
  times: boolean;
  owner: boolean;
}
export type PreserveKey = keyof Preserve;
export const PRESERVE_ALL: Preserve = { mode: true, times: true, owner: true };
export const PRESERVE_NONE: Preserve = { mode: false, times: false, owner: false };

/** Options of one copy; every field has a default (see `resolveOptions`). */
export interface CopyOptions {
  /** Number of forked workers. */
  workers: number;
  /** Bytes per read/write, 1 KiB to 64 KiB. */
  chunkSize: number;
  overwrite: OverwriteMode;
  /** Times this many seconds apart count as equal (FAT keeps 2-second times). */
  modifyWindow: number;
  /** fast-glob patterns relative to SRC; a pattern without a slash matches a name at any depth. */
  exclude: string[];
  /** When given, only entries matching one of these are copied (with the directories that hold them). */
  include: string[];
  /** `-L`: copy what symlinks point to instead of the links. */
  dereference: boolean;
  /** `-x`: do not descend into directories on other file systems. */
  oneFileSystem: boolean;
  /** `-H`: files hard-linked together in SRC are hard-linked together in DEST. */
  hardLinks: boolean;
  preserve: Preserve;
  /** Flush each file to disk before its rename. */
  fsync: boolean;
  /** Decide everything, write nothing. */
  dryRun: boolean;
  /** Re-read source and copy after each file and compare hashes before the rename. */
  verify: boolean;
  /** Stops the copy: workers remove their temp files, the result says `interrupted`. */
  signal?: AbortSignal;
}

export function defaultWorkers(): number {
  return Math.max(1, Math.min(availableParallelism(), MAX_DEFAULT_WORKERS));
}

/** Fills in defaults and checks values and combinations; throws `PcopyError('USAGE')`. */
export function resolveOptions(partial: Partial<CopyOptions> = {}): CopyOptions {
  const opts: CopyOptions = {
    workers: defaultWorkers(),
    chunkSize: MAX_CHUNK,
    overwrite: 'quick-check',
    modifyWindow: 0,
    exclude: [],
    include: [],
    dereference: false,
    oneFileSystem: false,
    hardLinks: false,
    preserve: PRESERVE_ALL,
    fsync: false,
    dryRun: false,
    verify: false,
    ...stripUndefined(partial),
  };
  checkTypes(opts);
  checkPatterns(opts);
  checkWorkers(opts.workers);
  checkChunk(opts.chunkSize);
  if (!(opts.modifyWindow >= 0)) throw new PcopyError('USAGE', `invalid modify window '${opts.modifyWindow}': use seconds, 0 or more`);
  return opts;
}

/** Patterns are compiled once here, so one that cannot be is refused before anything is written. */
function checkPatterns(opts: CopyOptions): void {
  try {
    makePathFilter(opts.include, opts.exclude);
  } catch (err) {
    throw new PcopyError('USAGE', `invalid pattern: ${err instanceof Error ? err.message : String(err)}`);
  }
}

const OVERWRITE_MODES: readonly OverwriteMode[] = ['quick-check', 'always', 'never', 'update'];
const FLAGS = ['dereference', 'oneFileSystem', 'hardLinks', 'fsync', 'dryRun', 'verify'] as const;

/** Options from the library API are checked as the CLI's are, before anything is written or forked. */
function checkTypes(opts: CopyOptions): void {
  const bad = (name: string, want: string): never => {
    throw new PcopyError('USAGE', `invalid option ${name}: ${want}`);
  };
  if (typeof opts.workers !== 'number') bad('workers', 'a number');
  if (typeof opts.chunkSize !== 'number') bad('chunkSize', 'a number of bytes');
  if (typeof opts.modifyWindow !== 'number') bad('modifyWindow', 'a number of seconds');
  if (!OVERWRITE_MODES.includes(opts.overwrite)) bad('overwrite', OVERWRITE_MODES.map((m) => `'${m}'`).join(', '));
  for (const key of ['exclude', 'include'] as const) {
    if (!Array.isArray(opts[key]) || !opts[key].every((p) => typeof p === 'string')) bad(key, 'an array of strings');
  }
  for (const key of FLAGS) if (typeof opts[key] !== 'boolean') bad(key, 'true or false');
  const { preserve } = opts;
  if (typeof preserve !== 'object' || preserve === null || !(['mode', 'times', 'owner'] as const).every((k) => typeof preserve[k] === 'boolean')) {
    bad('preserve', '{ mode, times, owner } as true or false');
  }
  if (opts.signal !== undefined && !(opts.signal instanceof AbortSignal)) bad('signal', 'an AbortSignal');
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * `mode,times` → which metadata to keep; `all` and `none` too. A repeated --preserve adds to the
 * lists before it (`previous`), as cp's does. An empty list is refused: an unset shell variable must
 * not silently drop every kind of metadata.
 */
export function parsePreserve(text: string, previous?: Preserve): Preserve {
  const words = text.split(',').map((w) => w.trim().toLowerCase()).filter(Boolean);
  if (words.length === 0) throw new PcopyError('USAGE', `invalid --preserve '${text}': name what to keep (mode, times, owner, all or none)`);
  if (previous) {
    const added = parsePreserve(text);
    return { mode: previous.mode || added.mode, times: previous.times || added.times, owner: previous.owner || added.owner };
  }
  if (words.length === 1 && words[0] === 'all') return { ...PRESERVE_ALL };
  if (words.length === 1 && words[0] === 'none') return { ...PRESERVE_NONE };
  const out = { ...PRESERVE_NONE };
  for (const w of words) {
    const key = w === 'ownership' ? 'owner' : w === 'timestamps' ? 'times' : w;
    if (!(key in out)) throw new PcopyError('USAGE', `invalid --preserve '${text}': use a list of mode, times, owner (or all, none)`);
    out[key as PreserveKey] = true;
  }
  return out;
}

/** Seconds for --modify-window: a number, 0 or more. */
export function parseSeconds(text: string): number {
  const n = Number(text);
  if (!/^\s*\d+(\.\d+)?\s*$/.test(text) || !Number.isFinite(n)) {
    throw new PcopyError('USAGE', `invalid number of seconds '${text}'`);
  }
  return n;
}

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2 };

/** `4096`, `1k`, `64KiB`, `0.5m` → bytes. Binary units: a k is 1024 bytes, as in cp, dd and rsync. */
export function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const factor = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || factor === undefined) {
    throw new PcopyError('USAGE', `invalid size '${text}': use a number of bytes or a unit like 1k, 64KiB`);
  }
  const bytes = Number(m[1]) * factor;
  if (!Number.isInteger(bytes)) throw new PcopyError('USAGE', `invalid size '${text}': not a whole number of bytes`);
  return bytes;
}

/** Chunk size from the command line, checked against 1–64 KiB. */
export function parseChunkSize(text: string): number {
  const bytes = parseSize(text);
  checkChunk(bytes, text);
  return bytes;
}

/** Worker count from the command line: a whole number from 1 to 256. */
export function parseWorkers(text: string): number {
  if (!/^\s*\d+\s*$/.test(text)) throw new PcopyError('USAGE', `invalid worker count '${text}': use a whole number from 1 to 256`);
  const n = Number(text);
  checkWorkers(n);
  return n;
}

function checkChunk(bytes: number, text: string = String(bytes)): void {
  if (!Number.isInteger(bytes) || bytes < MIN_CHUNK || bytes > MAX_CHUNK) {
    throw new PcopyError('USAGE', `invalid chunk size '${text}': must be from 1 KiB to 64 KiB`);
  }
}

function checkWorkers(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > 256) {
    throw new PcopyError('USAGE', `invalid worker count '${n}': use a whole number from 1 to 256`);
  }
}
