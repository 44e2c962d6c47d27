/**
 * Links: symlinks are recreated with the same target text, never followed or dropped (loops
 * included); -L copies what they point to (and finishes on loops, links into DEST and dangling
 * links); -H keeps hard-link groups together.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { build, copyInProgress, diffTrees, findTemps, listEntries, read, snapshot, srcDestPerTest, statOf, writeFile } from '../helpers/tree.js';
import { runPcopy, startPcopy, waitFor, withinOrKill, type RunResult } from '../helpers/run.js';
import { clip, lines } from '../helpers/output.js';
import { expectOk, pcopyIn } from '../helpers/expect.js';

let work: string;
let src: string;
let dest: string;
srcDestPerTest('pcopy-links-', (dirs) => ({ work, src, dest } = dirs));
/** The test's temp directory (holding src/ and the dest path). */
const tmp = (): string => work;

/** Runs pcopy with the test's temp directory as cwd. */
const pcopy = pcopyIn(tmp);

/** Depth of the deepest entry below `root` (links not followed). */
function maxDepth(root: string): number {
  return Math.max(0, ...listEntries(root, { marks: true }).map((e) => e.replace(/\/$/, '').split('/').length));
}

describe('B2 symlinks are recreated, never followed or dropped', () => {
  it('to files, to dirs, relative, absolute, dangling: same target text', async () => {
    writeFile(path.join(src, 'target.txt'), 1234);
    fs.mkdirSync(path.join(src, 'dir/sub'), { recursive: true });
    writeFile(path.join(src, 'dir/sub/in-dir'), 99);
    const links: Record<string, string> = {
      'to-file': 'target.txt',
      'to-dir': 'dir',
      'dir/sub/relative-up': '../../target.txt',
      'dir/to-parent-dir': '..',
      absolute: '/etc/hostname',
      'absolute-dir': '/usr',
      dangling: 'does/not/exist',
      'dangling-abs': '/nonexistent/pcopy/target',
      'odd-text': './dir//sub/../sub/',
      'to-link': 'to-file',
      'spaces and ünïcode': 'target.txt',
    };
    for (const [name, target] of Object.entries(links)) fs.symlinkSync(target, path.join(src, name));

    const r = await runPcopy([src, dest]);
    expect(r.code, clip(r.stderr)).toBe(0);
    for (const [name, target] of Object.entries(links)) {
      const d = path.join(dest, name);
      expect(fs.lstatSync(d).isSymbolicLink(), `${name} is a symlink`).toBe(true);
      expect(fs.readlinkSync(d), name).toBe(target);
    }
    // The directory link was not followed: its contents are not duplicated below it as real entries.
    expect(fs.lstatSync(path.join(dest, 'to-dir')).isSymbolicLink()).toBe(true);
    expect(diffTrees(snapshot(src), snapshot(dest))).toEqual([]);
    expect(r.stdout).toMatch(new RegExp(`${Object.keys(links).length} symlinks`));
  });
});

describe('B3 symlink loops', () => {
  it('finish promptly, copied as links, no duplicate trees', async () => {
    writeFile(path.join(src, 'file'), 10);
    fs.mkdirSync(path.join(src, 'sub'));
    fs.symlinkSync('.', path.join(src, 'loop'));
    fs.symlinkSync('b', path.join(src, 'a'));
    fs.symlinkSync('a', path.join(src, 'b'));
    fs.symlinkSync('self', path.join(src, 'self'));
    fs.symlinkSync('..', path.join(src, 'sub/up'));
    fs.symlinkSync('../sub', path.join(src, 'sub/again'));
    fs.symlinkSync(src, path.join(src, 'sub/abs-root'));

    const r = await runPcopy([src, dest], { timeoutMs: 30_000 });
    expect(r.code, clip(r.stderr)).toBe(0);
    expect(diffTrees(snapshot(src), snapshot(dest))).toEqual([]);
    for (const [rel, target] of [
      ['loop', '.'],
      ['a', 'b'],
      ['b', 'a'],
      ['self', 'self'],
      ['sub/up', '..'],
      ['sub/again', '../sub'],
      ['sub/abs-root', src],
    ]) {
      expect(fs.lstatSync(path.join(dest, rel!)).isSymbolicLink(), rel).toBe(true);
      expect(fs.readlinkSync(path.join(dest, rel!)), rel).toBe(target);
    }
    expect(r.stdout).toMatch(/1 file copied/);
  });
});

describe('-L, --dereference', () => {
  it('copies symlinks to files and directories as real files and directories with the targets\' contents', async () => {
    const src = path.join(tmp(), 'src');
    const outside = path.join(tmp(), 'outside');
    build(outside, { 'ext.txt': 'outside file\n', dir: { 'in.txt': 'in outside dir\n', deep: { 'd.txt': 'deep\n' } } });
    build(src, { 'real.txt': 'real\n', data: { 'x.txt': 'x\n' } });
    fs.chmodSync(path.join(outside, 'ext.txt'), 0o640);
    fs.symlinkSync('real.txt', path.join(src, 'rel-file-link'));
    fs.symlinkSync(path.join(outside, 'ext.txt'), path.join(src, 'abs-file-link'));
    fs.symlinkSync(path.join(outside, 'dir'), path.join(src, 'dir-link'));
    fs.symlinkSync('data', path.join(src, 'data-link'));
    const dest = path.join(tmp(), 'dest');

    const r = await pcopy(['-L', src, dest]);
    expectOk(r);
    for (const [rel, text] of [
      ['rel-file-link', 'real\n'],
      ['abs-file-link', 'outside file\n'],
      ['dir-link/in.txt', 'in outside dir\n'],
      ['dir-link/deep/d.txt', 'deep\n'],
      ['data-link/x.txt', 'x\n'],
      ['data/x.txt', 'x\n'],
    ] as const) {
      const st = fs.lstatSync(path.join(dest, rel));
      expect(st.isFile(), rel).toBe(true);
      expect(read(path.join(dest, rel))).toBe(text);
    }
    for (const rel of ['dir-link', 'dir-link/deep', 'data-link']) expect(fs.lstatSync(path.join(dest, rel)).isDirectory(), rel).toBe(true);
    // The target's metadata, not the link's.
    expect(fs.lstatSync(path.join(dest, 'abs-file-link')).mode & 0o7777).toBe(0o640);
    expect(listEntries(dest, { marks: true }).filter((e) => e.endsWith('@'))).toEqual([]);
    expect(r.stdout).toMatch(/^pcopy: 7 files copied, /);
  });

  it("finishes on `ln -s . loop` and on directories linking to each other: no endless nesting, loops reported", async () => {
    const src = path.join(tmp(), 'src');
    build(src, { 'f.txt': 'f\n', a: { 'in-a.txt': 'a\n' }, b: { 'in-b.txt': 'b\n' } });
    fs.symlinkSync('.', path.join(src, 'loop'));
    fs.symlinkSync('../b', path.join(src, 'a', 'to-b'));
    fs.symlinkSync('../a', path.join(src, 'b', 'to-a'));
    const dest = path.join(tmp(), 'dest');

    const r = await pcopy(['-L', src, dest]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/Skipped `[^`]*src\/loop`: a symlink loop/);
    expect(r.stderr).toMatch(/Skipped `[^`]*src\/a\/to-b\/to-a`: a symlink loop/);
    expect(r.stderr).toMatch(/Skipped `[^`]*src\/b\/to-a\/to-b`: a symlink loop/);
    expect(read(path.join(dest, 'f.txt'))).toBe('f\n');
    expect(read(path.join(dest, 'a', 'to-b', 'in-b.txt'))).toBe('b\n');
    expect(read(path.join(dest, 'b', 'to-a', 'in-a.txt'))).toBe('a\n');
    // The loop points themselves are made as empty directories, never walked.
    expect(fs.readdirSync(path.join(dest, 'loop'))).toEqual([]);
    expect(maxDepth(dest)).toBeLessThanOrEqual(4);
    expect(r.stdout).toMatch(/3 skipped$/m);
  });

  it('a symlink chain a -> b -> a finishes; each name is reported (ELOOP) and the rest copied, exit 1', async () => {
    const src = path.join(tmp(), 'src');
    build(src, { 'ok.txt': 'ok\n', sub: { 'deep.txt': 'd\n' } });
    fs.symlinkSync('b', path.join(src, 'a'));
    fs.symlinkSync('a', path.join(src, 'b'));
    const dest = path.join(tmp(), 'dest');
    const r = await pcopy(['-L', src, dest]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Cannot copy `[^`]*src\/a` to `[^`]*dest\/a`: ELOOP/);
    expect(r.stderr).toMatch(/Cannot copy `[^`]*src\/b` to `[^`]*dest\/b`: ELOOP/);
    expect(listEntries(dest, { marks: true })).toEqual(['ok.txt', 'sub/', 'sub/deep.txt']);
  });

  it('a link pointing into DEST does not make the copy grow (run twice)', async () => {
    const src = path.join(tmp(), 'src');
    const dest = path.join(tmp(), 'dest');
    build(src, { 'a.txt': 'a\n', sub: { 'b.txt': 'b\n' } });
    build(dest, { 'already.txt': 'in dest before\n' });
    fs.symlinkSync(dest, path.join(src, 'to-dest'));

    const r1 = await pcopy(['-L', src, dest]);
    expect(r1.code).toBe(0);
    expect(r1.stderr).toMatch(/Skipped `[^`]*src\/to-dest`: it is the destination/);
    const after1 = listEntries(dest, { marks: true });
    expect(after1).toEqual(['a.txt', 'already.txt', 'sub/', 'sub/b.txt', 'to-dest/']);
    const r2 = await pcopy(['-L', src, dest]);
    expect(r2.code).toBe(0);
    expect(listEntries(dest, { marks: true })).toEqual(after1);
    expect(fs.readdirSync(path.join(dest, 'to-dest'))).toEqual([]);
  });

  it('a dangling link under -L is reported (exit 1) and the rest is copied', async () => {
    const src = path.join(tmp(), 'src');
    build(src, { 'a.txt': 'a\n', sub: { 'b.txt': 'b\n' } });
    fs.symlinkSync('no/such/target', path.join(src, 'sub', 'dangling'));
    fs.symlinkSync('a.txt', path.join(src, 'good-link'));
    const dest = path.join(tmp(), 'dest');
    const r = await pcopy(['-L', src, dest]);
    expect(r.code).toBe(1);
    const errors = r.stderr.trimEnd().split('\n');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/Cannot copy `[^`]*src\/sub\/dangling` to `[^`]*dest\/sub\/dangling`: ENOENT/);
    expect(listEntries(dest, { marks: true })).toEqual(['a.txt', 'good-link', 'sub/', 'sub/b.txt']);
    expect(read(path.join(dest, 'good-link'))).toBe('a\n');
    expect(r.stdout).toMatch(/1 failed/);
    expect(findTemps(dest)).toEqual([]);
  });
});

describe('-H, --hard-links', () => {
  function linkedTree(): string {
    const src = path.join(tmp(), 'src');
    build(src, { 'a.txt': 'shared contents\n', sub: { deeper: {} }, 'solo.txt': 'solo\n' });
    fs.linkSync(path.join(src, 'a.txt'), path.join(src, 'b.txt'));
    fs.linkSync(path.join(src, 'a.txt'), path.join(src, 'sub', 'deeper', 'c.txt'));
    return src;
  }
  const names = ['a.txt', 'b.txt', 'sub/deeper/c.txt'];

  it('three names of one inode in SRC become three names of one (new) inode in DEST; a rerun finds them unchanged', async () => {
    const src = linkedTree();
    const dest = path.join(tmp(), 'dest');
    const r = await pcopy(['-H', src, dest]);
    expectOk(r);
    const srcIno = statOf(path.join(src, 'a.txt')).ino;
    const st = names.map((n) => statOf(path.join(dest, n)));
    expect(new Set(st.map((s) => s.ino)).size).toBe(1);
    expect(st[0]!.ino).not.toBe(srcIno);
    for (const s of st) expect(s.nlink).toBe(3n);
    for (const n of names) expect(read(path.join(dest, n))).toBe('shared contents\n');
    expect(statOf(path.join(dest, 'solo.txt')).nlink).toBe(1n);
    expect(statOf(path.join(src, 'a.txt')).nlink).toBe(3n);

    const again = await pcopy(['-H', '-v', src, dest]);
    expectOk(again);
    for (const n of names) expect(again.stdout).toMatch(new RegExp(`^unchanged +${n.replace('.', '\\.')}$`, 'm'));
    expect(again.stdout).toMatch(/pcopy: 0 files copied, 4 unchanged, /);
    expect(statOf(path.join(dest, 'a.txt')).ino).toBe(st[0]!.ino);
    expect(statOf(path.join(dest, 'a.txt')).nlink).toBe(3n);
  });

  it('a symlink with two names (ln of a symlink) stays one linked symlink, as with cp -a and rsync -aH; a rerun finds it unchanged', async () => {
    const src = path.join(tmp(), 'src');
    build(src, { f: 'x\n', sub: {} });
    fs.symlinkSync('../f', path.join(src, 'sub', 'sl'));
    fs.linkSync(path.join(src, 'sub', 'sl'), path.join(src, 'sl2')); // link(2) takes the symlink itself
    expect(statOf(path.join(src, 'sl2')).nlink).toBe(2n);
    const dest = path.join(tmp(), 'dest');
    expectOk(await pcopy(['-H', src, dest]));
    const [a, b] = [statOf(path.join(dest, 'sub', 'sl')), statOf(path.join(dest, 'sl2'))];
    expect(a.isSymbolicLink()).toBe(true);
    expect(b.ino).toBe(a.ino);
    expect(a.nlink).toBe(2n);
    expect(fs.readlinkSync(path.join(dest, 'sl2'))).toBe('../f');
    const again = await pcopy(['-H', '-v', src, dest]);
    expectOk(again);
    expect(lines(again.stdout).filter((l) => /^unchanged +(sl2|sub\/sl)$/.test(l))).toHaveLength(2);
    expect(statOf(path.join(dest, 'sl2')).ino).toBe(a.ino);
  });

  // As rsync -aH: each name obeys the overwrite mode as a file of its own; a kept name is not the
  // source's data, so the group's other names are not linked to it.
  it('with --ignore-existing, names already in DEST are kept and the others get the source contents', async () => {
    const src = linkedTree();
    const dest = path.join(tmp(), 'dest');
    build(dest, { 'a.txt': 'old a\n', 'b.txt': 'old b\n' });
    const r = await pcopy(['-H', '--ignore-existing', src, dest]);
    expectOk(r);
    expect(read(path.join(dest, 'a.txt'))).toBe('old a\n');
    expect(read(path.join(dest, 'b.txt'))).toBe('old b\n');
    expect(read(path.join(dest, 'sub/deeper/c.txt'))).toBe('shared contents\n');
    expect(r.stdout).toMatch(/pcopy: 2 files copied, 0 unchanged, 2 kept, /);
  });

  it('with --update, a newer name in DEST is kept and the others are linked together', async () => {
    const src = linkedTree();
    for (const n of names) fs.utimesSync(path.join(src, n), 1_600_000_000, 1_600_000_000);
    const dest = path.join(tmp(), 'dest');
    build(dest, { 'b.txt': 'my newer edit\n' });
    const r = await pcopy(['-H', '--update', src, dest]);
    expectOk(r);
    expect(read(path.join(dest, 'b.txt'))).toBe('my newer edit\n');
    expect(statOf(path.join(dest, 'b.txt')).nlink).toBe(1n);
    const a = statOf(path.join(dest, 'a.txt'));
    expect(statOf(path.join(dest, 'sub/deeper/c.txt')).ino).toBe(a.ino);
    expect(a.nlink).toBe(2n);
    expect(read(path.join(dest, 'a.txt'))).toBe('shared contents\n');
  });

  // The group's first name (its leader) failing says nothing of the others: as cp -a and rsync -aH,
  // they are copied (the next name copies the data, the rest link to it). Each name is blocked in
  // turn, so one of the runs blocks the leader, whichever the walk meets first.
  it.each(names)('a name of a group whose destination is in the way (%s) fails alone; the other names are copied and linked together', async (blocked) => {
    const src = linkedTree();
    const dest = path.join(tmp(), 'dest');
    fs.mkdirSync(path.join(dest, blocked), { recursive: true });
    fs.writeFileSync(path.join(dest, blocked, 'keep.txt'), 'mine\n'); // a non-empty directory is never deleted
    const others = names.filter((n) => n !== blocked);
    for (let round = 0; round < 2; round++) {
      const r = await pcopy(['-H', src, dest]);
      expect(r.code, clip(r.stderr)).toBe(1);
      expect(r.stderr.trim().split('\n'), r.stderr).toEqual([expect.stringMatching(/^pcopy: Cannot copy `.*` to `.*`: destination is a non-empty directory/)]);
      expect(r.stderr).toContain(blocked);
      expect(read(path.join(dest, blocked, 'keep.txt'))).toBe('mine\n');
      const st = others.map((n) => statOf(path.join(dest, n)));
      expect(st[1]!.ino).toBe(st[0]!.ino);
      expect(st[0]!.nlink).toBe(2n);
      for (const n of others) expect(read(path.join(dest, n))).toBe('shared contents\n');
    }
  });

  it('a name renamed over while its group is copied is never linked to the old data: reported as changed', async () => {
    const src = path.join(tmp(), 'src');
    writeFile(path.join(src, 'a'), 300 * 1024, { seed: 'old' });
    fs.linkSync(path.join(src, 'a'), path.join(src, 'b'));
    const dest = path.join(tmp(), 'dest');
    const running = startPcopy(['-H', '-j', '1', '--chunk-size', '1k', src, dest], { extraEnv: { PCOPY_TEST_DELAY_MS: '20' } });
    // A copy's temp, not the probe made with DEST (see copyTemps): taking that for a copy, this test
    // renamed `b` before pcopy had even sized it, and `b` was then rightly copied as the file it was
    // by then, exit 0 (twice in CI; here 1 run in 30-80 beside busy loops, never since).
    await waitFor(() => copyInProgress(dest), 'a copy of the group in progress', { running });
    fs.writeFileSync(path.join(src, 'b.new'), 'different\n');
    fs.renameSync(path.join(src, 'b.new'), path.join(src, 'b'));
    const r = await running.done;
    expect(r.code, clip(r.stderr)).toBe(1);
    expect(r.stderr).toMatch(/Cannot copy `.*\/b` to `.*\/b`: source changed while being copied \(replaced\)/);
    expect(fs.existsSync(path.join(dest, 'b'))).toBe(false);
    expect(fs.readFileSync(path.join(dest, 'a'))).toEqual(fs.readFileSync(path.join(src, 'a')));
    expect(findTemps(dest)).toEqual([]);
  });

  it('a name renamed over between its sizing and its copy as a leader is copied as the file it is now; its group is not linked to it', async () => {
    const src = path.join(tmp(), 'src');
    // One worker: a big file first (a task of its own, 50 ms a 64 KiB chunk: ~6 s), then the link
    // groups, whose leaders (the name listed first) wait behind it, sized, not yet copied, while
    // they are renamed over.
    writeFile(path.join(src, 'big.bin'), 8 * 1024 * 1024);
    const groups = [0, 1, 2, 3, 4, 5];
    for (const i of groups) {
      writeFile(path.join(src, `p${i}`), 20_000 + i, { seed: `old${i}` });
      fs.linkSync(path.join(src, `p${i}`), path.join(src, `q${i}`));
    }
    const listed = fs.readdirSync(src);
    const names = groups.map((i) => (listed.indexOf(`p${i}`) < listed.indexOf(`q${i}`) ? [`p${i}`, `q${i}`] : [`q${i}`, `p${i}`]));
    const dest = path.join(tmp(), 'dest');
    const running = startPcopy(['-H', '-j', '1', src, dest], { extraEnv: { PCOPY_TEST_DELAY_MS: '50' } });
    await waitFor(() => copyInProgress(dest), 'the big file being copied', { running });
    for (const [leader] of names) {
      fs.writeFileSync(path.join(src, `${leader}.new`), `different ${leader}\n`);
      fs.renameSync(path.join(src, `${leader}.new`), path.join(src, leader!));
    }
    const r = await withinOrKill(running.done, 60_000, running, 'pcopy -H');
    expect([0, 1], clip(r.stderr)).toContain(r.code);
    for (const [leader, other] of names) {
      // The other name keeps the group's (old) data: never linked to what the leader became.
      expect(fs.readFileSync(path.join(dest, other!)), other).toEqual(fs.readFileSync(path.join(src, other!)));
      const copied = path.join(dest, leader!);
      if (fs.existsSync(copied)) {
        expect(fs.readFileSync(copied, 'utf8')).toBe(`different ${leader}\n`);
        expect(fs.statSync(copied).ino).not.toBe(fs.statSync(path.join(dest, other!)).ino);
      } else {
        expect(r.stderr).toMatch(new RegExp(`Cannot copy \`[^\`]*/${leader}\` to \`[^\`]*/${leader}\`: source changed while being copied \\(replaced\\)`));
      }
    }
    expect(findTemps(dest)).toEqual([]);
  });

  it('a dry run over names already linked in DEST says unchanged, as the real run does (and copy once the leader changed)', async () => {
    const src = path.join(tmp(), 'src');
    build(src, { f: 'hello\n' });
    fs.linkSync(path.join(src, 'f'), path.join(src, 'g'));
    const dest = path.join(tmp(), 'dest');
    expectOk(await pcopy(['-H', src, dest]));
    const dry = await pcopy(['-H', '-n', src, dest]);
    expect(dry.stdout).toMatch(/^unchanged +f$/m);
    expect(dry.stdout).toMatch(/^unchanged +g$/m);
    expect(dry.stdout).toMatch(/0 files would be copied, 2 unchanged/);
    // The source changes: the real run copies the leader and links the other name to the new copy.
    fs.writeFileSync(path.join(src, 'f'), 'changed\n');
    const dry2 = await pcopy(['-H', '-n', src, dest]);
    expect(dry2.stdout).toMatch(/2 files would be copied, 0 unchanged/);
    const real = await pcopy(['-H', '-v', src, dest]);
    expect(real.stdout).toMatch(/2 files copied, 0 unchanged/);
    expect(statOf(path.join(dest, 'f')).ino).toBe(statOf(path.join(dest, 'g')).ino);
  });

  it('a dry run of a group below a DEST symlink the real run replaces says what the real run does (not looked through)', async () => {
    const src = path.join(tmp(), 'src');
    build(src, { sub: { 'a.txt': 'shared\n' } });
    fs.linkSync(path.join(src, 'sub', 'a.txt'), path.join(src, 'sub', 'b.txt'));
    const outside = path.join(tmp(), 'outside');
    build(outside, { 'a.txt': 'outside\n', 'b.txt': 'outside\n' });
    // Newer than the source: seen through the link, -u would keep them.
    const later = Date.now() / 1000 + 86_400;
    for (const name of ['a.txt', 'b.txt']) fs.utimesSync(path.join(outside, name), later, later);
    const dest = path.join(tmp(), 'dest');
    fs.mkdirSync(dest);
    fs.symlinkSync('../outside', path.join(dest, 'sub'));
    const dry = await pcopy(['-H', '-u', '-n', src, dest]);
    expect(dry.code, clip(dry.stderr)).toBe(0);
    const real = await pcopy(['-H', '-u', '-v', src, dest]);
    expect(real.code, clip(real.stderr)).toBe(0);
    for (const name of ['a.txt', 'b.txt']) {
      expect(dry.stdout).toMatch(new RegExp(`^copy +sub/${name.replace('.', '\\.')}$`, 'm'));
      expect(real.stdout).toMatch(new RegExp(`^copied +sub/${name.replace('.', '\\.')}$`, 'm'));
    }
    expect(statOf(path.join(dest, 'sub', 'a.txt')).ino).toBe(statOf(path.join(dest, 'sub', 'b.txt')).ino);
    expect(read(path.join(outside, 'b.txt'))).toBe('outside\n');
  });

  it('without -H they are separate files with the same contents', async () => {
    const src = linkedTree();
    const dest = path.join(tmp(), 'dest');
    expectOk(await pcopy([src, dest]));
    const st = names.map((n) => statOf(path.join(dest, n)));
    expect(new Set(st.map((s) => s.ino)).size).toBe(3);
    for (const s of st) expect(s.nlink).toBe(1n);
    for (const n of names) expect(read(path.join(dest, n))).toBe('shared contents\n');
  });
});
