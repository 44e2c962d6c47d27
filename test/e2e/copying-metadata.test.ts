/**
 * Copying metadata: which metadata is kept (--preserve, --no-preserve, the default with owners
 * as root), and that --fsync and --verify copy correctly with a normal summary and exit code.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { build, diffTrees, findTemps, read, snapshot, statOf, tempPerTest, touchNs, writeFile } from '../helpers/tree.js';
import { pcopyCommand, runPcopy, type RunResult, runShell } from '../helpers/run.js';
import { isRoot } from '../helpers/host.js';
import { expectOk } from '../helpers/expect.js';

const tmp = tempPerTest('pcopy-feat-meta-');

/** 2020-09-13 plus a fraction with microseconds. */
const T_FILE = 1_600_000_000.123456;
const T_DIR = 1_500_000_000.654321;
const us = (seconds: number): bigint => BigInt(Math.round(seconds * 1e6));
const mtimeUs = (p: string): bigint => statOf(p).mtimeNs / 1000n;

/** Runs pcopy under `umask` (through sh, as a user's shell would). */
function pcopyUmask(umask: string, args: string[]): Promise<RunResult> {
  return runShell(`umask ${umask} && exec ${pcopyCommand(args)}`, { cwd: tmp() });
}

/** Files and a directory with unusual modes, old times with microseconds and (as root) a foreign owner. */
function metaTree(): string {
  const src = path.join(tmp(), 'src');
  build(src, { 'open.sh': '#!/bin/sh\n', 'plain.txt': 'plain\n', 'private.key': 'k\n', dir: { 'in.txt': 'in\n' } });
  fs.chmodSync(path.join(src, 'open.sh'), 0o777);
  fs.chmodSync(path.join(src, 'plain.txt'), 0o664);
  fs.chmodSync(path.join(src, 'private.key'), 0o604);
  fs.chmodSync(path.join(src, 'dir', 'in.txt'), 0o646);
  fs.chmodSync(path.join(src, 'dir'), 0o775);
  fs.symlinkSync('plain.txt', path.join(src, 'link'));
  for (const f of ['open.sh', 'plain.txt', 'private.key', 'dir/in.txt']) {
    fs.utimesSync(path.join(src, f), T_FILE, T_FILE);
    if (isRoot) fs.chownSync(path.join(src, f), 1234, 5678);
  }
  if (isRoot) {
    fs.lchownSync(path.join(src, 'link'), 1234, 5678);
    fs.chownSync(path.join(src, 'dir'), 1234, 5678);
  }
  fs.lutimesSync(path.join(src, 'link'), T_FILE, T_FILE);
  fs.utimesSync(path.join(src, 'dir'), T_DIR, T_DIR);
  fs.chmodSync(src, 0o775);
  return src;
}

/** Relative path → source mode ('' is the root: SRC onto a new DEST). */
const FILES: Array<[string, number]> = [
  ['', 0o775],
  ['open.sh', 0o777],
  ['plain.txt', 0o664],
  ['private.key', 0o604],
  ['dir/in.txt', 0o646],
  ['dir', 0o775],
];
const modeOf = (p: string): number => Number(statOf(p).mode & 0o7777n);

/** Octal modes of FILES below `root`, and what they should be (source mode less `mask`). */
function modes(root: string): Record<string, string> {
  return Object.fromEntries(FILES.map(([rel]) => [rel || '.', modeOf(path.join(root, rel)).toString(8)]));
}
function expectedModes(mask: number): Record<string, string> {
  return Object.fromEntries(FILES.map(([rel, mode]) => [rel || '.', (mode & ~mask).toString(8)]));
}

describe('metadata kept', () => {
  it('by default: modes, times to the microsecond and (as root) owners, of files, links and directories', async () => {
    expect(isRoot).toBe(true);
    const src = metaTree();
    const dest = path.join(tmp(), 'dest');
    const r = await pcopyUmask('077', [src, dest]);
    expectOk(r);
    expect(modes(dest)).toEqual(expectedModes(0));
    for (const f of ['open.sh', 'plain.txt', 'private.key', 'dir/in.txt', 'link']) {
      expect(mtimeUs(path.join(dest, f)), f).toBe(us(T_FILE));
      const st = statOf(path.join(dest, f));
      expect([st.uid, st.gid], f).toEqual([1234n, 5678n]);
    }
    expect(mtimeUs(path.join(dest, 'dir'))).toBe(mtimeUs(path.join(src, 'dir')));
    expect(mtimeUs(path.join(src, 'dir')) - us(T_DIR)).toBeLessThanOrEqual(1n);
    expect([statOf(path.join(dest, 'dir')).uid, statOf(path.join(dest, 'dir')).gid]).toEqual([1234n, 5678n]);
    expect(diffTrees(snapshot(src, { withRoot: true }), snapshot(dest, { withRoot: true }))).toEqual([]);
  });

  // Nanoseconds since 1970 pass 2^63 in 2262; ext4 and tmpfs keep times beyond (ext4 to 2446).
  it('times after 2262 and before 1970, of files, links and directories; a rerun finds them unchanged', async () => {
    const src = path.join(tmp(), 'src');
    build(src, { 'far.txt': 'far\n', 'old.txt': 'old\n', dir: { 'in.txt': 'in\n' } });
    fs.symlinkSync('far.txt', path.join(src, 'link'));
    const far = 10_413_792_000; // 2300-01-01
    const old = -1_000_000_000; // 1938
    fs.utimesSync(path.join(src, 'far.txt'), far, far);
    fs.utimesSync(path.join(src, 'old.txt'), far, String(old)); // a negative number would mean "now" to Node
    fs.lutimesSync(path.join(src, 'link'), far, far);
    fs.utimesSync(path.join(src, 'dir'), far, far);
    const dest = path.join(tmp(), 'dest');
    expectOk(await runPcopy([src, dest]));
    for (const [rel, mtime] of [['far.txt', far], ['old.txt', old], ['link', far], ['dir', far]] as const) {
      const st = statOf(path.join(dest, rel));
      expect([st.mtimeNs, st.atimeNs], rel).toEqual([BigInt(mtime) * 1_000_000_000n, BigInt(far) * 1_000_000_000n]);
    }
    const again = await runPcopy([src, dest]);
    expectOk(again);
    expect(again.stdout).toMatch(/pcopy: 0 files copied, 3 unchanged, /);
  });

  // A double of seconds is ~1 µs apart from 2106 on: the nearest one to .999999 set .999998.
  it('a time after 2106 with a fraction is kept to the microsecond, and a rerun finds it unchanged', async () => {
    const src = path.join(tmp(), 'src');
    build(src, { 'f.txt': 'f\n', 'g.txt': 'g\n' });
    touchNs(path.join(src, 'f.txt'), '5616936000.999999');
    touchNs(path.join(src, 'g.txt'), '8000000000.000001');
    const dest = path.join(tmp(), 'dest');
    expectOk(await runPcopy([src, dest]));
    expect(statOf(path.join(dest, 'f.txt')).mtimeNs).toBe(5_616_936_000_999_999_000n);
    expect(statOf(path.join(dest, 'g.txt')).mtimeNs).toBe(8_000_000_000_000_001_000n);
    const again = await runPcopy([src, dest]);
    expectOk(again);
    expect(again.stdout).toMatch(/pcopy: 0 files copied, 2 unchanged, /);
  });

  it('--preserve mode: modes kept, times are those of the copy, owner is the runner', async () => {
    const src = metaTree();
    const dest = path.join(tmp(), 'dest');
    const before = BigInt(Date.now() - 2000) * 1000n;
    const r = await pcopyUmask('077', ['--preserve', 'mode', src, dest]);
    expectOk(r);
    expect(modes(dest)).toEqual(expectedModes(0));
    for (const f of ['open.sh', 'plain.txt', 'private.key', 'dir/in.txt', 'dir']) {
      expect(mtimeUs(path.join(dest, f)), f).toBeGreaterThan(before);
      expect(statOf(path.join(dest, f)).uid, f).toBe(BigInt(process.getuid!()));
    }
    expect(read(path.join(dest, 'dir', 'in.txt'))).toBe('in\n');
  });

  it('--preserve times: times kept, mode is the source mode less the umask, owner is the runner', async () => {
    const src = metaTree();
    const dest = path.join(tmp(), 'dest');
    const r = await pcopyUmask('027', ['--preserve', 'times', src, dest]);
    expectOk(r);
    expect.soft(modes(dest)).toEqual(expectedModes(0o027));
    for (const f of ['open.sh', 'plain.txt', 'private.key', 'dir/in.txt']) {
      expect(mtimeUs(path.join(dest, f)), f).toBe(us(T_FILE));
      expect(statOf(path.join(dest, f)).uid, f).toBe(BigInt(process.getuid!()));
    }
    expect(mtimeUs(path.join(dest, 'dir'))).toBe(mtimeUs(path.join(src, 'dir')));
  });

  it('--no-preserve: modes less the umask, times of the copy, owner of the runner', async () => {
    const src = metaTree();
    const dest = path.join(tmp(), 'dest');
    const before = BigInt(Date.now() - 2000) * 1000n;
    const r = await pcopyUmask('022', ['--no-preserve', src, dest]);
    expectOk(r);
    expect.soft(modes(dest)).toEqual(expectedModes(0o022));
    for (const f of ['open.sh', 'plain.txt', 'private.key', 'dir/in.txt', 'dir']) {
      expect(mtimeUs(path.join(dest, f)), f).toBeGreaterThan(before);
      const st = statOf(path.join(dest, f));
      expect([st.uid, st.gid], f).toEqual([BigInt(process.getuid!()), BigInt(process.getgid!())]);
    }
    expect(fs.readlinkSync(path.join(dest, 'link'))).toBe('plain.txt');
    expect(read(path.join(dest, 'plain.txt'))).toBe('plain\n');
  });
});

const SIZES = [0, 1, 1023, 1024, 1025, 65535, 65536, 65537, 200_000, 3 * 1024 * 1024 + 7];

/** Sizes around the 1 KiB / 64 KiB chunk edges and one multi-MiB file, in a few folders. */
function dataTree(): string {
  const src = path.join(tmp(), 'src');
  SIZES.forEach((size, i) => writeFile(path.join(src, `d${i % 3}`, `f${i}.bin`), size, { mode: [0o644, 0o600, 0o755][i % 3] }));
  fs.symlinkSync('d0/f0.bin', path.join(src, 'link'));
  return src;
}

describe('--fsync and --verify', () => {
  it.each([['--fsync'], ['--verify'], ['--verify --chunk-size 1k']])('%s copies the tree exactly, with the normal summary and exit 0', async (flags) => {
    const src = dataTree();
    const dest = path.join(tmp(), 'dest');
    const r = await runPcopy([...flags.split(' '), src, dest], { cwd: tmp() });
    expectOk(r);
    expect(diffTrees(snapshot(src, { withRoot: true }), snapshot(dest, { withRoot: true }))).toEqual([]);
    expect(findTemps(dest)).toEqual([]);
    const mib = (SIZES.reduce((a, b) => a + b, 0) / 1024 / 1024).toFixed(1);
    expect(r.stdout).toMatch(new RegExp(`^pcopy: 10 files copied, 0 unchanged, 4 directories, 1 symlink, ${mib.replace('.', '\\.')} MiB in .*, 0 failed, 0 skipped\n$`));
  });
});
