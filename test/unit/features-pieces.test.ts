/**
 * Unit tests for the small pure pieces behind the everyday features: pattern translation, the
 * progress text (never backwards, 100% only when complete), entry lines, --preserve parsing.
 */
import { describe, expect, it } from 'vitest';
import type { CopyProgress, CopyResult } from '../../src/copy.js';
import { parsePreserve, PRESERVE_ALL, PRESERVE_NONE } from '../../src/options.js';
import { toGlobs } from '../../src/patterns.js';
import { ProgressText } from '../../src/progress.js';
import { formatEntry, formatSummary } from '../../src/summary.js';

describe('toGlobs', () => {
  it.each([
    ['*.log', '**/*.log'],
    ['node_modules', '**/node_modules'],
    ['cache/', '**/cache'],
    ['/top.txt', 'top.txt'],
    ['/build/', 'build'],
    ['sub/x.txt', 'sub/x.txt'],
    ['docs/old/', 'docs/old'],
    // Spaces are part of a name, at either end too (rsync keeps them).
    ['  *.tmp  ', '**/  *.tmp  '],
    // Parentheses outside an extglob, `|` and a backslash without wildcards are characters.
    ['report (1).pdf', '**/report \\(1\\).pdf'],
    ['*(1)*', '**/*\\(1\\)*'],
    ['@(a|b)', '**/@(a|b)'],
    ['x|y', '**/x\\|y'],
    ['a\\b', '**/a[\\\\]b'],
    ['a\\*', '**/a[*]'],
    ['star\\**', '**/star[*]*'],
    ['[[:punct:]]', '**/[[:punct:]\\\\]'],
  ])('%j → %j', (pattern, glob) => {
    expect(toGlobs(pattern)).toEqual([glob]);
  });
});

function snap(p: Partial<CopyProgress>): CopyProgress {
  return {
    scanning: false,
    totalsKnown: true,
    entriesFound: 10,
    entriesSized: 10,
    bytesFound: 1000,
    entriesDone: 0,
    bytesDone: 0,
    dirs: 1,
    elapsedMs: 0,
    ...p,
  };
}

describe('ProgressText', () => {
  it('shows "scanning…" without a percent until totals are known', () => {
    const t = new ProgressText();
    const d = t.describe(snap({ scanning: true, totalsKnown: false, bytesFound: 3 * 1024 * 1024, entriesFound: 7 }));
    expect(d.percent).toBeUndefined();
    expect(d.text).toMatch(/^scanning… 7 entries, 3\.0 MiB found so far/);
  });

  it('never goes backwards when totals grow, stays below 100% until complete, then shows exactly 100%', () => {
    const t = new ProgressText();
    const seen: number[] = [];
    const steps: Array<[number, number]> = [
      [500, 1000],
      [600, 4000], // more found: the fraction drops to 15%
      [3000, 4000],
      [4000, 4000], // all bytes done, but not complete yet
    ];
    steps.forEach(([bytesDone, bytesFound], i) => seen.push(t.describe(snap({ bytesDone, bytesFound, elapsedMs: (i + 1) * 100 })).percent!));
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThanOrEqual(seen[i - 1]!);
    expect(seen[0]).toBe(50);
    expect(seen[1]).toBe(50);
    expect(seen[2]).toBe(75);
    expect(seen[3]).toBeLessThan(100);
    const end = t.describe(snap({ bytesDone: 4000, bytesFound: 4000, elapsedMs: 500, entriesDone: 10 }), true);
    expect(end.percent).toBe(100);
    expect(end.text).toMatch(/^100% \| 3\.9 KiB \/ 3\.9 KiB \| 10\/10 entries \| /);
  });

  it('names the big file in flight', () => {
    const t = new ProgressText();
    expect(t.describe(snap({ bytesDone: 10, currentFile: 'media/big.iso' })).text).toMatch(/\| media\/big\.iso$/);
  });
});

describe('formatEntry (-v and -n lines)', () => {
  it.each([
    ['a.txt', 'file', 'copied', false, 'copied    a.txt'],
    ['sub', 'dir', 'copied', false, 'created   sub/'],
    ['a.txt', 'file', 'copied', true, 'copy      a.txt'],
    ['sub', 'dir', 'copied', true, 'create    sub/'],
    ['l', 'link', 'same', true, 'unchanged l'],
    ['a.txt', 'file', 'kept', false, 'kept      a.txt'],
  ] as const)('%s %s %s dry=%s → %j', (rel, kind, outcome, dry, line) => {
    expect(formatEntry(rel, kind, outcome, dry)).toBe(line);
  });
});

describe('formatSummary for a dry run', () => {
  it('says nothing was written and gives totals', () => {
    const r: CopyResult = {
      source: 's',
      destination: 'd',
      dryRun: true,
      filesCopied: 2,
      filesSame: 1,
      filesKept: 0,
      symlinks: 1,
      dirs: 3,
      bytes: 3072,
      bytesCopied: 2048,
      failures: [],
      skipped: [],
      elapsedMs: 12,
      interrupted: false,
    };
    expect(formatSummary(r)).toBe(
      'pcopy: dry run, nothing written: 2 files would be copied, 1 unchanged, 3 directories, 1 symlink, 2.0 KiB to write of 3.0 KiB, 0 failed, 0 skipped',
    );
  });
});

describe('parsePreserve', () => {
  it('takes a list, all and none, and rejects unknown words as usage errors', () => {
    expect(parsePreserve('mode')).toEqual({ mode: true, times: false, owner: false });
    expect(parsePreserve('times,owner')).toEqual({ mode: false, times: true, owner: true });
    expect(parsePreserve('all')).toEqual(PRESERVE_ALL);
    expect(parsePreserve('none')).toEqual(PRESERVE_NONE);
    expect(() => parsePreserve('mode,colour')).toThrow(expect.objectContaining({ code: 'USAGE' }));
  });
});
