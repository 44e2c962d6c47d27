/**
 * Errors as data: one error class with a code, and the exit codes as a const object.
 * Everything that crosses the worker boundary is a plain `SerializedError`.
 */
import { display } from './byte-names.js';

/** Exit codes of the CLI, documented in the README. */
export const ExitCode = {
  ok: 0,
  someFailed: 1,
  usage: 2,
  sighup: 129,
  sigint: 130,
  sigterm: 143,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** Why pcopy refused or failed as a whole (not one entry). */
export type PcopyErrorCode = 'USAGE' | 'PREFLIGHT' | 'INTERNAL';

/** A refusal or fatal condition, with a message meant for people. */
export class PcopyError extends Error {
  readonly code: PcopyErrorCode;
  constructor(code: PcopyErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PcopyError';
    this.code = code;
  }
}

/** An OS error as it crosses the process boundary. */
export interface SerializedError {
  /** `EACCES`, `ENOSPC`, … or one of pcopy's own: `VANISHED`, `CHANGED`, `CRASHED`, `GAVE_UP`, `NOT_EMPTY`, `NOT_DIR`. */
  code: string;
  /** The OS reason without the path, e.g. `permission denied`. */
  message: string;
  syscall?: string;
}

/** A per-entry failure that is pcopy's own finding rather than an OS error. */
export class EntryFailure extends Error {
  constructor(readonly error: SerializedError) {
    super(error.message);
  }
}

/** Turns anything thrown into a `SerializedError` (Node's messages carry the path; we keep only the reason). */
export function serializeError(err: unknown): SerializedError {
  if (err && typeof err === 'object') {
    const e = err as NodeJS.ErrnoException;
    const code = typeof e.code === 'string' ? e.code : 'ERROR';
    const message = reasonOf(e);
    return e.syscall ? { code, message, syscall: e.syscall } : { code, message };
  }
  return { code: 'ERROR', message: String(err) };
}

/** `EACCES: permission denied, open '/x'` → `permission denied`. */
function reasonOf(e: NodeJS.ErrnoException): string {
  const msg = String(e.message ?? e);
  const m = /^[A-Z0-9_]+: ([^,]+)(,|$)/.exec(msg);
  return m?.[1] ?? msg;
}

/** `EACCES: permission denied` — the OS code and reason, as messages show them. */
export function describeError(e: SerializedError): string {
  return /^E[A-Z0-9]+$/.test(e.code) ? `${e.code}: ${e.message}` : e.message;
}

/**
 * OS errors that concern the whole destination rather than one entry: after the first, copying stops
 * (with one message) instead of failing every remaining entry the same way.
 */
export const DESTINATION_FATAL_CODES: ReadonlySet<string> = new Set(['ENOSPC', 'EDQUOT', 'EROFS']);

/**
 * The failure of every entry left when workers keep dying: one cause for all of them, so the CLI
 * names only the first few (a tree of 200,000 files would print 200,000 identical lines).
 */
export const GAVE_UP_CODE = 'GAVE_UP';

/** pcopy's own per-entry failure reasons, created in one place so every message reads the same. */
export const entryError = {
  vanished: (): SerializedError => ({ code: 'VANISHED', message: 'vanished since the scan' }),
  changed: (what: string): SerializedError => ({ code: 'CHANGED', message: `source changed while being copied (${what})` }),
  crashed: (how: string): SerializedError => ({ code: 'CRASHED', message: `the worker copying it died (${how}), twice` }),
  /** Every entry not yet copied when the pool gives up gets this one failure (GAVE_UP_CODE). */
  poolDying: (deaths: number, how: string): SerializedError => ({
    code: GAVE_UP_CODE,
    message: `not copied: workers keep dying (${deaths} in a row with nothing completed, last ${how})`,
  }),
  notEmpty: (): SerializedError => ({ code: 'NOT_EMPTY', message: 'destination is a non-empty directory' }),
  /** A directory in SRC where DEST has something else, which --ignore-existing never touches. */
  keptNotDirectory: (): SerializedError => ({ code: 'NOT_DIR', message: 'destination is not a directory, and --ignore-existing keeps it' }),
  parentFailed: (): SerializedError => ({ code: 'NO_PARENT', message: 'its destination directory could not be created' }),
  verifyFailed: (): SerializedError => ({ code: 'VERIFY', message: 'the copy differs from the source when read back (--verify)' }),
  noReferent: (): SerializedError => ({ code: 'ENOENT', message: 'symlink has no referent (-L)' }),
};
