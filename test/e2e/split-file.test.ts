/**
 * Huge files (64 MiB and more) are copied in 32 MiB parts by several workers at once, into one temp
 * file the parent renames when every part is in. Same guarantees as any file: exact bytes and
 * metadata, nothing under the final name unless complete, the temp removed on failure.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { diffTrees, findTemps, hashFile, ino, inodes, snapshot, tempPerTest } from '../helpers/tree.js';
import { killStarted, runPcopy, startPcopy, waitFor, withinOrKill } from '../helpers/run.js';
import { openTemps, workersOf } from '../helpers/proc.js';

const work = tempPerTest('pcopy-split-');
const MiB = 1024 * 1024;

/** A sparse file of `size` bytes with random blocks written at several offsets (including the part edges). */
function hugeFile(file: string, size: number): void {
  const fd = fs.openSync(file, 'w');
  try {
    fs.ftruncateSync(fd, size);
    for (const at of [0, 32 * MiB - 3, 32 * MiB, 64 * MiB + 12345, size - 4096]) {
      const block = Buffer.alloc(4096, at % 251);
      for (let i = 0; i < block.length; i += 7) block[i] = (i * 31 + at) & 0xff;
      fs.writeSync(fd, block, 0, Math.min(block.length, size - at), at);
    }
  } finally {
    fs.closeSync(fd);
  }
  fs.chmodSync(file, 0o640);
  fs.utimesSync(file, 1_500_000_000.25, 1_600_000_000.123456);
}

describe('huge files in parts', () => {
  it('a single 100 MiB file: byte-identical, mode and times kept, no temp; a rerun leaves it alone', async () => {
    const src = path.join(work(), 'big.img');
    hugeFile(src, 100 * MiB + 17);
    const dest = path.join(work(), 'copy.img');
    const r = await runPcopy(['-j', '2', src, dest]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(hashFile(dest)).toBe(hashFile(src));
    const entries = snapshot(work());
    expect(entries.get('copy.img')).toEqual(entries.get('big.img')); // size, hash, mode, owner, mtime (µs)
    expect(findTemps(work())).toEqual([]);
    const ino = fs.statSync(dest).ino;
    const again = await runPcopy(['-j', '2', src, dest]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/0 files copied, 1 unchanged/);
    expect(fs.statSync(dest).ino).toBe(ino);
  });

  it('a tree with two huge files and small ones: trees equal', async () => {
    const src = path.join(work(), 'src');
    fs.mkdirSync(path.join(src, 'd'), { recursive: true });
    hugeFile(path.join(src, 'a.img'), 70 * MiB);
    hugeFile(path.join(src, 'd', 'b.img'), 65 * MiB + 1);
    for (let i = 0; i < 50; i++) fs.writeFileSync(path.join(src, 'd', `s${i}`), `small ${i}\n`.repeat(i));
    const dest = path.join(work(), 'dest');
    const r = await runPcopy(['-j', '3', src, dest]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(diffTrees(snapshot(src), snapshot(dest))).toEqual([]);
    expect(findTemps(dest)).toEqual([]);
    const before = inodes(dest);
    expect((await runPcopy(['-j', '3', src, dest])).code).toBe(0);
    expect(inodes(dest)).toEqual(before);
  });

  it('a source that shrinks during the copy: reported as changed, no final file, no temp', async () => {
    const src = path.join(work(), 'src');
    fs.mkdirSync(src);
    hugeFile(path.join(src, 'big.img'), 96 * MiB);
    const dest = path.join(work(), 'dest');
    const running = startPcopy(['-j', '2', src, dest], { extraEnv: { PCOPY_TEST_DELAY_MS: '2' } });
    try {
      await waitFor(() => fs.existsSync(dest) && findTemps(dest).length > 0, 'the temp file', { running });
      fs.truncateSync(path.join(src, 'big.img'), 10 * MiB);
      const r = await withinOrKill(running.done, 60_000, running, 'pcopy after the source shrank');
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/Cannot copy `[^`]*big\.img` to `[^`]*big\.img`: source changed while being copied/);
      expect(fs.existsSync(path.join(dest, 'big.img'))).toBe(false);
      expect(findTemps(dest)).toEqual([]);
    } finally {
      killStarted();
    }
  });

  it('a worker killed while writing a part: the part is written again, the file completes exactly', async () => {
    const src = path.join(work(), 'src');
    fs.mkdirSync(src);
    hugeFile(path.join(src, 'big.img'), 80 * MiB);
    const dest = path.join(work(), 'dest');
    const running = startPcopy(['-j', '2', src, dest], { extraEnv: { PCOPY_TEST_DELAY_MS: '1' } });
    try {
      await waitFor(() => fs.existsSync(dest) && findTemps(dest).length > 0, 'the temp file', { running });
      // A worker with the temp file open is in the middle of writing a part.
      const victim = await waitFor(() => workersOf(running.pid).find((w) => openTemps(w.pid).length > 0), 'a worker writing a part', { running });
      process.kill(victim.pid, 'SIGKILL');
      const r = await withinOrKill(running.done, 90_000, running, 'pcopy after a worker was killed');
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/worker \d+ died \(killed by SIGKILL\) while copying part \d+ of `big\.img`: writing that part again/);
      expect(hashFile(path.join(dest, 'big.img'))).toBe(hashFile(path.join(src, 'big.img')));
      expect(findTemps(dest)).toEqual([]);
    } finally {
      killStarted();
    }
  });
});
