/**
 * Copying: a tree arrives whole and exact (contents, modes, owners, times, links, the root's own
 * metadata), odd entries included (dotfiles, empty directories, FIFOs, sockets and devices skipped
 * with a message, non-UTF-8 names, names of 255 bytes or with line breaks, a deep tree), and one
 * file copied to a path, into a directory or over a file. Entries are made for real.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { diffTrees, findTemps, hashFile, listEntries, makeOwnedRandomTree, mtimeUs, sha256, snapshot, srcDestPerTest, touchNs, writeFile } from '../helpers/tree.js';
import { runPcopy, type RunResult } from '../helpers/run.js';
import { clip, failureLines } from '../helpers/output.js';
import { expectOk, expectSameTree, pcopyIn } from '../helpers/expect.js';

let work: string;
let src: string;
let dest: string;
srcDestPerTest('pcopy-copying-', (dirs) => ({ work, src, dest } = dirs));
/** The test's temp directory (holding src/ and the dest path). */
const tmp = (): string => work;

/** Runs pcopy with the test's temp directory as cwd. */
const pcopy = pcopyIn(tmp);

describe('copying a tree', () => {
  it.each([
    ['default options', []],
    ['-j 3 --chunk-size 1k', ['-j', '3', '--chunk-size', '1k']],
  ])('copies the random preset exactly (%s): contents, modes, owners, mtimes, links, root metadata', async (_name, opts) => {
    const src = makeOwnedRandomTree(path.join(tmp(), 'src'));
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

describe('B1 dotfiles, dot-directories and empty directories', () => {
  it('all arrive, with their metadata', async () => {
    writeFile(path.join(src, '.dotfile'), 100);
    writeFile(path.join(src, '.dot-dir/.inner-dot'), 10);
    writeFile(path.join(src, '.dot-dir/plain'), 0);
    fs.mkdirSync(path.join(src, '.dot-dir/.empty-dot-dir'), { recursive: true });
    fs.mkdirSync(path.join(src, 'empty/nested/deeper'), { recursive: true });
    fs.mkdirSync(path.join(src, 'full/.hidden-empty'), { recursive: true });
    writeFile(path.join(src, 'full/..double-dot-name'), 5);
    writeFile(path.join(src, 'full/.'.concat('...')), 3);
    fs.chmodSync(path.join(src, 'empty/nested'), 0o750);
    fs.utimesSync(path.join(src, 'empty'), 1_500_000_000, 1_500_000_000);

    const r = await runPcopy([src, dest]);
    expect(r.code, clip(r.stderr)).toBe(0);
    expect(r.stderr).toBe('');
    expect(diffTrees(snapshot(src), snapshot(dest))).toEqual([]);
    for (const rel of ['.dotfile', '.dot-dir/.inner-dot', '.dot-dir/.empty-dot-dir', 'empty/nested/deeper', 'full/.hidden-empty', 'full/....']) {
      expect(fs.existsSync(path.join(dest, rel)), rel).toBe(true);
    }
  });
});

describe('B4 FIFOs, sockets and devices', () => {
  it('are never opened, each is reported as skipped, and the exit code stays 0', async () => {
    writeFile(path.join(src, 'sibling'), 4096);
    writeFile(path.join(src, 'sub/sibling2'), 10);
    const fifo = path.join(src, 'fifo');
    const sock = path.join(src, 'sub/sock');
    const mk = (args: string[]): void => {
      const r = spawnSync('mknod', args, { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`mknod ${args.join(' ')} failed: ${clip(r.stderr)}`);
    };
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    mk([path.join(src, 'zero-dev'), 'c', '1', '5']); // like /dev/zero: reading it would never end
    mk([path.join(src, 'sub/null-dev'), 'c', '1', '3']);
    mk([path.join(src, 'block-dev'), 'b', '7', '0']);
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(sock, resolve));
    // A writer blocked in open() until someone opens the FIFO for reading: it stays blocked unless pcopy opens it.
    const writer = spawn('sh', ['-c', `echo data > '${fifo}'`], { stdio: 'ignore' });
    let writerExited = false;
    writer.on('exit', () => (writerExited = true));
    try {
      const r = await runPcopy([src, dest], { timeoutMs: 30_000 });
      expect(r.code, clip(r.stderr)).toBe(0);
      for (const [rel, kind] of [
        ['fifo', /FIFO/],
        ['sub/sock', /socket/],
        ['zero-dev', /character device/],
        ['sub/null-dev', /character device/],
        ['block-dev', /block device/],
      ] as const) {
        const line = r.stderr.split('\n').find((l) => l.includes(`\`${path.join(src, rel)}\``));
        expect(line, `${rel} reported\n${clip(r.stderr)}`).toBeDefined();
        expect(line!).toMatch(/skipped/i);
        expect(line!).toMatch(kind);
        expect(fs.existsSync(path.join(dest, rel)), `${rel} not created`).toBe(false);
      }
      expect(failureLines(r.stderr)).toEqual([]);
      expect(r.stdout).toMatch(/\b5 skipped/);
      expect(fs.readFileSync(path.join(dest, 'sibling'))).toEqual(fs.readFileSync(path.join(src, 'sibling')));
      expect(fs.readFileSync(path.join(dest, 'sub/sibling2'))).toEqual(fs.readFileSync(path.join(src, 'sub/sibling2')));
      expect(writerExited, 'the FIFO was opened by someone (its blocked writer got through)').toBe(false);
    } finally {
      writer.kill('SIGKILL');
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('B5 a file name that is not valid UTF-8', () => {
  it('is copied byte-exact, as cp -a and rsync do; its siblings are copied', async () => {
    const badFile = Buffer.concat([Buffer.from(src + '/bad-'), Buffer.from([0xff, 0xfe, 0x80]), Buffer.from('.txt')]);
    const badDir = Buffer.concat([Buffer.from(src + '/dir-'), Buffer.from([0xc3, 0x28])]);
    const latin1 = Buffer.concat([Buffer.from(src + '/caf'), Buffer.from([0xe9])]); // "café" in Latin-1
    fs.writeFileSync(badFile, 'bad file content\n');
    fs.mkdirSync(badDir);
    fs.writeFileSync(Buffer.concat([badDir, Buffer.from('/inside')]), 'inside a bad dir\n');
    fs.writeFileSync(latin1, 'latin-1 name\n');
    writeFile(path.join(src, 'good-1'), 3000);
    writeFile(path.join(src, 'sub/good-2'), 70_000);
    writeFile(path.join(src, 'zzz-after'), 1);

    const r = await runPcopy([src, dest]);
    const why = r.stderr;
    // Siblings always arrive, byte-identical.
    for (const rel of ['good-1', 'sub/good-2', 'zzz-after']) {
      expect(fs.readFileSync(path.join(dest, rel)), rel).toEqual(fs.readFileSync(path.join(src, rel)));
    }
    expect(findTemps(dest)).toEqual([]);
    const destNames = fs.readdirSync(dest, { encoding: 'buffer' });
    // Never under a mangled name (U+FFFD = EF BF BD where the bad bytes were).
    for (const n of destNames) expect(n.includes(Buffer.from([0xef, 0xbf, 0xbd])), `mangled name ${n.toString('hex')}`).toBe(false);
    for (const [full, content] of [
      [badFile, 'bad file content\n'],
      [badDir, null],
      [latin1, 'latin-1 name\n'],
    ] as const) {
      const name = full.subarray(Buffer.from(src + '/').length);
      expect(destNames.find((n) => n.equals(name)), `${name.toString('hex')} not copied under its own bytes\n${why}`).toBeDefined();
      const d = Buffer.concat([Buffer.from(dest + '/'), name]);
      if (content === null) {
        expect(fs.readFileSync(Buffer.concat([d, Buffer.from('/inside')]), 'utf8')).toBe('inside a bad dir\n');
      } else {
        expect(fs.readFileSync(d, 'utf8')).toBe(content);
      }
    }
    expect(r.code, why).toBe(0);
  });
});

describe('long names and long paths', () => {
  it('copies files and directories whose names are 255 bytes (the temp name stays short)', async () => {
    const src = path.join(tmp(), 'src');
    const long = 'n'.repeat(255);
    const longUtf8 = 'é'.repeat(127) + 'x'; // 255 bytes in UTF-8
    fs.mkdirSync(path.join(src, long), { recursive: true });
    fs.writeFileSync(path.join(src, long, long), 'deep and long\n');
    fs.writeFileSync(path.join(src, longUtf8), 'two-byte characters\n');
    fs.symlinkSync(long, path.join(src, `${'l'.repeat(254)}k`));
    const dest = path.join(tmp(), 'dest');
    const r = await runPcopy([src, dest]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(diffTrees(snapshot(src), snapshot(dest))).toEqual([]);
    expect(findTemps(dest)).toEqual([]);
  });

  it('copies names with line breaks (which fast-glob alone would drop silently), directories and their contents too', async () => {
    const src = path.join(tmp(), 'src');
    fs.mkdirSync(path.join(src, 'dir\nwith break', 'sub'), { recursive: true });
    fs.writeFileSync(path.join(src, 'dir\nwith break', 'sub', 'inside'), 'in a dir with a newline\n');
    fs.writeFileSync(path.join(src, 'file\nname'), 'newline\n');
    fs.writeFileSync(path.join(src, 'carriage\rreturn'), 'cr\n');
    fs.writeFileSync(path.join(src, 'line\u2028separator'), 'ls\n');
    fs.symlinkSync('file\nname', path.join(src, 'link\nto it'));
    fs.writeFileSync(path.join(src, 'plain'), 'plain\n');
    const dest = path.join(tmp(), 'dest');
    const r = await runPcopy([src, dest]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(diffTrees(snapshot(src), snapshot(dest))).toEqual([]);
  });
});

describe('G4 a deep tree', () => {
  it('200 levels deep, a file and a link at every level: copied exactly', async () => {
    let dir = src;
    for (let i = 0; i < 200; i++) {
      dir = path.join(dir, `level-${String(i).padStart(3, '0')}`);
      fs.mkdirSync(dir);
      writeFile(path.join(dir, 'f'), i * 13, { seed: `deep-${i}` });
      fs.symlinkSync('f', path.join(dir, 'l'));
    }
    writeFile(path.join(dir, 'bottom'), 100 * 1024);
    expect(dir.length).toBeGreaterThan(2000);
    const r = await runPcopy([src, dest]);
    expect(r.code, clip(r.stderr)).toBe(0);
    expect(r.stdout).toMatch(/201 files copied/);
    expect(diffTrees(snapshot(src), snapshot(dest))).toEqual([]);
  });
});
