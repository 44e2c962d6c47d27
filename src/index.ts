/**
 * pcopy's programmatic API; the CLI is one consumer of it.
 *
 * ```ts
 * import { copy } from 'pcopy';
 * const result = await copy('photos', '/mnt/backup/photos', { onEvent: (e) => … });
 * ```
 */
export { copy } from './copy.js';
export type { CopyRunOptions } from './copy.js';
export type { CopyEvent, CopyFailure, CopyProgress, CopyResult, SkippedEntry } from './copy-result.js';
export type { CopyOptions } from './options.js';
export { ExitCode, PcopyError } from './errors.js';
export type { SerializedError } from './errors.js';
export { formatSummary } from './summary.js';
/** Paths in results and events keep bytes that are not UTF-8 (see byte-names.ts): these turn them back. */
export { osPath, display as displayPath } from './byte-names.js';
