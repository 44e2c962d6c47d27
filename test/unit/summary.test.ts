import { describe, expect, it } from 'vitest';
import type { CopyResult } from '../../src/copy.js';
import { formatBytes, formatDuration, formatFailure, formatRate, formatSkipped, formatSummary } from '../../src/summary.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

function result(partial: Partial<CopyResult> = {}): CopyResult {
  return {
    source: 'src',
    destination: 'dest',
    dryRun: false,
    filesCopied: 0,
    filesSame: 0,
    filesKept: 0,
    symlinks: 0,
    dirs: 0,
    bytes: 0,
    bytesCopied: 0,
    failures: [],
    skipped: [],
    elapsedMs: 1000,
    interrupted: false,
    ...partial,
  };
}

describe('formatBytes', () => {
  it.each([
    [0, '0 B'],
    [1, '1 B'],
    [1023, '1023 B'],
    [1024, '1.0 KiB'],
    [1536, '1.5 KiB'],
    [10 * KiB + 512, '10.5 KiB'],
    [MiB - 1, '1024.0 KiB'],
    [MiB, '1.0 MiB'],
    [62.2 * MiB, '62.2 MiB'],
    [5 * GiB, '5.0 GiB'],
    [3 * 1024 * GiB, '3.0 TiB'],
    [2 * 1024 ** 5, '2.0 PiB'],
    [1024 ** 6, '1024.0 PiB'],
  ])('%i → %j', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0.00 s'],
    [421.3, '0.42 s'],
    [1000, '1.00 s'],
    [9994, '9.99 s'],
    [12_345, '12.3 s'],
    [59_940, '59.9 s'],
    [60_000, '1m00s'],
    [75_000, '1m15s'],
    [599_000, '9m59s'],
    [3_599_000, '59m59s'],
    [3_600_000, '1h00m00s'],
    [3_725_000, '1h02m05s'],
    [36_061_000, '10h01m01s'],
  ])('%i ms → %j', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe('formatRate', () => {
  it('is bytes per second in binary units, or - for no time', () => {
    expect(formatRate(1536, 2000)).toBe('768 B/s');
    expect(formatRate(10 * MiB, 500)).toBe('20.0 MiB/s');
    expect(formatRate(100, 0)).toBe('-');
  });
});

describe('formatSummary', () => {
  it('is one line with every count', () => {
    const line = formatSummary(
      result({ filesCopied: 3, filesSame: 2, dirs: 1, symlinks: 0, bytes: 1536, bytesCopied: 1536, elapsedMs: 2000 }),
    );
    expect(line).toMatch(
      /^pcopy: 3 files copied, 2 unchanged, 1 directory, 0 symlinks, 1\.5 KiB in 2\.00 s \(768 B\/s\), 0 failed, 0 skipped$/,
    );
    expect(line).not.toContain('\n');
  });

  it('uses singulars for one and thousands separators', () => {
    const line = formatSummary(
      result({
        filesCopied: 1,
        filesSame: 12_345,
        dirs: 1_000,
        symlinks: 1,
        bytes: 3 * GiB,
        bytesCopied: 3 * GiB,
        elapsedMs: 75_000,
        failures: [{ path: 'x', error: { code: 'EIO', message: 'i/o error' } }],
        skipped: [{ path: 'f', reason: 'fifo' }],
      }),
    );
    expect(line).toMatch(
      /^pcopy: 1 file copied, 12,345 unchanged, 1,000 directories, 1 symlink, 3\.0 GiB in 1m15s \(41\.0 MiB\/s\), 1 failed, 1 skipped$/,
    );
  });

  it('gives the rate of what was written and says apart what was already there (a resume)', () => {
    // Issue 10: a resume said "4.3 GiB in 4.65 s (951 MiB/s)" though most of it was skipped.
    const line = formatSummary(
      result({ filesCopied: 12, filesSame: 3_000, dirs: 40, bytes: 4.3 * GiB, bytesCopied: 120 * MiB, elapsedMs: 4650 }),
    );
    expect(line).toBe(
      'pcopy: 12 files copied, 3,000 unchanged, 40 directories, 0 symlinks, 120.0 MiB in 4.65 s (25.8 MiB/s), 4.2 GiB already there, 0 failed, 0 skipped',
    );
  });

  it('says a rerun that found everything in place wrote nothing', () => {
    expect(formatSummary(result({ filesSame: 5, bytes: 10 * KiB, bytesCopied: 0, elapsedMs: 300 }))).toContain(
      ', 0 B in 0.30 s (0 B/s), 10.0 KiB already there, ',
    );
  });

  it('keeps a dry run as bytes to write of the total', () => {
    expect(formatSummary(result({ dryRun: true, filesCopied: 1, filesSame: 1, bytes: 2 * KiB, bytesCopied: KiB }))).toBe(
      'pcopy: dry run, nothing written: 1 file would be copied, 1 unchanged, 0 directories, 0 symlinks, 1.0 KiB to write of 2.0 KiB, 0 failed, 0 skipped',
    );
  });

  it('says when the run was interrupted', () => {
    const line = formatSummary(result({ interrupted: true, filesCopied: 2, skipped: [{ path: 'a', reason: 'socket' }, { path: 'b', reason: 'fifo' }] }));
    expect(line).toMatch(/^pcopy: interrupted: 2 files copied, /);
    expect(line).toMatch(/, 2 skipped$/);
  });

  it('shows - as the rate when no time elapsed', () => {
    expect(formatSummary(result({ elapsedMs: 0 }))).toContain('0 B in 0.00 s (-)');
  });
});

describe('formatFailure', () => {
  it('names both paths as the user gave them and the OS reason', () => {
    expect(formatFailure({ path: 'a/b.txt', error: { code: 'EACCES', message: 'permission denied', syscall: 'open' } }, 'src', '/mnt/dest')).toBe(
      'Cannot copy `src/a/b.txt` to `/mnt/dest/a/b.txt`: EACCES: permission denied',
    );
  });

  it('shows pcopy’s own reasons without a code', () => {
    expect(formatFailure({ path: 'f', error: { code: 'CHANGED', message: 'source changed while being copied (modified)' } }, 'src/', 'dest')).toBe(
      'Cannot copy `src/f` to `dest/f`: source changed while being copied (modified)',
    );
    expect(formatFailure({ path: 'd/x', error: { code: 'NOT_EMPTY', message: 'destination is a non-empty directory' } }, './s', 'd')).toBe(
      'Cannot copy `s/d/x` to `d/d/x`: destination is a non-empty directory',
    );
  });

  it('uses the roots themselves for the root entry', () => {
    expect(formatFailure({ path: '', error: { code: 'ENOSPC', message: 'no space left on device' } }, 'one.iso', '/media/usb')).toBe(
      'Cannot copy `one.iso` to `/media/usb`: ENOSPC: no space left on device',
    );
  });

  it('names where a file SRC goes when it goes into DEST (DEST/<name>)', () => {
    expect(formatFailure({ path: '', error: { code: 'EACCES', message: 'permission denied' } }, 's/unread', 'od', 'od/unread')).toBe(
      'Cannot copy `s/unread` to `od/unread`: EACCES: permission denied',
    );
  });
});

describe('formatSkipped', () => {
  it.each([
    ['fifo', 'a FIFO (special files are not copied)'],
    ['socket', 'a socket (special files are not copied)'],
    ['char-device', 'a character device (special files are not copied)'],
    ['block-device', 'a block device (special files are not copied)'],
  ] as const)('names a %s', (type, words) => {
    expect(formatSkipped({ path: 'dir/x', reason: type }, 'src')).toBe(`Skipped \`src/dir/x\`: ${words}`);
  });
});
