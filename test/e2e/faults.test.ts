/**
 * Faults: one entry fails, the rest go on (exit 1, each failure named on stderr and counted in the
 * summary), and nothing is ever left half-written under a final name. The faults are real: root
 * without capabilities for EACCES, a read-only bind mount for EROFS, a 1 MiB / 64-inode tmpfs for
 * ENOSPC (each in a private mount namespace), a 64-descriptor limit, files deleted or changed by the
 * test while pcopy is in the middle of them, a destination path over PATH_MAX.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { copyInProgress, diffTrees, expectPartialCopyIntact, findTemps, listEntries, makeHugeFile, makeManyFiles, read, snapshot, srcDestPerTest, writeFile } from '../helpers/tree.js';
import { killStarted, runPcopy, startPcopy, waitFor, withinOrKill } from '../helpers/run.js';
import { clip, failedCount, failureLines, lines } from '../helpers/output.js';
import { canDropCaps, canUnshareMount, hasCommand, NO_CAPS, REASON, unavailable } from '../helpers/host.js';

let work: string;
let src: string;
let dest: string;
srcDestPerTest('pcopy-faults-', (dirs) => ({ work, src, dest } = dirs));
/** The test's temp directory (holding src/ and the dest path). */
const tmp = (): string => work;

const dropCapsWorks = canDropCaps();

const mountWorks = canUnshareMount();

/** Each failure is one `Cannot copy` line on stderr, and the summary counts exactly those. */
function expectFailuresCounted(r: { stdout: string; stderr: string }): void {
  expect(failedCount(r.stdout), `summary: ${r.stdout}`).toBe(failureLines(r.stderr).length);
}

const lineFor = (stderr: string, rel: string): string | undefined =>
  failureLines(stderr).find((l) => l.includes(`\`${path.join(src, rel)}\``));

describe('B6 an entry that vanishes between the scan and its copy', () => {
  it('is reported as vanished, the rest is copied, exit 1', async () => {
    // 16 files of 16 KiB, copied one at a time (1 worker) at 1 KiB per chunk with a 25 ms pause after
    // each chunk: 0.4 s a file, so the copy left alone would start the last file over 5 s after the
    // first arrived. Once the victims are gone the run ends soon: only the file in hand is copied.
    const originals = new Map<string, Buffer>();
    for (let i = 0; i < 16; i++) originals.set(`f${String(i).padStart(2, '0')}`, writeFile(path.join(src, `f${String(i).padStart(2, '0')}`), 16 * 1024));
    writeFile(path.join(src, 'sub/keep'), 100);
    const running = startPcopy(['-j', '1', '--chunk-size', '1k', src, dest], { extraEnv: { PCOPY_TEST_DELAY_MS: '25' } });
    // Once the first file has arrived, the scan is long over: delete every file not started yet.
    await waitFor(() => fs.existsSync(dest) && listEntries(dest, { files: true }).some((f) => originals.has(f)), 'the first copied file', { running });
    const arrived = new Set(listEntries(dest, { files: true }));
    const victims = [...originals.keys()].filter((n) => !arrived.has(n));
    for (const v of victims) fs.unlinkSync(path.join(src, v));
    const r = await withinOrKill(running.done, 45_000, running, 'pcopy with vanishing files');

    expect(r.code, clip(r.stderr)).toBe(1);
    let vanished = 0;
    for (const v of victims) {
      const line = failureLines(r.stderr).find((l) => l.includes(`\`${path.join(src, v)}\``));
      if (line) {
        vanished++;
        expect(line).toMatch(/vanished/i);
        expect(line).toContain(`\`${path.join(dest, v)}\``);
        expect(fs.existsSync(path.join(dest, v)), `${v} reported yet present`).toBe(false);
      } else {
        // Already open when it was deleted: then it was copied whole.
        expect(fs.readFileSync(path.join(dest, v)), `${v} neither reported nor copied whole`).toEqual(originals.get(v));
      }
    }
    expect(vanished, `victims ${victims.join(' ')}\n${clip(r.stderr)}`).toBeGreaterThan(0);
    expect(failureLines(r.stderr)).toHaveLength(vanished);
    expect(failedCount(r.stdout)).toBe(vanished);
    for (const [name, data] of originals) if (!victims.includes(name)) expect(fs.readFileSync(path.join(dest, name)), name).toEqual(data);
    expect(fs.readFileSync(path.join(dest, 'sub/keep'))).toEqual(fs.readFileSync(path.join(src, 'sub/keep')));
    expect(findTemps(dest)).toEqual([]);
  });
});

describe('B7 an unreadable directory', () => {
  it.skipIf(unavailable(!dropCapsWorks, REASON.caps))('is reported, everything else copied, exit 1 (root without capabilities)', async () => {
    writeFile(path.join(src, 'before'), 100);
    writeFile(path.join(src, 'locked/secret-1'), 100);
    writeFile(path.join(src, 'locked/deeper/secret-2'), 100);
    writeFile(path.join(src, 'open/a'), 5000);
    writeFile(path.join(src, 'open/b/c'), 70_000);
    writeFile(path.join(src, 'zz-after'), 1);
    fs.chmodSync(path.join(src, 'locked'), 0o000);

    const r = await runPcopy([src, dest], { prefix: NO_CAPS });
    expect(r.code, clip(r.stderr)).toBe(1);
    const lines = failureLines(r.stderr);
    expect(lines, clip(r.stderr)).toHaveLength(1);
    expect(lines[0]).toContain(`\`${path.join(src, 'locked')}\``);
    expect(lines[0]).toMatch(/EACCES/);
    expect(failedCount(r.stdout)).toBe(1);
    for (const rel of ['before', 'open/a', 'open/b/c', 'zz-after']) {
      expect(fs.readFileSync(path.join(dest, rel)), rel).toEqual(fs.readFileSync(path.join(src, rel)));
    }
    fs.chmodSync(path.join(src, 'locked'), 0o755);
    expectPartialCopyIntact(src, dest);
    expect(fs.existsSync(path.join(dest, 'locked/secret-1'))).toBe(false);
  });
});

describe('C1 an unreadable file', () => {
  it.skipIf(unavailable(!dropCapsWorks, REASON.caps))('is reported with EACCES, absent from dest, no temp file, the rest copied', async () => {
    writeFile(path.join(src, 'a-before'), 5000);
    writeFile(path.join(src, 'secret'), 70_000);
    writeFile(path.join(src, 'sub/secret-2'), 10);
    writeFile(path.join(src, 'sub/ok'), 100_000);
    writeFile(path.join(src, 'z-after'), 1);
    fs.chmodSync(path.join(src, 'secret'), 0o000);
    fs.chmodSync(path.join(src, 'sub/secret-2'), 0o200);

    const r = await runPcopy([src, dest], { prefix: NO_CAPS });
    expect(r.code, clip(r.stderr)).toBe(1);
    for (const rel of ['secret', 'sub/secret-2']) {
      const line = lineFor(r.stderr, rel);
      expect(line, `${rel}\n${clip(r.stderr)}`).toBeDefined();
      expect(line).toContain(`\`${path.join(dest, rel)}\``);
      expect(line).toMatch(/EACCES: permission denied/);
      expect(fs.existsSync(path.join(dest, rel)), `${rel} absent`).toBe(false);
    }
    expect(failureLines(r.stderr)).toHaveLength(2);
    expectFailuresCounted(r);
    expect(findTemps(dest)).toEqual([]);
    expect(expectPartialCopyIntact(src, dest)).toEqual(['a-before', 'sub/ok', 'z-after']);
  });
});

describe('C2 an unwritable destination directory', () => {
  it.skipIf(unavailable(!dropCapsWorks, REASON.caps))('its entries are reported, other directories copied', async () => {
    writeFile(path.join(src, 'top'), 3000);
    writeFile(path.join(src, 'locked/a'), 100);
    writeFile(path.join(src, 'locked/b'), 70_000);
    writeFile(path.join(src, 'locked/deeper/c'), 10);
    writeFile(path.join(src, 'open/x'), 5000);
    writeFile(path.join(src, 'open/y/z'), 1);
    fs.mkdirSync(path.join(dest, 'locked'), { recursive: true });
    fs.chmodSync(path.join(dest, 'locked'), 0o555);

    const r = await runPcopy([src, dest], { prefix: NO_CAPS });
    expect(r.code, clip(r.stderr)).toBe(1);
    for (const rel of ['locked/a', 'locked/b', 'locked/deeper']) {
      const line = lineFor(r.stderr, rel);
      expect(line, `${rel}\n${clip(r.stderr)}`).toBeDefined();
      expect(line).toContain(`\`${path.join(dest, rel)}\``);
      expect(line).toMatch(/EACCES/);
    }
    expect(lineFor(r.stderr, 'locked/deeper/c'), clip(r.stderr)).toBeDefined();
    expect(failureLines(r.stderr)).toHaveLength(4);
    expectFailuresCounted(r);
    expect(expectPartialCopyIntact(src, dest)).toEqual(['open/x', 'open/y/z', 'top']);
  });
});

describe('DEST mounted on a directory inside SRC', () => {
  // A bind mount (or a container volume) makes DEST a directory of SRC that no path comparison sees:
  // copying it would copy the copy into itself until names grow too long (1,021 levels were written
  // into SRC). It is skipped as the destination, as -L's walk does; rsync also copies one level.
  it.skipIf(unavailable(!mountWorks, REASON.mount))('is skipped as the destination: the rest copied, nothing nested, exit 0', async () => {
    writeFile(path.join(src, 'top.txt'), 10);
    writeFile(path.join(src, 'vol', 'in.txt'), 20);
    writeFile(path.join(src, 'vol', 'sub', 'deep.txt'), 30);
    fs.mkdirSync(dest);
    // With --include the walk meets the files of `vol` before `vol` itself is made.
    for (const args of [[], ['--include', '*.txt'], ['--dry-run']]) {
      const r = await runPcopy([...args, src, dest], {
        prefix: ['unshare', '-m', 'sh', '-c', 'mount --bind "$VOL" "$DEST" && exec "$0" "$@"'],
        extraEnv: { VOL: path.join(src, 'vol'), DEST: dest },
        timeoutMs: 30_000,
      });
      expect(r.code, clip(r.stderr)).toBe(0);
      expect(r.stderr, args.join(' ')).toBe(`pcopy: Skipped \`${path.join(src, 'vol')}\`: it is the destination (not descended into)\n`);
      // The mount is gone with its namespace: what was written through DEST is in SRC/vol.
      expect(listEntries(path.join(src, 'vol')).sort()).toEqual(['in.txt', 'sub', 'sub/deep.txt', 'top.txt']);
      expect(fs.readdirSync(dest)).toEqual([]);
    }
  });
});

describe('C3 a read-only destination file system', () => {
  /** Runs pcopy with `roDir` bind-mounted read-only over itself, in a private mount namespace. */
  const runOnReadOnly = (roDir: string, args: string[]) =>
    runPcopy(args, {
      prefix: ['unshare', '-m', 'sh', '-c', 'mount --bind "$RO" "$RO" && mount -o remount,bind,ro "$RO" && exec "$0" "$@"'],
      extraEnv: { RO: roDir },
      timeoutMs: 30_000,
    });

  const makeSource = (): void => {
    for (let d = 0; d < 4; d++) for (let i = 0; i < 10; i++) writeFile(path.join(src, `d${d}`, `f${i}`), 2000);
    for (let i = 0; i < 10; i++) writeFile(path.join(src, `top${i}`), 100_000);
  };

  it.skipIf(unavailable(!mountWorks, REASON.mount))('DEST an existing directory on it: one EROFS message, nothing written, no hang', async () => {
    makeSource();
    fs.mkdirSync(dest);
    const r = await runOnReadOnly(dest, [src, dest]);
    expect(r.code, clip(r.stderr)).toBe(1);
    const erofs = r.stderr.split('\n').filter((l) => /EROFS|read-only file system/i.test(l));
    expect.soft(erofs.length, `expected one EROFS message, got ${erofs.length}:\n${clip(r.stderr)}`).toBe(1);
    expect(fs.readdirSync(dest)).toEqual([]);
  });

  it.skipIf(unavailable(!mountWorks, REASON.mount))('DEST to be created on it: one EROFS message, no hang', async () => {
    makeSource();
    const ro = path.join(work, 'ro');
    fs.mkdirSync(ro);
    const target = path.join(ro, 'new/deeper');
    const r = await runOnReadOnly(ro, [src, target]);
    expect(r.code, clip(r.stderr)).toBe(1);
    const all = r.stderr.split('\n').filter((l) => l.trim() !== '');
    expect.soft(all.length, clip(r.stderr)).toBe(1);
    expect(all[0], clip(r.stderr)).toMatch(/EROFS/);
    expect(fs.readdirSync(ro)).toEqual([]);
  });
});

/**
 * Runs pcopy into `dest` with a fresh tmpfs (`mountOptions`) mounted on it in a private mount
 * namespace; afterwards the tmpfs contents (temp files included) are copied out to `out` for checking.
 */
function runOnTmpfs(mountOptions: string, out: string, args: string[]) {
  fs.mkdirSync(dest, { recursive: true });
  fs.mkdirSync(out, { recursive: true });
  return runPcopy(args, {
    prefix: [
      'unshare',
      '-m',
      'sh',
      '-c',
      'mount -t tmpfs -o "$OPTS" tmpfs "$M" || exit 99; "$0" "$@"; rc=$?; cp -a "$M"/. "$OUT"/ || exit 98; exit $rc',
    ],
    extraEnv: { OPTS: mountOptions, M: dest, OUT: out },
    timeoutMs: 40_000,
  });
}

/** The checks of C4 and C5: one ENOSPC message, the failing file absent, every other file exact, no temps. */
function expectOutOfSpace(r: { code: number | null; stdout: string; stderr: string }, out: string): void {
  expect(r.code, clip(r.stderr)).toBe(1);
  const enospc = r.stderr.split('\n').filter((l) => /no space left on device/i.test(l));
  expect.soft(enospc.length, `expected one "No space left on device" message, got ${enospc.length}:\n${clip(r.stderr)}`).toBe(1);
  expect(enospc[0]).toMatch(/ENOSPC/);
  // The first one names the file that did not fit.
  const named = /to `([^`]+)`/.exec(enospc[0]!)?.[1];
  expect(named, enospc[0]).toBeDefined();
  expect(named!.startsWith(dest), enospc[0]).toBe(true);
  expect(fs.existsSync(path.join(out, path.relative(dest, named!))), `the failing file ${named} is absent`).toBe(false);
  const present = expectPartialCopyIntact(src, out);
  expect(present.length, 'some files fitted and were copied').toBeGreaterThan(0);
  expectFailuresCounted(r);
  // The directories made still get their modes (kept 0700 while copying), as cp and rsync give them.
  const mode = (p: string): string => (fs.statSync(p).mode & 0o7777).toString(8);
  for (const rel of ['', ...listEntries(out).filter((e) => fs.statSync(path.join(out, e)).isDirectory())]) {
    expect(mode(path.join(out, rel)), rel || '.').toBe(mode(path.join(src, rel)));
  }
}

/** Source directories with modes a copy left at 0700 would not have. */
function openSourceDirs(): void {
  fs.chmodSync(src, 0o755);
  fs.chmodSync(path.join(src, 'sub'), 0o750);
}

describe('C4 out of space mid-file (tmpfs size=1m)', () => {
  it.skipIf(unavailable(!mountWorks, REASON.mount))('finished files exact, the failing file absent, one ENOSPC message', async () => {
    for (let i = 0; i < 10; i++) writeFile(path.join(src, `big${i}`), 200_000);
    for (let i = 0; i < 6; i++) writeFile(path.join(src, `sub/small${i}`), 500);
    openSourceDirs();
    const out = path.join(work, 'out');
    const r = await runOnTmpfs('size=1m', out, [src, dest]);
    expectOutOfSpace(r, out);
  });
});

describe('C5 out of inodes (tmpfs nr_inodes=64)', () => {
  it.skipIf(unavailable(!mountWorks, REASON.mount))('finished files exact, the failing file absent, one ENOSPC message', async () => {
    for (let i = 0; i < 150; i++) writeFile(path.join(src, `f${String(i).padStart(3, '0')}`), 100 + i);
    for (let i = 0; i < 20; i++) writeFile(path.join(src, `sub/g${i}`), 50);
    openSourceDirs();
    const out = path.join(work, 'out');
    const r = await runOnTmpfs('size=64m,nr_inodes=64', out, [src, dest]);
    expectOutOfSpace(r, out);
  });
});

describe('C6 a source file that changes during its copy', () => {
  const SIZE = 128 * 1024;
  const changes: Record<string, (file: string) => Buffer> = {
    grows: (file) => {
      fs.appendFileSync(file, Buffer.alloc(10_000, 7));
      return fs.readFileSync(file);
    },
    shrinks: (file) => {
      fs.truncateSync(file, 4096);
      return fs.readFileSync(file);
    },
    'is replaced (renamed over)': (file) => {
      const data = Buffer.alloc(SIZE, 0x5a);
      fs.writeFileSync(`${file}.new`, data);
      fs.renameSync(`${file}.new`, file);
      return data;
    },
    'is rewritten in place (same size)': (file) => {
      const fd = fs.openSync(file, 'r+');
      fs.writeSync(fd, Buffer.alloc(1024, 1), 0, 1024, 0);
      fs.writeSync(fd, Buffer.alloc(1024, 2), 0, 1024, SIZE - 1024);
      fs.closeSync(fd);
      return fs.readFileSync(file);
    },
  };

  it.each(Object.keys(changes))('that %s: reported, never a short or mixed file under the final name', async (how) => {
    const file = path.join(src, 'changing');
    const before = writeFile(file, SIZE);
    writeFile(path.join(src, 'other'), 3000);
    // 35 ms after each 1 KiB chunk: from the moment its temp holds 4 KiB, the copy left alone goes on
    // over 4 s. Only a shrink is seen before the end of the file, so the other cases take that long.
    const running = startPcopy(['-j', '1', '--chunk-size', '1k', src, dest], { extraEnv: { PCOPY_TEST_DELAY_MS: '35' } });
    // Mid-file: its temp file holds a few KiB.
    await waitFor(
      () => fs.existsSync(dest) && findTemps(dest).some((t) => (fs.statSync(t, { throwIfNoEntry: false })?.size ?? 0) >= 4096),
      'a partly written temp file',
      { running },
    );
    const after = changes[how]!(file);
    const r = await withinOrKill(running.done, 45_000, running, 'pcopy of a changing file');

    const line = lineFor(r.stderr, 'changing');
    expect(line, `the change is reported\n${clip(r.stderr)}`).toBeDefined();
    expect(line).toMatch(/changed/i);
    expect(r.code, clip(r.stderr)).toBe(1);
    const copied = path.join(dest, 'changing');
    if (fs.existsSync(copied)) {
      const got = fs.readFileSync(copied);
      expect(got.equals(before) || got.equals(after), 'the file under the final name is wholly one version').toBe(true);
    }
    expect(findTemps(dest)).toEqual([]);
    expect(fs.readFileSync(path.join(dest, 'other'))).toEqual(fs.readFileSync(path.join(src, 'other')));
    expect(listEntries(dest, { files: true })).not.toContain('changing.new');
    expectFailuresCounted(r);
  });
});

describe('source files that change after they were sized, before their copy begins', () => {
  it('grown, cut short or replaced while files before them are copied: each copied as it is by then, exit 0', async () => {
    const names = Array.from({ length: 12 }, (_, i) => `f${String(i).padStart(2, '0')}`);
    for (const name of names) writeFile(path.join(src, name), 20_000);
    // One worker sizes all twelve when they come, then copies them one by one: 20 ms after each 4 KiB
    // chunk, ~100 ms a file, so the last three are changed long before their turn.
    const running = startPcopy(['-j', '1', '--chunk-size', '4k', src, dest], { extraEnv: { PCOPY_TEST_DELAY_MS: '20' } });
    try {
      await waitFor(() => copyInProgress(dest), 'the first copy', { running });
      fs.appendFileSync(path.join(src, 'f09'), Buffer.alloc(50_000, 9));
      fs.truncateSync(path.join(src, 'f10'), 1000);
      fs.writeFileSync(path.join(src, 'f11.new'), Buffer.alloc(7000, 11));
      fs.renameSync(path.join(src, 'f11.new'), path.join(src, 'f11'));
      const r = await withinOrKill(running.done, 60_000, running, 'pcopy of files changed before their turn');
      expect(r.code, clip(r.stderr)).toBe(0);
      expect(r.stdout).toMatch(/^pcopy: 12 files copied/);
      expect(diffTrees(snapshot(src), snapshot(dest))).toEqual([]);
      expect(findTemps(dest)).toEqual([]);
    } finally {
      killStarted();
    }
  });
});

describe('a huge file (copied in parts) that shrinks during its copy', () => {
  const MiB = 1024 * 1024;

  it('a source that shrinks during the copy: reported as changed, no final file (never a short one), no temp', async () => {
    makeHugeFile(path.join(src, 'big.img'), 96 * MiB);
    // 20 ms a chunk: a copy left alone takes over 10 s, so the truncation below always lands mid-copy
    // (at 2 ms it could finish first on a loaded machine, and exit 0).
    const running = startPcopy(['-j', '2', src, dest], { extraEnv: { PCOPY_TEST_DELAY_MS: '20' } });
    try {
      // A copy's temp, not the probe made with DEST (see copyTemps): taking that for a copy, the file
      // was cut before pcopy had sized it, and rightly copied as it was by then (exit 0, twice in CI).
      await waitFor(() => copyInProgress(dest), 'the temp file', { running });
      fs.truncateSync(path.join(src, 'big.img'), 10 * MiB);
      const r = await withinOrKill(running.done, 60_000, running, 'pcopy after the source shrank');
      expect(r.code, clip(r.stderr)).toBe(1);
      expect(r.stderr).toMatch(/Cannot copy `[^`]*big\.img` to `[^`]*big\.img`: source changed while being copied/);
      expect(fs.existsSync(path.join(dest, 'big.img'))).toBe(false);
      expect(findTemps(dest)).toEqual([]);
    } finally {
      killStarted();
    }
  });
});

describe('F4 a low file-descriptor limit', () => {
  it.skipIf(unavailable(!hasCommand('prlimit'), REASON.prlimit))('prlimit --nofile=64 with 20,000 files: completes, no EMFILE', async () => {
    makeManyFiles(src, 20_000, 200);
    const r = await runPcopy([src, dest], { prefix: ['prlimit', '--nofile=64:64', '--'], timeoutMs: 120_000 });
    expect(r.stderr).not.toMatch(/EMFILE|ENFILE|too many open files/i);
    expect(r.code, clip(r.stderr)).toBe(0);
    expect(r.stdout).toMatch(/20,000 files copied/);
    expect(findTemps(dest)).toEqual([]);
    expect(diffTrees(snapshot(src), snapshot(dest))).toEqual([]);
  }, 180_000);

  // So few descriptors that Node starts but cannot open a worker's IPC channel (here: 20): a worker
  // that cannot start ends like one that died at once, so the run ends with a clear message, no hang.
  it.skipIf(unavailable(!hasCommand('prlimit'), REASON.prlimit))('prlimit --nofile=20: no worker can start; the run ends, exit 1, saying why', async (ctx) => {
    for (let i = 0; i < 30; i++) writeFile(path.join(src, `f${i}`), 100);
    const r = await runPcopy([src, dest], { prefix: ['prlimit', '--nofile=20:20', '--'], timeoutMs: 30_000 });
    if (r.code === 0) {
      // A Node that starts its workers within 20 descriptors copies the tree: the case is not met here.
      expect(diffTrees(snapshot(src), snapshot(dest))).toEqual([]);
      ctx.skip('a worker starts within 20 descriptors on this Node');
    }
    expect(r.code, clip(r.stderr)).toBe(1);
    expect(r.stderr).toMatch(/workers keep dying .*could not start \(EMFILE\)/);
    expect(r.stdout).toMatch(/30 failed/);
    // One cause for all 30: ten of them are named, the rest counted in one line.
    expect(r.stderr.split('\n').filter((l) => l.startsWith('pcopy: Cannot copy'))).toHaveLength(10);
    expect(r.stderr).toMatch(/… and 20 more entries not copied for the same reason/);
    const json = await runPcopy(['--json', src, dest], { prefix: ['prlimit', '--nofile=20:20', '--'], timeoutMs: 30_000 });
    const failures = (JSON.parse(json.stdout) as { failures: { error: { code: string } }[] }).failures;
    expect(failures.map((f) => f.error.code)).toEqual(Array(30).fill('GAVE_UP'));
    expect(findTemps(dest)).toEqual([]);
  });
});

describe('workers that cannot start while another runs', () => {
  // Each step of the limit up from where no worker starts: somewhere the first worker starts and a
  // second cannot open its pipes. The run must then go on with the one it has, never fail the files
  // that worker can copy (it used to give up on all but ~300 of 2,000).
  it.skipIf(unavailable(!hasCommand('prlimit'), REASON.prlimit))('descriptors for one worker but not two (prlimit --nofile): the run goes on with one and copies everything', async (ctx) => {
    makeManyFiles(src, 2000, 100);
    let wentOnWithOne = 0;
    for (let limit = 20; limit <= 32; limit++) {
      fs.rmSync(dest, { recursive: true, force: true });
      const r = await runPcopy(['-j', '2', src, dest], { prefix: ['prlimit', `--nofile=${limit}:${limit}`, '--'], timeoutMs: 60_000 });
      if (r.code !== 0) {
        // Not even one worker: nothing is copied, and the entries fail with the one clear reason (at
        // the lowest limits the walk itself may also fail to open a directory: EMFILE, named once).
        expect(r.stderr, `nofile=${limit}`).toMatch(/workers keep dying .*could not start \(EMFILE\)/);
        expect(r.stdout, `nofile=${limit}`).toMatch(/^pcopy: 0 files copied, .* failed/);
        continue;
      }
      expect(diffTrees(snapshot(src), snapshot(dest)), `nofile=${limit}`).toEqual([]);
      expect(findTemps(dest)).toEqual([]);
      if (/another worker could not start \(EMFILE\): going on with 1/.test(r.stderr)) wentOnWithOne++;
    }
    if (wentOnWithOne === 0) ctx.skip('no limit here lets one worker start and not a second');
  }, 180_000);

  it('a worker stuck in Node\'s start-up is killed after the start time; the others copy everything', async () => {
    makeManyFiles(src, 2000, 100);
    // Loaded into every Node process of the run (NODE_OPTIONS): the first worker never gets past it,
    // as a child that cannot create its threads stays inside Node's own start-up.
    const stall = path.join(tmp(), 'stall.cjs');
    fs.writeFileSync(stall, "if (process.argv.some((a) => a.endsWith('worker-start.cjs')) && process.argv.includes('early')) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);\n");
    const running = startPcopy(['-j', '2', src, dest], { extraEnv: { NODE_OPTIONS: `--require ${stall}`, PCOPY_TEST_WORKER_START_MS: '1500' } });
    try {
      const r = await withinOrKill(running.done, 30_000, running, 'pcopy with a worker stuck at its start');
      expect(r.code, clip(r.stderr)).toBe(0);
      expect(r.stderr).toMatch(/^pcopy: another worker did not start within 1\.5 s: going on with 1$/m);
      expect(diffTrees(snapshot(src), snapshot(dest))).toEqual([]);
      expect(findTemps(dest)).toEqual([]);
    } finally {
      killStarted();
    }
  }, 60_000);
});

describe('a destination path over PATH_MAX', () => {
  it('a destination path over PATH_MAX fails for those entries alone, with ENAMETOOLONG; the rest is copied', async () => {
    // The source paths fit in 4096 bytes; the destination root is 400 bytes longer, so the deepest
    // directory's destination path does not.
    const src = path.join(tmp(), 's');
    const segment = 'd'.repeat(200);
    let deep = src;
    while (deep.length + segment.length + 1 < 3900) deep = path.join(deep, segment);
    fs.mkdirSync(deep, { recursive: true });
    fs.writeFileSync(path.join(deep, 'too-long-at-dest.txt'), 'x\n');
    fs.writeFileSync(path.join(src, 'short.txt'), 'short\n');
    const destParent = path.join(tmp(), 'p'.repeat(200), 'q'.repeat(200));
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
