/**
 * Options of a copy and the value parsers the CLI uses for them.
 * Parsers throw `PcopyError('USAGE', …)` so every bad value becomes exit 2 with one line.
 */
import { availableParallelism } from 'node:os';
import { PcopyError } from './errors.js';

export const MIN_CHUNK = 1024;
export const MAX_CHUNK = 64 * 1024;
/** Measured on 2 cores (see README benchmark): more workers than cores only adds scheduling. */
export const MAX_DEFAULT_WORKERS = 4;

/** Options of one copy; every field has a default (see `resolveOptions`). */
export interface CopyOptions {
  /** Number of forked workers. */
  workers: number;
  /** Bytes per read/write, 1 KiB to 64 KiB. */
  chunkSize: number;
  /** Stops the copy: workers remove their temp files, the result says `interrupted`. */
  signal?: AbortSignal;
}

export function defaultWorkers(): number {
  return Math.max(1, Math.min(availableParallelism(), MAX_DEFAULT_WORKERS));
}

export function resolveOptions(partial: Partial<CopyOptions> = {}): CopyOptions {
  const workers = partial.workers ?? defaultWorkers();
  const chunkSize = partial.chunkSize ?? MAX_CHUNK;
  checkWorkers(workers);
  checkChunk(chunkSize);
  return { ...partial, workers, chunkSize };
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
