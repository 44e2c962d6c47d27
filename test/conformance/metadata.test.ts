/**
 * Conformance: owners and modes in setgid destinations, and reruns that leave an identical tree
 * untouched (issue 10, items 3 to 5). Each case ports the intent of a peer's test (GNU coreutils
 * tests/cp, rsync's testsuite) or a behaviour checked by hand against `cp -a` / `rsync -a`; the
 * origin is named at the case. Expected values are literal data. These run as root (as on CI).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, isRoot, runPcopy, tempDir, type RunResult } from '../helpers/tree.js';
import { expectOk } from '../helpers/expect.js';
import { unavailable } from '../helpers/host.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) cleanup(d);
});
function work(): string {
  const d = tempDir('pcopy-conf-meta-');
  dirs.push(d);
  return d;
}

/** Ids no account uses, as coreutils' preserve-gid.sh picks "nameless" ones. */
const UID_A = 4141;
const GID_A = 4242;
const GID_B = 4343;
/** The group of the setgid destination parent. */
const GID_DEST = 4545;

/** `rwxr-s---`-style text of an entry's permission bits, as `ls -l` shows them (never follows links). */
function perms(p: string): string {
  const mode = fs.lstatSync(p).mode;
  const bit = (mask: number, ch: string): string => (mode & mask ? ch : '-');
  const x = (exec: number, special: number, on: string, off: string): string =>
    mode & special ? (mode & exec ? on : off) : bit(exec, 'x');
  return (
    bit(0o400, 'r') + bit(0o200, 'w') + x(0o100, 0o4000, 's', 'S') +
    bit(0o040, 'r') + bit(0o020, 'w') + x(0o010, 0o2000, 's', 'S') +
    bit(0o004, 'r') + bit(0o002, 'w') + x(0o001, 0o1000, 't', 'T')
  );
}

function owner(p: string): string {
  const st = fs.lstatSync(p);
  return `${st.uid}:${st.gid}`;
}

/** Every entry below `root` (and root as '.'), as `perms uid:gid`, sorted by path. */
function listing(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const visit = (rel: string): void => {
    const abs = rel === '.' ? root : path.join(root, rel);
    out[rel] = `${perms(abs)} ${owner(abs)}`;
    if (fs.lstatSync(abs).isDirectory()) {
      for (const name of fs.readdirSync(abs).sort()) visit(rel === '.' ? name : `${rel}/${name}`);
    }
  };
  visit('.');
  return out;
}

/** Runs pcopy under `umask` (a shell sets it, then execs node). */
function pcopyUmask(umask: string, args: string[]): Promise<RunResult> {
  return runPcopy(args, { prefix: ['sh', '-c', `umask ${umask} && exec "$0" "$@"`] });
}

/** A destination parent owned by GID_DEST with the setgid bit: what it makes inside takes its group. */
function setgidParent(base: string, mode = 0o2775): string {
  const parent = path.join(base, 'shared');
  fs.mkdirSync(parent);
  fs.chownSync(parent, 0, GID_DEST);
  fs.chmodSync(parent, mode);
  return parent;
}

describe('group and setgid bit in a setgid destination (as root)', () => {
  /**
   * coreutils tests/cp/preserve-gid.sh: `cp -p` keeps each file's uid and gid, including 0:0 (the
   * copier's own ids) and other "nameless" ids. Here the files land in directories that inherit
   * another group from a setgid parent (issue 10 item 3): cp -a and rsync -a still give the source's
   * group, to files and to directories, which keep the source's mode (rsync -a: no inherited S bit).
   */
  it('by default, files, links and directories get the source ids, not the inherited group', async () => {
    expect(isRoot).toBe(true);
    const base = work();
    const src = path.join(base, 'src');
    fs.mkdirSync(path.join(src, 'sub/deep'), { recursive: true });
    const files: Array<[string, number, number]> = [
      ['a0', 0, 0],
      ['b0', UID_A, GID_A],
      ['b1', UID_A, GID_B],
      ['c0', 0, GID_A],
      ['sub/a0', 0, 0],
      ['sub/deep/a0', 0, 0],
      ['sub/deep/c1', 0, GID_B],
    ];
    for (const [rel, uid, gid] of files) {
      fs.writeFileSync(path.join(src, rel), `${rel}\n`);
      fs.chmodSync(path.join(src, rel), 0o644);
      fs.chownSync(path.join(src, rel), uid, gid);
    }
    fs.symlinkSync('a0', path.join(src, 'sub/link'));
    fs.chmodSync(src, 0o755);
    fs.chmodSync(path.join(src, 'sub'), 0o750);
    fs.chmodSync(path.join(src, 'sub/deep'), 0o700);
    const dest = path.join(setgidParent(base), 'new');

    expectOk(await runPcopy(['-q', src, dest]));

    // Checked by hand: `cp -a` and `rsync -a` give these groups; rsync -a also these directory modes.
    expect(listing(dest)).toEqual({
      '.': 'rwxr-xr-x 0:0',
      a0: 'rw-r--r-- 0:0',
      b0: `rw-r--r-- ${UID_A}:${GID_A}`,
      b1: `rw-r--r-- ${UID_A}:${GID_B}`,
      c0: `rw-r--r-- 0:${GID_A}`,
      sub: 'rwxr-x--- 0:0',
      'sub/a0': 'rw-r--r-- 0:0',
      'sub/deep': 'rwx------ 0:0',
      'sub/deep/a0': 'rw-r--r-- 0:0',
      'sub/deep/c1': `rw-r--r-- 0:${GID_B}`,
      'sub/link': 'rwxrwxrwx 0:0',
    });
  });

  /**
   * rsync testsuite/dir-sgid.test: with umask 077 and without -p, `rsync -r dir file program to/`
   * into a 2700 target gives to/ and to/dir `rwx--S---`, file `rw-------`, program `rwx------`; into
   * a 700 target no S anywhere. The source directory's own setgid bit (2764) is not carried over.
   * Same for `cp -r` (checked by hand). Issue 10 item 4: --no-preserve gave `rwx------`.
   */
  it.each([
    ['--no-preserve', '2700', { to: 'rwx--S---', dir: 'rwx--S---', blah: 'rwx--S---', file: 'rw-------', program: 'rwx------', group: GID_DEST }],
    ['--no-preserve', '700', { to: 'rwx------', dir: 'rwx------', blah: 'rwx------', file: 'rw-------', program: 'rwx------', group: 0 }],
    ['--preserve=times', '2700', { to: 'rwx--S---', dir: 'rwx--S---', blah: 'rwx--S---', file: 'rw-------', program: 'rwx------', group: GID_DEST }],
  ] as const)('%s into a %s target: new directories keep the setgid bit they inherit (rsync dir-sgid)', async (flag, octal, want) => {
    const targetMode = parseInt(octal, 8);
    expect(isRoot).toBe(true);
    const base = work();
    const src = path.join(base, 'src');
    fs.mkdirSync(path.join(src, 'dir/blah'), { recursive: true });
    fs.chmodSync(path.join(src, 'dir'), 0o2764);
    fs.writeFileSync(path.join(src, 'file'), 'File!\n', { mode: 0o664 });
    fs.writeFileSync(path.join(src, 'program'), '#!/bin/sh\n', { mode: 0o775 });
    fs.chmodSync(path.join(src, 'file'), 0o664);
    fs.chmodSync(path.join(src, 'program'), 0o775);
    const target = setgidParent(base, targetMode);
    // A target without the bit does not pass its group on: give it ours, as a plain mkdir would.
    if (!(targetMode & 0o2000)) fs.chownSync(target, 0, 0);
    const to = path.join(target, 'to');

    expectOk(await pcopyUmask('077', ['-q', flag, src, to]));

    const got = {
      to: perms(to),
      dir: perms(path.join(to, 'dir')),
      blah: perms(path.join(to, 'dir/blah')),
      file: perms(path.join(to, 'file')),
      program: perms(path.join(to, 'program')),
    };
    const { group, ...modes } = want;
    expect(got).toEqual(modes);
    for (const rel of ['.', 'dir', 'dir/blah', 'file', 'program']) expect(owner(path.join(to, rel)), rel).toBe(`0:${group}`);
  });

  /** `cp -r --preserve=ownership` and `rsync -rog` (checked by hand): source ids, and the inherited S bit kept. */
  it('--preserve=owner,times: source ids, and the setgid bit inherited by new directories', async () => {
    expect(isRoot).toBe(true);
    const base = work();
    const src = path.join(base, 'src');
    fs.mkdirSync(path.join(src, 'sub'), { recursive: true });
    fs.writeFileSync(path.join(src, 'sub/f'), 'f\n');
    fs.chownSync(path.join(src, 'sub/f'), UID_A, GID_A);
    fs.chmodSync(path.join(src, 'sub/f'), 0o640);
    fs.chmodSync(src, 0o700);
    fs.chmodSync(path.join(src, 'sub'), 0o755);
    const dest = path.join(setgidParent(base), 'new');

    expectOk(await pcopyUmask('022', ['-q', '--preserve=owner,times', src, dest]));

    expect(listing(dest)).toEqual({
      '.': 'rwx--S--- 0:0',
      sub: 'rwxr-sr-x 0:0',
      'sub/f': `rw-r----- ${UID_A}:${GID_A}`,
    });
  });
});

interface Stamp {
  ino: bigint;
  ctimeNs: bigint;
  mtimeNs: bigint;
  mode: bigint;
  uid: bigint;
  gid: bigint;
}

/** ino, ctime, mtime, mode and owner of every entry below `root` (and root as '.'); never follows links. */
function stamps(root: string): Map<string, Stamp> {
  const out = new Map<string, Stamp>();
  const visit = (rel: string): void => {
    const abs = rel === '.' ? root : path.join(root, rel);
    const st = fs.lstatSync(abs, { bigint: true });
    out.set(rel, { ino: st.ino, ctimeNs: st.ctimeNs, mtimeNs: st.mtimeNs, mode: st.mode, uid: st.uid, gid: st.gid });
    if (st.isDirectory()) for (const name of fs.readdirSync(abs)) visit(rel === '.' ? name : `${rel}/${name}`);
  };
  visit('.');
  return out;
}

/** Lines `rel: field before → after` for every entry whose stamp moved. */
function moved(before: Map<string, Stamp>, after: Map<string, Stamp>): string[] {
  const lines: string[] = [];
  for (const [rel, b] of before) {
    const a = after.get(rel);
    if (!a) {
      lines.push(`${rel}: gone`);
      continue;
    }
    for (const key of Object.keys(b) as Array<keyof Stamp>) if (a[key] !== b[key]) lines.push(`${rel}: ${key} ${b[key]} → ${a[key]}`);
  }
  for (const rel of after.keys()) if (!before.has(rel)) lines.push(`${rel}: new`);
  return lines;
}

/** A small tree with every kind of entry a rerun meets: files, nested and empty directories, symlinks. */
function rerunTree(base: string): string {
  const src = path.join(base, 'src');
  fs.mkdirSync(path.join(src, 'd/e/f'), { recursive: true });
  fs.mkdirSync(path.join(src, 'empty'));
  fs.writeFileSync(path.join(src, 'a.txt'), 'a\n');
  fs.writeFileSync(path.join(src, 'd/b.bin'), Buffer.alloc(70_000, 7));
  fs.writeFileSync(path.join(src, 'd/e/f/c'), '');
  fs.writeFileSync(path.join(src, 'd/ro'), 'read-only\n');
  fs.chmodSync(path.join(src, 'd/ro'), 0o444);
  fs.writeFileSync(path.join(src, 'setuid'), '#!/bin/sh\n');
  fs.chmodSync(path.join(src, 'setuid'), 0o4755);
  fs.symlinkSync('../a.txt', path.join(src, 'd/link'));
  fs.symlinkSync('nowhere', path.join(src, 'dangling'));
  fs.chmodSync(path.join(src, 'd/e'), 0o711);
  if (isRoot) fs.chownSync(path.join(src, 'd/b.bin'), UID_A, GID_A);
  // Times with sub-microsecond parts and before 1970, set bottom-up so directories keep theirs.
  const entries = ['a.txt', 'd/b.bin', 'd/e/f/c', 'd/ro', 'setuid', 'd/link', 'dangling', 'd/e/f', 'd/e', 'empty', 'd', '.'];
  entries.forEach((rel, i) => {
    const ns = i % 3 === 0 ? -86_400_000_000_000n * BigInt(i + 1) + 123_456_789n : 1_600_000_000_765_432_123n + BigInt(i) * 1_000_000_000_000n;
    touch(path.join(src, rel), '-a', ns);
    touch(path.join(src, rel), '-m', ns);
  });
  return src;
}

/** Sets one time of `p` to the nanosecond (`-a` atime, `-m` mtime), leaving the other, never following a link. */
function touch(p: string, which: '-a' | '-m', ns: bigint): void {
  const abs = ns < 0n ? -ns : ns;
  const when = `@${ns < 0n ? '-' : ''}${abs / 1_000_000_000n}.${String(abs % 1_000_000_000n).padStart(9, '0')}`;
  const r = spawnSync('touch', ['-h', which, '-d', when, p], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`touch ${when} ${p}: ${r.stderr}`);
}

/** Whole microseconds, rounded down (also before 1970), as pcopy keeps times. */
function us(ns: bigint): bigint {
  return ns >= 0n ? ns / 1000n : -((-ns + 999n) / 1000n);
}

/**
 * Moves every source atime (as reading the source does) and leaves all else alone. Set explicitly:
 * whether a read moves an atime depends on the mount (relatime, noatime).
 */
function moveAtimes(src: string): void {
  let n = 0n;
  const visit = (rel: string): void => {
    const abs = path.join(src, rel);
    if (fs.lstatSync(abs).isDirectory()) for (const name of fs.readdirSync(abs)) visit(path.join(rel, name));
    touch(abs, '-a', 1_700_000_000_123_456_789n + ++n * 7_000_000_000n);
  };
  visit('.');
}

describe('a default ACL above DEST', () => {
  // A default ACL is inherited by every directory made below it and masks the mode of each new file
  // (the umask is set aside then). cp -a and rsync -a still give each file its source mode.
  const aclWorks = ((): boolean => {
    const d = work();
    return spawnSync('setfacl', ['-d', '-m', 'u::rwx,g::rx,o::-', d]).status === 0;
  })();
  it.skipIf(unavailable(!aclWorks, 'needs setfacl(1) and a file system with ACLs'))('masks no mode: files and directories get their source modes', async () => {
    const base = work();
    const src = path.join(base, 'src');
    fs.mkdirSync(path.join(src, 'sub'), { recursive: true });
    const modes: Record<string, number> = { f: 0o755, 'sub/g': 0o664, 'sub/h': 0o646, sub: 0o775 };
    for (const rel of ['f', 'sub/g', 'sub/h']) fs.writeFileSync(path.join(src, rel), rel);
    for (const [rel, mode] of Object.entries(modes)) fs.chmodSync(path.join(src, rel), mode);
    const parent = path.join(base, 'with-acl');
    fs.mkdirSync(parent);
    expect(spawnSync('setfacl', ['-d', '-m', 'u::rwx,g::rx,o::-', parent]).status).toBe(0);
    const dest = path.join(parent, 'dest');
    expectOk(await runPcopy([src, dest]));
    for (const [rel, mode] of Object.entries(modes)) expect((fs.statSync(path.join(dest, rel)).mode & 0o7777).toString(8), rel).toBe(mode.toString(8));
    expect(fs.readdirSync(dest).sort()).toEqual(['f', 'sub']);
  });
});

describe('a rerun over an identical tree makes no metadata write', () => {
  /**
   * rsync: a second `rsync -a` over an unchanged tree itemizes nothing and sets nothing (rsync's
   * testsuite itemize.test checks the empty second pass; `stat -c %z` shows no ctime moved, by hand).
   * Issue 10 item 5: atimes that moved because the source was read caused utimes on every entry, so
   * every ctime changed. With the default preserve only an mtime difference counts.
   */
  it('same inodes, and no ctime, mtime, mode or owner changes on files, symlinks and directories', async () => {
    const base = work();
    const src = rerunTree(base);
    const dest = path.join(base, 'dest');
    expectOk(await runPcopy(['-q', src, dest]));
    moveAtimes(src);
    const before = stamps(dest);
    expect(before.size).toBe(12);

    const again = await runPcopy([src, dest]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toBe('');
    expect(again.stdout).toMatch(/^pcopy: 0 files copied, 5 unchanged, 5 directories, 2 symlinks, 0 B in /);

    expect(moved(before, stamps(dest))).toEqual([]);
  });

  /**
   * rsync's --modify-window: times that close count as equal for the update as for the quick check
   * (rsync compares mtimes with the window before it sets any). A FAT copy, whose mtimes are never
   * exact, must not be touched on every run either.
   */
  it('an mtime within --modify-window is left as it is', async () => {
    const base = work();
    const src = rerunTree(base);
    const dest = path.join(base, 'dest');
    expectOk(await runPcopy(['-q', src, dest]));
    // One second off, either way: a file before 1970, a symlink, a directory.
    for (const [rel, by] of [['a.txt', 1_000_000_000n], ['d/link', -1_000_000_000n], ['d', 1_000_000_000n]] as const) {
      touch(path.join(dest, rel), '-m', fs.lstatSync(path.join(dest, rel), { bigint: true }).mtimeNs + by);
    }
    const before = stamps(dest);

    expectOk(await runPcopy(['-q', '--modify-window', '2', src, dest]));

    expect(moved(before, stamps(dest))).toEqual([]);
  });

  /** `cp -a` and `rsync -a` set atime with mtime whenever they set times: an entry pcopy corrects gets both. */
  it('an entry whose mtime differs gets the source mtime and atime, in place', async () => {
    const base = work();
    const src = rerunTree(base);
    const dest = path.join(base, 'dest');
    expectOk(await runPcopy(['-q', src, dest]));
    moveAtimes(src);
    for (const rel of ['d/link', 'empty']) {
      touch(path.join(dest, rel), '-a', 1_000_000_000_000_000n);
      touch(path.join(dest, rel), '-m', 1_000_000_000_000_000n);
    }
    const before = stamps(dest);
    // What pcopy will read: its own reads then move the source atimes again (readlink does too).
    const want = new Map(['d/link', 'empty'].map((rel) => [rel, fs.lstatSync(path.join(src, rel), { bigint: true })]));

    expectOk(await runPcopy(['-q', src, dest]));

    // Before any readdir of DEST, which moves a directory's atime again.
    const got = new Map(['d/link', 'empty'].map((rel) => [rel, fs.lstatSync(path.join(dest, rel), { bigint: true })]));
    const after = stamps(dest);
    const changed = moved(before, after).map((line) => line.replace(/ -?\d+ → -?\d+$/, ''));
    expect(changed.sort()).toEqual(['d/link: ctimeNs', 'd/link: mtimeNs', 'empty: ctimeNs', 'empty: mtimeNs']);
    for (const rel of ['d/link', 'empty']) {
      const s = want.get(rel)!;
      const d = got.get(rel)!;
      expect([d.ino, us(d.mtimeNs), us(d.atimeNs)], rel).toEqual([before.get(rel)!.ino, us(s.mtimeNs), us(s.atimeNs)]);
    }
  });
});
