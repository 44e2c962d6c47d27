/**
 * Limits from the reliability issue that the A–G rows do not name: names of 255 bytes (the longest
 * a Linux file system takes) and destination paths near PATH_MAX (4096). Each entry either copies or
 * fails with a clear per-file reason; its siblings are copied either way.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { diffTrees, findTemps, snapshot, tempPerTest } from '../helpers/tree.js';
import { runPcopy } from '../helpers/run.js';

const work = tempPerTest('pcopy-limits-');

describe('long names and long paths', () => {
  it('copies files and directories whose names are 255 bytes (the temp name stays short)', async () => {
    const src = path.join(work(), 'src');
    const long = 'n'.repeat(255);
    const longUtf8 = 'é'.repeat(127) + 'x'; // 255 bytes in UTF-8
    fs.mkdirSync(path.join(src, long), { recursive: true });
    fs.writeFileSync(path.join(src, long, long), 'deep and long\n');
    fs.writeFileSync(path.join(src, longUtf8), 'two-byte characters\n');
    fs.symlinkSync(long, path.join(src, `${'l'.repeat(254)}k`));
    const dest = path.join(work(), 'dest');
    const r = await runPcopy([src, dest]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(diffTrees(snapshot(src), snapshot(dest))).toEqual([]);
    expect(findTemps(dest)).toEqual([]);
  });

  it('copies names with line breaks (which fast-glob alone would drop silently), directories and their contents too', async () => {
    const src = path.join(work(), 'src');
    fs.mkdirSync(path.join(src, 'dir\nwith break', 'sub'), { recursive: true });
    fs.writeFileSync(path.join(src, 'dir\nwith break', 'sub', 'inside'), 'in a dir with a newline\n');
    fs.writeFileSync(path.join(src, 'file\nname'), 'newline\n');
    fs.writeFileSync(path.join(src, 'carriage\rreturn'), 'cr\n');
    fs.writeFileSync(path.join(src, 'line\u2028separator'), 'ls\n');
    fs.symlinkSync('file\nname', path.join(src, 'link\nto it'));
    fs.writeFileSync(path.join(src, 'plain'), 'plain\n');
    const dest = path.join(work(), 'dest');
    const r = await runPcopy([src, dest]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(diffTrees(snapshot(src), snapshot(dest))).toEqual([]);
  });

  it('a destination path over PATH_MAX fails for those entries alone, with ENAMETOOLONG; the rest is copied', async () => {
    // The source paths fit in 4096 bytes; the destination root is 400 bytes longer, so the deepest
    // directory's destination path does not.
    const src = path.join(work(), 's');
    const segment = 'd'.repeat(200);
    let deep = src;
    while (deep.length + segment.length + 1 < 3900) deep = path.join(deep, segment);
    fs.mkdirSync(deep, { recursive: true });
    fs.writeFileSync(path.join(deep, 'too-long-at-dest.txt'), 'x\n');
    fs.writeFileSync(path.join(src, 'short.txt'), 'short\n');
    const destParent = path.join(work(), 'p'.repeat(200), 'q'.repeat(200));
    fs.mkdirSync(destParent, { recursive: true });
    const dest = path.join(destParent, 'dest');
    expect(path.join(dest, path.relative(src, deep), 'too-long-at-dest.txt').length).toBeGreaterThan(4096);

    const r = await runPcopy([src, dest]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Cannot copy `[^`]+` to `[^`]+`: ENAMETOOLONG: name too long/);
    expect(r.stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
    expect(fs.readFileSync(path.join(dest, 'short.txt'), 'utf8')).toBe('short\n');
    expect(r.stdout).toMatch(/[1-9]\d* failed/);
  });
});
