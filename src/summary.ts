/** Pure formatting: the final summary line and the units the bar and summary share. */
import path from 'node:path';
import { display, escapeRawBytes, hasRawBytes, toBytes } from './byte-names.js';
import type { CopyOutcome } from './copy-file.js';
import type { CopyFailure, CopyResult, SkippedEntry } from './copy.js';
import { describeError } from './errors.js';

const BINARY_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** 1536 → `1.5 KiB`; binary units, as the bar and summary show them. */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < BINARY_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${BINARY_UNITS[unit]}`;
}

/** 20000 → `20,000`: cheaper than toLocaleString, which the bar would call ten times a second. */
export function groupDigits(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** 0.4213 s → `0.42 s`, 75 s → `1m15s`, 3725 s → `1h02m05s`. */
export function formatDuration(ms: number): string {
  const s = ms / 1000;
  if (s < 60) return `${s < 10 ? s.toFixed(2) : s.toFixed(1)} s`;
  const whole = Math.round(s);
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  const sec = String(whole % 60).padStart(2, '0');
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m${sec}s` : `${m}m${sec}s`;
}

export function formatRate(bytes: number, ms: number): string {
  return ms > 0 ? `${formatBytes(Math.round((bytes * 1000) / ms))}/s` : '-';
}

const count = (n: number, one: string, many = `${one}s`): string => `${groupDigits(n)} ${n === 1 ? one : many}`;

/** The one summary line printed on stdout at the end. */
export function formatSummary(r: CopyResult): string {
  const would = r.dryRun ? 'would be ' : '';
  const parts = [
    `${count(r.filesCopied, 'file')} ${would}copied`,
    `${groupDigits(r.filesSame)} unchanged`,
    ...(r.filesKept > 0 ? [`${groupDigits(r.filesKept)} kept`] : []),
    count(r.dirs, 'directory', 'directories'),
    count(r.symlinks, 'symlink'),
    r.dryRun
      ? `${formatBytes(r.bytesCopied)} to write of ${formatBytes(r.bytes)}`
      : `${formatBytes(r.bytesCopied)} in ${formatDuration(r.elapsedMs)} (${formatRate(r.bytesCopied, r.elapsedMs)})`,
    // A resume's rate is what it wrote; what it found already in place is said apart.
    ...(!r.dryRun && r.bytes > r.bytesCopied ? [`${formatBytes(r.bytes - r.bytesCopied)} already there`] : []),
    `${groupDigits(r.failures.length)} failed`,
    `${groupDigits(r.skipped.length)} skipped`,
  ];
  const lead = r.interrupted
    ? 'pcopy: interrupted: '
    : r.stoppedBy
      ? `pcopy: stopped early (${describeError(r.stoppedBy)}): `
      : r.dryRun
        ? 'pcopy: dry run, nothing written: '
        : 'pcopy: ';
  return `${lead}${parts.join(', ')}`;
}

/**
 * The --json document: the result with the options it ran with. JSON holds text only: in every
 * string, bytes that are not UTF-8 are written `\xNN` (as messages show them), and a path with such
 * bytes also gets its exact bytes in base64 beside it (`pathBytes`, `sourceBytes`, `destinationBytes`).
 */
export function formatJson(r: CopyResult, options: Record<string, unknown>): string {
  const doc = {
    ...r,
    ...withBytes('source', r.source),
    ...withBytes('destination', r.destination),
    failures: r.failures.map((f) => ({ ...f, ...withBytes('path', f.path) })),
    skipped: r.skipped.map((s) => ({ ...s, ...withBytes('path', s.path) })),
    elapsedMs: Math.round(r.elapsedMs * 1000) / 1000,
    options,
  };
  return JSON.stringify(doc, (_key, value: unknown) => (typeof value === 'string' ? escapeRawBytes(value) : value), 2);
}

/** `{ [key]: p, [key + 'Bytes']: base64 }` for a path with bytes that are not UTF-8; nothing for others. */
function withBytes(key: string, p: string): Record<string, string> {
  return hasRawBytes(p) ? { [key]: p, [`${key}Bytes`]: toBytes(p).toString('base64') } : {};
}

/**
 * `Cannot copy `src/a` to `dest/a`: EACCES: permission denied` (paths as the user gave them). For a
 * file SRC (path '') `destFile` is where it goes: DEST, or DEST/<name>.
 */
export function formatFailure(f: CopyFailure, src: string, dest: string, destFile = dest): string {
  return `Cannot copy \`${joinShown(src, f.path)}\` to \`${f.path === '' ? display(destFile) : joinShown(dest, f.path)}\`: ${describeError(f.error)}`;
}

const SKIP_REASONS: Record<SkippedEntry['reason'], string> = {
  fifo: 'a FIFO (special files are not copied)',
  socket: 'a socket (special files are not copied)',
  'char-device': 'a character device (special files are not copied)',
  'block-device': 'a block device (special files are not copied)',
  unknown: 'of an unknown type (not copied)',
  loop: 'a symlink loop: its contents are already being copied (not descended into)',
  'other-file-system': 'on another file system (-x: copied empty, not descended into)',
  destination: 'it is the destination (not descended into)',
};

export function formatSkipped(s: SkippedEntry, src: string): string {
  return `Skipped \`${joinShown(src, s.path)}\`: ${SKIP_REASONS[s.reason]}`;
}

/** One --verbose / --dry-run line for an entry; a file SRC (rel '') is shown as `destFile`, where it goes. */
/** How `-v` lists an entry, as done and as a dry run plans it. */
const OUTCOME_WORDS: Record<CopyOutcome, [done: string, planned: string]> = {
  copied: ['copied', 'copy'],
  same: ['unchanged', 'unchanged'],
  fixed: ['fixed', 'fix'],
  kept: ['kept', 'kept'],
};

export function formatEntry(rel: string, kind: 'file' | 'link' | 'dir', outcome: CopyOutcome, dryRun: boolean, destFile = ''): string {
  const shown = kind === 'dir' ? `${rel === '' ? '.' : display(rel)}/` : display(rel === '' ? destFile : rel);
  const [done, planned] = outcome === 'copied' && kind === 'dir' ? ['created', 'create'] : OUTCOME_WORDS[outcome];
  const word = dryRun ? planned : done;
  return `${word.padEnd(9)} ${shown}`;
}

function joinShown(root: string, rel: string): string {
  return display(rel === '' ? root : path.join(root, rel));
}
