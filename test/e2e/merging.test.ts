/**
 * Merging into an existing DEST: what is replaced (stale files, links where SRC has a file or a
 * directory, a file where SRC has a directory), what is kept (entries only in DEST, a non-empty
 * directory in the way), and when an existing file is rewritten: the quick check (size and mtime),
 * -I, --ignore-existing, -u and --modify-window. A rerun over a complete copy rewrites nothing.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { build, diffTrees, findTemps, hashFile, ino, inodes, listEntries, makeOwnedRandomTree, mtimeUs, read, sha256, snapshot, srcDestPerTest, statOf, touch, writeFile } from '../helpers/tree.js';
import { runPcopy, type RunResult } from '../helpers/run.js';
import { expectOk, expectSameTree, pcopyIn } from '../helpers/expect.js';
import { AS_USER, canRunAsUser, REASON, unavailable } from '../helpers/host.js';
import { deadPid } from '../helpers/proc.js';

let work: string;
let src: string;
let dest: string;
srcDestPerTest('pcopy-merging-', (dirs) => ({ work, src, dest } = dirs));
/** The test's temp directory (holding src/ and the dest path). */
const tmp = (): string => work;

/** Runs pcopy with the test's temp directory as cwd. */
const pcopy = pcopyIn(tmp);

describe('a rerun over a complete copy', () => {
  // Merged from two tests that checked the same behaviour (core-copy: summary and inodes;
  // acceptance G2: inode, size, mtime and mode of every entry and of the root).
  it('exits 0, rewrites nothing (same inodes, sizes, mtimes and modes, the root too) and reports the files as unchanged', async () => {
    makeOwnedRandomTree(src);
    expectOk(await pcopy(['src', 'dest']));
    expectSameTree(src, dest);
    // Not ctime: the source's atime moves when it is read, and pcopy keeps atimes in step (utimes).
    const stamp = (): Map<string, string> => {
      const out = new Map<string, string>();
      for (const rel of ['', ...listEntries(dest)]) {
        const st = statOf(path.join(dest, rel));
        out.set(rel || '.', `ino ${st.ino} size ${st.size} mtime ${st.mtimeNs} mode ${st.mode}`);
      }
      return out;
    };
    const before = stamp();
    const snap = snapshot(dest, { withRoot: true });
    const r = await pcopy(['src', 'dest']);
    expectOk(r);
    const files = listEntries(src, { files: true }).length;
    expect(r.stdout).toMatch(new RegExp(`^pcopy: 0 files copied, ${files} unchanged, `));
    const after = stamp();
    const changed = [...before].filter(([rel, s]) => after.get(rel) !== s).map(([rel, s]) => `${rel}: ${s} → ${after.get(rel)}`);
    expect(changed).toEqual([]);
    expect(after.size).toBe(before.size);
    expect(diffTrees(snap, snapshot(dest, { withRoot: true }))).toEqual([]);
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
    // A rerun writes nothing on its way to the same failure: no temp copy made and thrown away in
    // DEST, whose times would then be set again (its ctime moves).
    const before = statOf(dest).ctimeNs;
    const again = await pcopy(['src', 'dest']);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(r.stderr);
    expect(statOf(dest).ctimeNs).toBe(before);
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

const T0 = 1_600_000_000;

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
  // cp -an and rsync --ignore-existing leave the file and report the directory (exit 1 / 23).
  it('keeps a file or symlink where SRC has a directory: that directory and its entries fail, exit 1', async () => {
    const src = path.join(tmp(), 'src');
    const dest = path.join(tmp(), 'dest');
    build(src, { x: { 'y.txt': 'y\n' }, l: { 'z.txt': 'z\n' }, 't.txt': 't\n' });
    build(dest, { x: 'precious\n' });
    fs.symlinkSync('x', path.join(dest, 'l'));
    for (const args of [['--dry-run'], []]) {
      const r = await pcopy(['--ignore-existing', ...args, src, dest]);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr.split('\n').filter((l) => l.includes('--ignore-existing keeps it'))).toHaveLength(2);
      expect(read(path.join(dest, 'x'))).toBe('precious\n');
      expect(fs.readlinkSync(path.join(dest, 'l'))).toBe('x');
    }
    expect(read(path.join(dest, 't.txt'))).toBe('t\n');
  });
});

describe('as an ordinary user', () => {
  const userWorks = canRunAsUser();
  // rsync -r and cp give such a directory its mode back; only the owner's rights are lent for the run.
  it.skipIf(unavailable(!userWorks, REASON.user))('a read-only directory already in DEST takes the new files and gets its own mode back when modes are not kept', async () => {
    const src = path.join(tmp(), 'src');
    const dest = path.join(tmp(), 'dest');
    build(src, { ro: { 'new.txt': 'new\n' } });
    build(dest, { ro: { 'old.txt': 'old\n' } });
    fs.chmodSync(tmp(), 0o755);
    for (const p of listEntries(tmp()).map((rel) => path.join(tmp(), rel)).concat(tmp())) fs.lchownSync(p, 65534, 65534);
    fs.chmodSync(path.join(src, 'ro'), 0o555);
    fs.chmodSync(path.join(dest, 'ro'), 0o555);
    for (const args of [['--no-preserve'], ['--preserve', 'times'], ['--ignore-existing', '--no-preserve']]) {
      const r = await runPcopy([...args, src, dest], { prefix: AS_USER });
      expectOk(r);
      expect(read(path.join(dest, 'ro', 'new.txt'))).toBe('new\n');
      expect(Number(statOf(path.join(dest, 'ro')).mode & 0o7777n).toString(8), args.join(' ')).toBe('555');
      fs.rmSync(path.join(dest, 'ro', 'new.txt')); // the test runs as root: the mode does not stop it
    }
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

describe('dry runs say what the real run does', () => {
  /** `-n` lines (without the summary), then the real run's result. */
  async function dryThenReal(args: string[]): Promise<{ dry: RunResult; real: RunResult }> {
    const dry = await pcopy(['-n', ...args, 'src', 'dest']);
    const real = await pcopy(['-v', ...args, 'src', 'dest']);
    return { dry, real };
  }

  it('a file where SRC has a directory (replaced by the real run): its entries would be copied, no ENOTDIR', async () => {
    build(src, { a: { in: 'x\n' } });
    build(dest, { a: 'old\n' });
    const { dry, real } = await dryThenReal([]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/^copy +a\/in$/m);
    expect(real.code, real.stderr).toBe(0);
    expect(read(path.join(dest, 'a', 'in'))).toBe('x\n');
  });

  it('a symlink in DEST where SRC has a directory is not looked through: its entries would be copied', async () => {
    build(src, { a: { in: 'x\n' } });
    const outside = path.join(tmp(), 'outside');
    build(outside, { in: 'x\n' });
    // The same size and time as the source's: looked at through the link, it would say "unchanged".
    touch(path.join(src, 'a', 'in'), T0);
    touch(path.join(outside, 'in'), T0);
    fs.mkdirSync(dest);
    fs.symlinkSync('../outside', path.join(dest, 'a'));
    const { dry, real } = await dryThenReal([]);
    expect(dry.stdout).toMatch(/^copy +a\/in$/m);
    expect(real.stdout).toMatch(/^copied +a\/in$/m);
    expect(fs.lstatSync(path.join(dest, 'a')).isDirectory()).toBe(true);
    expect(read(path.join(outside, 'in'))).toBe('x\n');
  });

  it('a file onto a non-empty directory fails in the dry run as in the real run', async () => {
    build(src, { a: 'x\n' });
    build(dest, { a: { k: 'keep\n' } });
    const { dry, real } = await dryThenReal([]);
    for (const r of [dry, real]) {
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/Cannot copy `src\/a` to `dest\/a`: destination is a non-empty directory/);
    }
    expect(read(path.join(dest, 'a', 'k'))).toBe('keep\n');
  });
});

describe('a change of type and --update', () => {
  it('-u replaces a newer file in DEST where SRC now has a symlink (a change of type is always an update, as rsync -u)', async () => {
    fs.mkdirSync(src, { recursive: true });
    fs.symlinkSync('target', path.join(src, 'x'));
    build(dest, { x: 'newer\n' });
    touch(path.join(dest, 'x'), Math.floor(Date.now() / 1000) + 86_400); // newer than the link
    expectOk(await pcopy(['-u', 'src', 'dest']));
    expect(fs.readlinkSync(path.join(dest, 'x'))).toBe('target');
  });
});

describe('temp files of a killed run', () => {
  it('a file SRC copied into a directory removes the temp files dead runs left there (not a live run\'s)', async () => {
    build(src, { f: 'data\n' });
    fs.mkdirSync(dest);
    const stale = path.join(dest, `.pcopy-${deadPid()}-abcdef-0.tmp`);
    const live = path.join(dest, `.pcopy-${process.pid}-abcdef-1.tmp`);
    for (const t of [stale, live]) fs.writeFileSync(t, 'partial');
    expectOk(await pcopy(['src/f', 'dest/']));
    expect(read(path.join(dest, 'f'))).toBe('data\n');
    expect(fs.existsSync(stale)).toBe(false);
    expect(fs.existsSync(live)).toBe(true);
  });
});

describe('names that look like temp files', () => {
  it('a SRC entry named like a dead run\'s temp is copied like any file, and a rerun leaves it alone (never removed and written again)', async () => {
    const name = `.pcopy-${deadPid()}-abcdef-7.tmp`;
    build(src, { [name]: 'mine\n', sub: { [name]: 'mine too\n' } });
    expectOk(await pcopy(['src', 'dest']));
    expect(read(path.join(dest, name))).toBe('mine\n');
    expect(read(path.join(dest, 'sub', name))).toBe('mine too\n');
    const before = [ino(path.join(dest, name)), ino(path.join(dest, 'sub', name))];
    const again = await pcopy(['src', 'dest']);
    expectOk(again);
    expect(again.stdout).toMatch(/^pcopy: 0 files copied, 2 unchanged/);
    expect([ino(path.join(dest, name)), ino(path.join(dest, 'sub', name))]).toEqual(before);
    // A file SRC of such a name, copied into a directory, likewise.
    expectOk(await pcopy([`src/sub/${name}`, 'dest/sub/']));
    expect(ino(path.join(dest, 'sub', name))).toBe(before[1]);
  });
});

describe('messages about the root of a tree', () => {
  const userWorks = canRunAsUser();
  it.skipIf(unavailable(!userWorks, REASON.user))('a failure to set DEST\'s own metadata names DEST, not DEST/<SRC name>', async () => {
    build(src, { f: 'x\n' });
    fs.chmodSync(tmp(), 0o755);
    fs.chownSync(src, 65534, 65534);
    fs.chownSync(path.join(src, 'f'), 65534, 65534);
    fs.mkdirSync(dest);
    fs.chmodSync(dest, 0o777); // root's: an ordinary user may write in it, not set its mode or times
    const r = await runPcopy([src, dest], { prefix: AS_USER });
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(`pcopy: Cannot copy \`${src}\` to \`${dest}\`: EPERM: operation not permitted`);
    expect(read(path.join(dest, 'f'))).toBe('x\n');
  });
});

