/**
 * Features end to end: when an existing destination file is rewritten (quick check, -I,
 * --ignore-existing, -u, --modify-window) and the flag combinations that are usage errors.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { build, diffTrees, ino, inodes, read, snapshot, statOf, tempPerTest, touch } from '../helpers/tree.js';
import { runPcopy, type RunResult } from '../helpers/run.js';

const tmp = tempPerTest('pcopy-feat-ow-');

const T0 = 1_600_000_000;

function pcopy(args: string[]): Promise<RunResult> {
  return runPcopy(args, { cwd: tmp() });
}

function expectOk(r: RunResult): void {
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
}

/** src with three files of known times, and dest a fresh copy of it. */
async function copiedPair(): Promise<{ src: string; dest: string }> {
  const src = path.join(tmp(), 'src');
  const dest = path.join(tmp(), 'dest');
  build(src, { 'a.txt': 'alpha\n', 'b.txt': 'bravo bravo\n', sub: { 'c.txt': 'charlie\n' } });
  for (const rel of ['a.txt', 'b.txt', 'sub/c.txt']) touch(path.join(src, rel), T0);
  expectOk(await pcopy([src, dest]));
  return { src, dest };
}

describe('default quick check (size and mtime)', () => {
  it('does not rewrite files whose size and mtime match: inodes unchanged, summary says unchanged', async () => {
    const { src, dest } = await copiedPair();
    const before = inodes(dest);
    const r = await pcopy([src, dest]);
    expectOk(r);
    expect(inodes(dest)).toEqual(before);
    expect(r.stdout).toMatch(/^pcopy: 0 files copied, 3 unchanged, /);
    expect(diffTrees(snapshot(src), snapshot(dest))).toEqual([]);
  });

  it('trusts size and mtime: a same-size, same-mtime file with other bytes is left as it is', async () => {
    const { src, dest } = await copiedPair();
    fs.writeFileSync(path.join(dest, 'a.txt'), 'ALPHA\n');
    touch(path.join(dest, 'a.txt'), T0);
    const ino = statOf(path.join(dest, 'a.txt')).ino;
    expectOk(await pcopy([src, dest]));
    expect(read(path.join(dest, 'a.txt'))).toBe('ALPHA\n');
    expect(statOf(path.join(dest, 'a.txt')).ino).toBe(ino);
  });

  it('rewrites a file whose mtime differs (same size)', async () => {
    const { src, dest } = await copiedPair();
    fs.writeFileSync(path.join(dest, 'a.txt'), 'ALPHA\n');
    touch(path.join(dest, 'a.txt'), T0 + 1);
    const r = await pcopy([src, dest]);
    expectOk(r);
    expect(read(path.join(dest, 'a.txt'))).toBe('alpha\n');
    expect(statOf(path.join(dest, 'a.txt')).mtimeMs).toBe(BigInt(T0 * 1000));
    expect(r.stdout).toMatch(/^pcopy: 1 file copied, 2 unchanged, /);
  });
});

describe('-I, --ignore-times', () => {
  it.each([['-I'], ['--ignore-times']])('%s rewrites identical files: new inodes, same contents and metadata', async (flag) => {
    const { src, dest } = await copiedPair();
    const before = inodes(dest);
    const r = await pcopy([flag, src, dest]);
    expectOk(r);
    const after = inodes(dest);
    expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
    for (const [rel, ino] of before) expect(after.get(rel), rel).not.toBe(ino);
    expect(diffTrees(snapshot(src), snapshot(dest))).toEqual([]);
    expect(r.stdout).toMatch(/^pcopy: 3 files copied, 0 unchanged, /);
  });
});

describe('--ignore-existing', () => {
  it('never touches an existing destination entry, even a differing one, and copies the missing ones', async () => {
    const src = path.join(tmp(), 'src');
    const dest = path.join(tmp(), 'dest');
    build(src, { 'a.txt': 'new contents of a\n', 'b.txt': 'b\n', 'link': 'placeholder', sub: { 'c.txt': 'c\n', 'd.txt': 'd\n' } });
    fs.rmSync(path.join(src, 'link'));
    fs.symlinkSync('a.txt', path.join(src, 'link'));
    fs.chmodSync(path.join(src, 'a.txt'), 0o644);
    touch(path.join(src, 'a.txt'), T0 + 500);
    build(dest, { 'a.txt': 'old a\n', sub: { 'c.txt': 'old c, longer than the source\n' } });
    fs.symlinkSync('elsewhere', path.join(dest, 'link'));
    fs.chmodSync(path.join(dest, 'a.txt'), 0o600);
    touch(path.join(dest, 'a.txt'), T0);
    touch(path.join(dest, 'sub', 'c.txt'), T0);
    const kept = ['a.txt', 'sub/c.txt'].map((rel) => statOf(path.join(dest, rel)));

    const r = await pcopy(['--ignore-existing', src, dest]);
    expectOk(r);
    // Existing entries: contents, inode, mode and mtime as they were.
    expect(read(path.join(dest, 'a.txt'))).toBe('old a\n');
    expect(read(path.join(dest, 'sub', 'c.txt'))).toBe('old c, longer than the source\n');
    ['a.txt', 'sub/c.txt'].forEach((rel, i) => {
      const now = statOf(path.join(dest, rel));
      expect(now.ino).toBe(kept[i]!.ino);
      expect(now.mode).toBe(kept[i]!.mode);
      expect(now.mtimeNs).toBe(kept[i]!.mtimeNs);
    });
    expect(fs.readlinkSync(path.join(dest, 'link'))).toBe('elsewhere');
    // Missing ones: copied.
    expect(read(path.join(dest, 'b.txt'))).toBe('b\n');
    expect(read(path.join(dest, 'sub', 'd.txt'))).toBe('d\n');
    expect(r.stdout).toMatch(/^pcopy: 2 files copied, 0 unchanged, 2 kept, /);
  });
  it('leaves an existing destination directory alone too: its mode and mtime stay when nothing is added to it', async () => {
    const src = path.join(tmp(), 'src');
    const dest = path.join(tmp(), 'dest');
    build(src, { d: { 'a.txt': 'new a\n' }, 'b.txt': 'b\n' });
    fs.chmodSync(path.join(src, 'd'), 0o755);
    touch(path.join(src, 'd'), T0 + 500);
    build(dest, { d: { 'a.txt': 'old a\n' } });
    fs.chmodSync(path.join(dest, 'd'), 0o700);
    touch(path.join(dest, 'd'), T0);
    const r = await pcopy(['--ignore-existing', src, dest]);
    expectOk(r);
    expect(read(path.join(dest, 'd', 'a.txt'))).toBe('old a\n');
    expect(read(path.join(dest, 'b.txt'))).toBe('b\n');
    const d = statOf(path.join(dest, 'd'));
    expect({ mode: (Number(d.mode) & 0o7777).toString(8), mtime: Number(d.mtimeMs) / 1000 }).toEqual({ mode: '700', mtime: T0 });
  });
});

describe('-u, --update', () => {
  it.each([['-u'], ['--update']])('%s keeps a newer destination file and replaces an older one', async (flag) => {
    const src = path.join(tmp(), 'src');
    const dest = path.join(tmp(), 'dest');
    build(src, { 'newer-in-dest.txt': 'source version\n', 'older-in-dest.txt': 'source version\n', 'missing.txt': 'm\n' });
    touch(path.join(src, 'newer-in-dest.txt'), T0);
    touch(path.join(src, 'older-in-dest.txt'), T0);
    build(dest, { 'newer-in-dest.txt': 'dest edited later\n', 'older-in-dest.txt': 'dest stale\n' });
    touch(path.join(dest, 'newer-in-dest.txt'), T0 + 3600);
    touch(path.join(dest, 'older-in-dest.txt'), T0 - 3600);
    const newerIno = statOf(path.join(dest, 'newer-in-dest.txt')).ino;

    const r = await pcopy([flag, src, dest]);
    expectOk(r);
    expect(read(path.join(dest, 'newer-in-dest.txt'))).toBe('dest edited later\n');
    expect(statOf(path.join(dest, 'newer-in-dest.txt')).ino).toBe(newerIno);
    expect(statOf(path.join(dest, 'newer-in-dest.txt')).mtimeMs).toBe(BigInt((T0 + 3600) * 1000));
    expect(read(path.join(dest, 'older-in-dest.txt'))).toBe('source version\n');
    expect(statOf(path.join(dest, 'older-in-dest.txt')).mtimeMs).toBe(BigInt(T0 * 1000));
    expect(read(path.join(dest, 'missing.txt'))).toBe('m\n');
    expect(r.stdout).toMatch(/^pcopy: 2 files copied, 0 unchanged, 1 kept, /);
  });
});

describe('--modify-window', () => {
  async function oneSecondApart(): Promise<{ src: string; dest: string }> {
    const src = path.join(tmp(), 'src');
    const dest = path.join(tmp(), 'dest');
    build(src, { 'f.txt': 'source!\n' });
    build(dest, { 'f.txt': 'dest...\n' }); // same size, other bytes
    touch(path.join(src, 'f.txt'), T0);
    touch(path.join(dest, 'f.txt'), T0 + 1);
    return { src, dest };
  }

  it('--modify-window 2 treats a 1-second difference (same size) as equal: not rewritten', async () => {
    const { src, dest } = await oneSecondApart();
    const ino = statOf(path.join(dest, 'f.txt')).ino;
    const r = await pcopy(['--modify-window', '2', src, dest]);
    expectOk(r);
    expect(read(path.join(dest, 'f.txt'))).toBe('dest...\n');
    expect(statOf(path.join(dest, 'f.txt')).ino).toBe(ino);
    expect(r.stdout).toMatch(/^pcopy: 0 files copied, 1 unchanged, /);
  });

  it('without the window the same pair is rewritten', async () => {
    const { src, dest } = await oneSecondApart();
    const r = await pcopy([src, dest]);
    expectOk(r);
    expect(read(path.join(dest, 'f.txt'))).toBe('source!\n');
    expect(r.stdout).toMatch(/^pcopy: 1 file copied, 0 unchanged, /);
  });
});

describe('conflicting choices are usage errors', () => {
  it.each([
    [['-I', '--ignore-existing']],
    [['-I', '-u']],
    [['--ignore-existing', '-u']],
    [['-u', '--ignore-existing']],
    [['-q', '-v']],
    [['--json', '-v']],
    [['-v', '--json']],
    [['--preserve', 'mode', '--no-preserve']],
    [['--no-preserve', '--preserve=mode']],
  ])('%j: exit 2, one line on stderr, nothing created', async (flags) => {
    const src = path.join(tmp(), 'src');
    build(src, { 'a.txt': 'a\n' });
    const dest = path.join(tmp(), 'dest');
    const r = await pcopy([...flags, src, dest]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.endsWith('\n')).toBe(true);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/cannot be used/);
    expect(fs.existsSync(dest)).toBe(false);
    expect(fs.readdirSync(tmp()).sort()).toEqual(['src']);
  });
});
