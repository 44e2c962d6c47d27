/**
 * End to end: `node bin/pcopy.js` on real trees, compared entry by entry (needs dist: `npx tsc -p .`).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { diffTrees, findTemps, hashFile, ino, inodes, listEntries, makeTree, mtimeUs, sha256, snapshot, tempPerTest, writeFile } from '../helpers/tree.js';
import { runPcopy, type RunResult } from '../helpers/run.js';

const tmp = tempPerTest('pcopy-e2e-copy-');
const isRoot = process.getuid?.() === 0;

async function pcopy(args: string[], cwd = tmp()): Promise<RunResult> {
  return runPcopy(args, { cwd });
}

function expectOk(r: RunResult): void {
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
}

function expectSameTree(src: string, dest: string): void {
  expect(diffTrees(snapshot(src, { withRoot: true }), snapshot(dest, { withRoot: true }))).toEqual([]);
}

/** The `random` preset in tmp/src, with a root mode and mtime of its own and (as root) mixed owners. */
function randomTree(): string {
  const src = path.join(tmp(), 'src');
  makeTree('random', src);
  if (isRoot) {
    listEntries(src, { files: true }).forEach((rel, i) => {
      if (i % 7 === 0) fs.chownSync(path.join(src, rel), 1000 + i, 2000 + i);
    });
    fs.lchownSync(path.join(src, 'link-dangling'), 4321, 8765);
    fs.chownSync(path.join(src, 'empty'), 3333, 4444);
  }
  fs.chmodSync(src, 0o750);
  spawnSync('touch', ['-m', '-d', '@1555555555.987654321', src]);
  return src;
}

/** Sets mtime to the nanosecond and atime too (touch -d). */
function touchNs(p: string, seconds: string): void {
  const r = spawnSync('touch', ['-h', '-d', `@${seconds}`, p]);
  if (r.status !== 0) throw new Error(String(r.stderr));
}

describe('copying a tree', () => {
  it.each([
    ['default options', []],
    ['-j 3 --chunk-size 1k', ['-j', '3', '--chunk-size', '1k']],
  ])('copies the random preset exactly (%s): contents, modes, owners, mtimes, links, root metadata', async (_name, opts) => {
    const src = randomTree();
    const dest = path.join(tmp(), 'out', 'dest');
    const r = await pcopy([...opts, 'src', 'out/dest']);
    expectOk(r);
    expectSameTree(src, dest);
    expect(findTemps(dest)).toEqual([]);
    const files = listEntries(src, { files: true }).length;
    expect(r.stdout).toMatch(new RegExp(`^pcopy: ${files} files copied, 0 unchanged, `));
  });

  it('keeps dotfiles, empty dirs and every kind of symlink as a link; skips a FIFO with a message and exit 0', async () => {
    const src = path.join(tmp(), 'src');
    fs.mkdirSync(path.join(src, 'empty', 'nested-empty'), { recursive: true });
    fs.mkdirSync(path.join(src, '.hidden-dir'));
    fs.writeFileSync(path.join(src, '.hidden-dir', '.dotfile'), 'dot\n');
    fs.writeFileSync(path.join(src, '.env'), 'X=1\n');
    fs.writeFileSync(path.join(src, 'target.txt'), 'target\n');
    fs.symlinkSync('target.txt', path.join(src, 'rel-link'));
    fs.symlinkSync('/etc/hostname', path.join(src, 'abs-link'));
    fs.symlinkSync('no/such/thing', path.join(src, 'dangling-link'));
    fs.symlinkSync('loop-link', path.join(src, 'loop-link'));
    fs.symlinkSync('.', path.join(src, 'dot-link'));
    fs.symlinkSync('empty', path.join(src, 'dir-link'));
    expect(spawnSync('mkfifo', [path.join(src, 'a-fifo')]).status).toBe(0);
    touchNs(path.join(src, 'empty', 'nested-empty'), '1234567890.000001');
    touchNs(path.join(src, 'dir-link'), '1111111111.111111');

    const r = await pcopy(['src', 'dest']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('pcopy: Skipped `src/a-fifo`: a FIFO (special files are not copied)\n');
    expect(r.stdout).toMatch(/, 1 skipped\n$/);

    const dest = path.join(tmp(), 'dest');
    expect(fs.existsSync(path.join(dest, 'a-fifo'))).toBe(false);
    for (const [name, target] of [
      ['rel-link', 'target.txt'],
      ['abs-link', '/etc/hostname'],
      ['dangling-link', 'no/such/thing'],
      ['loop-link', 'loop-link'],
      ['dot-link', '.'],
      ['dir-link', 'empty'],
    ]) {
      expect(fs.lstatSync(path.join(dest, name!)).isSymbolicLink()).toBe(true);
      expect(fs.readlinkSync(path.join(dest, name!))).toBe(target);
    }
    expect(mtimeUs(path.join(dest, 'dir-link'))).toBe(1_111_111_111_111_111n);
    expect(fs.lstatSync(path.join(dest, 'empty', 'nested-empty')).isDirectory()).toBe(true);
    expect(fs.readdirSync(path.join(dest, 'empty', 'nested-empty'))).toEqual([]);
    expect(fs.readFileSync(path.join(dest, '.hidden-dir', '.dotfile'), 'utf8')).toBe('dot\n');
    expect(fs.readFileSync(path.join(dest, '.env'), 'utf8')).toBe('X=1\n');
    // everything but the FIFO is identical
    const want = snapshot(src, { withRoot: true });
    want.delete('a-fifo');
    expect(diffTrees(want, snapshot(dest, { withRoot: true }))).toEqual([]);
  });

  it('keeps modification times from before 1970', async () => {
    const src = path.join(tmp(), 'src');
    fs.mkdirSync(path.join(src, 'old-dir'), { recursive: true });
    fs.writeFileSync(path.join(src, 'old-dir', 'old.txt'), 'from the sixties\n');
    fs.symlinkSync('old.txt', path.join(src, 'old-dir', 'old-link'));
    touchNs(path.join(src, 'old-dir', 'old.txt'), '-300000000.123456');
    touchNs(path.join(src, 'old-dir', 'old-link'), '-1.5');
    touchNs(path.join(src, 'old-dir'), '-86400');
    expectOk(await pcopy(['src', 'dest']));
    const dest = path.join(tmp(), 'dest');
    expect(mtimeUs(path.join(dest, 'old-dir', 'old.txt'))).toBe(-300_000_000_123_456n + 0n);
    expect(fs.lstatSync(path.join(dest, 'old-dir', 'old-link'), { bigint: true }).mtimeNs).toBe(-1_500_000_000n);
    expect(fs.lstatSync(path.join(dest, 'old-dir'), { bigint: true }).mtimeNs).toBe(-86_400_000_000_000n);
  });

  it('a rerun over a complete copy exits 0, rewrites nothing (same inodes) and reports the files as unchanged', async () => {
    const src = randomTree();
    const dest = path.join(tmp(), 'dest');
    expectOk(await pcopy(['src', 'dest']));
    const before = inodes(dest);
    const snap = snapshot(dest, { withRoot: true });
    const r = await pcopy(['src', 'dest']);
    expectOk(r);
    const files = listEntries(src, { files: true }).length;
    expect(r.stdout).toMatch(new RegExp(`^pcopy: 0 files copied, ${files} unchanged, `));
    expect(inodes(dest)).toEqual(before);
    expect(diffTrees(snap, snapshot(dest, { withRoot: true }))).toEqual([]);
    expectSameTree(src, dest);
  });

  it('a trailing slash on SRC changes nothing', async () => {
    const src = path.join(tmp(), 'src');
    writeFile(path.join(src, 'a', 'b.bin'), 5000, { mode: 0o600 });
    writeFile(path.join(src, 'c.bin'), 70_000);
    expectOk(await pcopy(['src/', 'dest']));
    expectSameTree(src, path.join(tmp(), 'dest'));
    expect(fs.existsSync(path.join(tmp(), 'dest', 'src'))).toBe(false);
  });

  it('follows SRC given as a symlink to a directory', async () => {
    const src = path.join(tmp(), 'real-src');
    writeFile(path.join(src, 'inner', 'f.bin'), 3000);
    fs.symlinkSync('inner/f.bin', path.join(src, 'link'));
    fs.chmodSync(src, 0o711);
    touchNs(src, '1222333444.555666');
    fs.symlinkSync('real-src', path.join(tmp(), 'src-link'));
    expectOk(await pcopy(['src-link', 'dest']));
    const dest = path.join(tmp(), 'dest');
    expect(fs.lstatSync(dest).isDirectory()).toBe(true);
    expectSameTree(src, dest);
  });
});

describe('merging into an existing DEST', () => {
  function srcWithFile(rel: string, size = 4000): { src: string; data: Buffer } {
    const src = path.join(tmp(), 'src');
    const data = writeFile(path.join(src, rel), size, { mode: 0o640 });
    fs.utimesSync(path.join(src, rel), 1_400_000_000, 1_500_000_000.25);
    return { src, data };
  }

  it('replaces a symlink where SRC has a file, without touching the file it pointed to', async () => {
    const { data } = srcWithFile('x');
    const outside = path.join(tmp(), 'outside.txt');
    fs.writeFileSync(outside, 'do not touch\n');
    const outsideIno = ino(outside);
    const outsideMtime = mtimeUs(outside);
    fs.mkdirSync(path.join(tmp(), 'dest'));
    fs.symlinkSync('../outside.txt', path.join(tmp(), 'dest', 'x'));
    expectOk(await pcopy(['src', 'dest']));
    const x = path.join(tmp(), 'dest', 'x');
    expect(fs.lstatSync(x).isFile()).toBe(true);
    expect(hashFile(x)).toBe(sha256(data));
    expect(fs.readFileSync(outside, 'utf8')).toBe('do not touch\n');
    expect(ino(outside)).toBe(outsideIno);
    expect(mtimeUs(outside)).toBe(outsideMtime);
  });

  it('replaces a dangling symlink where SRC has a directory with the directory', async () => {
    const { src } = srcWithFile('d/inside.bin');
    fs.mkdirSync(path.join(tmp(), 'dest'));
    fs.symlinkSync('nowhere', path.join(tmp(), 'dest', 'd'));
    expectOk(await pcopy(['src', 'dest']));
    expect(fs.lstatSync(path.join(tmp(), 'dest', 'd')).isDirectory()).toBe(true);
    expect(fs.existsSync(path.join(tmp(), 'nowhere'))).toBe(false);
    expectSameTree(src, path.join(tmp(), 'dest'));
  });

  it('replaces a symlink to a directory where SRC has a directory, leaving the linked directory alone', async () => {
    const { src } = srcWithFile('d/inside.bin');
    fs.mkdirSync(path.join(tmp(), 'elsewhere'));
    fs.mkdirSync(path.join(tmp(), 'dest'));
    fs.symlinkSync('../elsewhere', path.join(tmp(), 'dest', 'd'));
    expectOk(await pcopy(['src', 'dest']));
    expect(fs.lstatSync(path.join(tmp(), 'dest', 'd')).isDirectory()).toBe(true);
    expect(fs.readdirSync(path.join(tmp(), 'elsewhere'))).toEqual([]);
    expectSameTree(src, path.join(tmp(), 'dest'));
  });

  it.each([
    ['a different size', (f: string) => writeFile(f, 10)],
    ['the same size and another mtime', (f: string) => {
      writeFile(f, 4000);
      fs.utimesSync(f, 1_000, 1_000);
    }],
  ])('replaces a stale file with %s', async (_how, stale) => {
    const { src, data } = srcWithFile('f.bin');
    const dest = path.join(tmp(), 'dest');
    fs.mkdirSync(dest);
    stale(path.join(dest, 'f.bin'));
    const r = await pcopy(['src', 'dest']);
    expectOk(r);
    expect(r.stdout).toMatch(/^pcopy: 1 file copied, 0 unchanged, /);
    expect(hashFile(path.join(dest, 'f.bin'))).toBe(sha256(data));
    expectSameTree(src, dest);
  });

  it('reports a non-empty directory where SRC has a file (exit 1), keeps it, and copies the rest', async () => {
    const { src } = srcWithFile('clash');
    writeFile(path.join(src, 'other.bin'), 100);
    const dest = path.join(tmp(), 'dest');
    fs.mkdirSync(path.join(dest, 'clash'), { recursive: true });
    fs.writeFileSync(path.join(dest, 'clash', 'keep.txt'), 'keep\n');
    const r = await pcopy(['src', 'dest']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('pcopy: Cannot copy `src/clash` to `dest/clash`: destination is a non-empty directory\n');
    expect(r.stdout).toMatch(/, 1 failed, /);
    expect(fs.readFileSync(path.join(dest, 'clash', 'keep.txt'), 'utf8')).toBe('keep\n');
    expect(hashFile(path.join(dest, 'other.bin'))).toBe(hashFile(path.join(src, 'other.bin')));
    expect(findTemps(dest)).toEqual([]);
  });

  it('replaces an empty directory where SRC has a file', async () => {
    const { src } = srcWithFile('was-dir');
    fs.mkdirSync(path.join(tmp(), 'dest', 'was-dir'), { recursive: true });
    expectOk(await pcopy(['src', 'dest']));
    expectSameTree(src, path.join(tmp(), 'dest'));
  });

  it('replaces a file where SRC has a directory', async () => {
    const { src } = srcWithFile('sub/f.bin');
    fs.mkdirSync(path.join(tmp(), 'dest'));
    fs.writeFileSync(path.join(tmp(), 'dest', 'sub'), 'a file in the way');
    expectOk(await pcopy(['src', 'dest']));
    expectSameTree(src, path.join(tmp(), 'dest'));
  });

  it('keeps extra files and directories that are only in DEST', async () => {
    const { src } = srcWithFile('d/f.bin');
    const dest = path.join(tmp(), 'dest');
    fs.mkdirSync(path.join(dest, 'd'), { recursive: true });
    fs.mkdirSync(path.join(dest, 'only-dest-dir'));
    fs.writeFileSync(path.join(dest, 'only-dest.txt'), 'mine\n');
    fs.writeFileSync(path.join(dest, 'd', 'extra.txt'), 'also mine\n');
    fs.symlinkSync('only-dest.txt', path.join(dest, 'only-dest-link'));
    expectOk(await pcopy(['src', 'dest']));
    expect(fs.readFileSync(path.join(dest, 'only-dest.txt'), 'utf8')).toBe('mine\n');
    expect(fs.readFileSync(path.join(dest, 'd', 'extra.txt'), 'utf8')).toBe('also mine\n');
    expect(fs.readlinkSync(path.join(dest, 'only-dest-link'))).toBe('only-dest.txt');
    expect(fs.lstatSync(path.join(dest, 'only-dest-dir')).isDirectory()).toBe(true);
    expect(hashFile(path.join(dest, 'd', 'f.bin'))).toBe(hashFile(path.join(src, 'd', 'f.bin')));
    expect(fs.existsSync(path.join(dest, 'src'))).toBe(false); // merged, not nested
  });
});

describe('copying one file', () => {
  function srcFile(): { file: string; data: Buffer } {
    const file = path.join(tmp(), 'src', 'one.bin');
    const data = writeFile(file, 100_000, { mode: 0o604 });
    touchNs(file, '1333333333.444444555');
    return { file, data };
  }

  function expectCopyOf(file: string, copy: string, data: Buffer): void {
    expect(hashFile(copy)).toBe(sha256(data));
    expect(fs.lstatSync(copy).mode & 0o7777).toBe(fs.lstatSync(file).mode & 0o7777);
    expect(mtimeUs(copy)).toBe(1_333_333_333_444_444n);
  }

  it('to a new path (parents created)', async () => {
    const { file, data } = srcFile();
    const r = await pcopy(['src/one.bin', 'a/b/copy.bin']);
    expectOk(r);
    expect(r.stdout).toMatch(/^pcopy: 1 file copied, /);
    expectCopyOf(file, path.join(tmp(), 'a', 'b', 'copy.bin'), data);
    expect(fs.readdirSync(path.join(tmp(), 'a', 'b'))).toEqual(['copy.bin']);
  });

  it('into an existing directory as DEST/<name>', async () => {
    const { file, data } = srcFile();
    fs.mkdirSync(path.join(tmp(), 'dir'));
    fs.writeFileSync(path.join(tmp(), 'dir', 'neighbour'), 'n');
    expectOk(await pcopy(['src/one.bin', 'dir']));
    expectCopyOf(file, path.join(tmp(), 'dir', 'one.bin'), data);
    expect(fs.readdirSync(path.join(tmp(), 'dir')).sort()).toEqual(['neighbour', 'one.bin']);
  });

  it('into a new directory written with a trailing slash', async () => {
    const { file, data } = srcFile();
    expectOk(await pcopy(['src/one.bin', 'newdir/']));
    expectCopyOf(file, path.join(tmp(), 'newdir', 'one.bin'), data);
  });

  it('over an existing different file', async () => {
    const { file, data } = srcFile();
    fs.writeFileSync(path.join(tmp(), 'old.bin'), 'old');
    expectOk(await pcopy(['src/one.bin', 'old.bin']));
    expectCopyOf(file, path.join(tmp(), 'old.bin'), data);
  });
});
