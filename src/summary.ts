/** Pure formatting: the final summary line and the units the bar and summary share. */
import type { CopyResult } from './copy.js';
import { describeError } from './errors.js';
import type { CopyFailure, SkippedEntry } from './copy.js';
import path from 'node:path';

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

const count = (n: number, one: string, many = `${one}s`): string => `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;

/** The one summary line printed on stdout at the end. */
export function formatSummary(r: CopyResult): string {
  const parts = [
    `${count(r.filesCopied, 'file')} copied`,
    `${r.filesSame.toLocaleString('en-US')} unchanged`,
    count(r.dirs, 'directory', 'directories'),
    count(r.symlinks, 'symlink'),
    `${formatBytes(r.bytes)} in ${formatDuration(r.elapsedMs)} (${formatRate(r.bytes, r.elapsedMs)})`,
    `${r.failures.length.toLocaleString('en-US')} failed`,
    `${count(r.skipped.length, 'special file')} skipped`,
  ];
  return `${r.interrupted ? 'pcopy: interrupted: ' : 'pcopy: '}${parts.join(', ')}`;
}

/** `Cannot copy `src/a` to `dest/a`: EACCES: permission denied` (paths as the user gave them). */
export function formatFailure(f: CopyFailure, src: string, dest: string): string {
  return `Cannot copy \`${joinShown(src, f.path)}\` to \`${joinShown(dest, f.path)}\`: ${describeError(f.error)}`;
}

const TYPE_NAMES: Record<string, string> = {
  fifo: 'a FIFO',
  socket: 'a socket',
  'char-device': 'a character device',
  'block-device': 'a block device',
  unknown: 'of an unknown type',
};

export function formatSkipped(s: SkippedEntry, src: string): string {
  return `Skipped \`${joinShown(src, s.path)}\`: ${TYPE_NAMES[s.type] ?? s.type} (special files are not copied)`;
}

function joinShown(root: string, rel: string): string {
  return rel === '' ? root : path.join(root, rel);
}
