/**
 * Acceptance rows B1–B7: the whole tree arrives, nothing is skipped silently. Odd entries (dotfiles,
 * empty dirs, every kind of symlink, loops, FIFOs, sockets, devices, non-UTF-8 names) are created
 * for real; entries that vanish or cannot be read are made so for real (deleted mid-run; root
 * without capabilities).
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { diffTrees, findTemps, snapshot } from '../helpers/tree.js';
import { canDropCaps, expectPartialCopyIntact, failedCount, failureLines, listFiles, NO_CAPS, run, startPcopy, waitFor, withinOrKill, writeFile, unavailable, REASON, clip, srcDestPerTest } from '../helpers/faults.js';

let src: string;
let dest: string;
srcDestPerTest('pcopy-acc-b-', (dirs) => ({ src, dest } = dirs));

const dropCapsWorks = canDropCaps();

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

    const r = await run([src, dest]);
    expect(r.code, clip(r.stderr)).toBe(0);
    expect(r.stderr).toBe('');
    expect(diffTrees(snapshot(src), snapshot(dest))).toEqual([]);
    for (const rel of ['.dotfile', '.dot-dir/.inner-dot', '.dot-dir/.empty-dot-dir', 'empty/nested/deeper', 'full/.hidden-empty', 'full/....']) {
      expect(fs.existsSync(path.join(dest, rel)), rel).toBe(true);
    }
  });
});

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

    const r = await run([src, dest]);
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

    const r = await run([src, dest], { timeoutMs: 30_000 });
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
      const r = await run([src, dest], { timeoutMs: 30_000 });
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

    const r = await run([src, dest]);
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
    expect(failureLines(r.stderr)).toEqual([]);
    expect(r.code, why).toBe(0);
  });
});

describe('B6 an entry that vanishes between the scan and its copy', () => {
  it('is reported as vanished, the rest is copied, exit 1', async () => {
    // 16 files of 4 KiB, copied one at a time (1 worker) at 1 KiB per chunk with a pause after each chunk.
    const originals = new Map<string, Buffer>();
    for (let i = 0; i < 16; i++) originals.set(`f${String(i).padStart(2, '0')}`, writeFile(path.join(src, `f${String(i).padStart(2, '0')}`), 4096));
    writeFile(path.join(src, 'sub/keep'), 100);
    const running = startPcopy(['-j', '1', '--chunk-size', '1k', src, dest], { extraEnv: { PCOPY_TEST_DELAY_MS: '25' } });
    // Once the first file has arrived, the scan is long over: delete every file not started yet.
    await waitFor(() => fs.existsSync(dest) && listFiles(dest).some((f) => originals.has(f)), 'the first copied file', { running });
    const arrived = new Set(listFiles(dest));
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

    const r = await run([src, dest], { prefix: NO_CAPS });
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
