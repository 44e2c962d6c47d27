/**
 * Copying at scale: exact bytes at every chunk edge and past 4 GiB (with exact byte counters),
 * huge files copied in 32 MiB parts by several workers into one temp file, many files with
 * bounded memory (peak RSS of all pcopy processes sampled through /proc), seeded random trees.
 *
 * The many-files test runs 20,000 files by default; with PCOPY_SCALE_TESTS=1 it also runs 200,000.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { diffTrees, findTemps, hashFile, ino, inodes, makeHugeFile, makeManyFiles, makeTree, snapshot, srcDestPerTest, writeFile } from '../helpers/tree.js';
import { runPcopy, startPcopy, withinOrKill } from '../helpers/run.js';
import { watchTree } from '../helpers/proc.js';
import { clip } from '../helpers/output.js';

let work: string;
let src: string;
let dest: string;
srcDestPerTest('pcopy-large-', (dirs) => ({ work, src, dest } = dirs));
/** The test's temp directory (holding src/ and the dest path). */
const tmp = (): string => work;

const KiB = 1024;
const MiB = 1024 * 1024;
const GiB = 1024 ** 3;

describe('G1 byte-exact at every chunk edge', () => {
  it('sizes 0, 1, c−1, c, c+1 (and 2c±1) for c = 1 KiB and 64 KiB, copied with each chunk size', async () => {
    const sizes = new Set<number>();
    for (const c of [KiB, 64 * KiB]) for (const s of [0, 1, c - 1, c, c + 1, 2 * c - 1, 2 * c, 2 * c + 1]) sizes.add(s);
    for (const s of sizes) writeFile(path.join(src, `size-${s}`), s);
    for (const s of [KiB - 1, KiB + 1, 64 * KiB]) writeFile(path.join(src, 'nested', `size-${s}`), s, { seed: `nested-${s}` });

    for (const chunk of [['--chunk-size', '1k'], ['--chunk-size', '64k'], []]) {
      const out = path.join(work, `dest${chunk.join('') || '-default'}`);
      const r = await runPcopy([...chunk, src, out]);
      expect(r.code, clip(r.stderr)).toBe(0);
      expect(diffTrees(snapshot(src), snapshot(out)), `chunk ${chunk.join(' ') || 'default'}`).toEqual([]);
      for (const s of sizes) expect(fs.statSync(path.join(out, `size-${s}`)).size).toBe(s);
    }
  });

  it('a file over 4 GiB (sparse source) copies exactly and its byte counters stay exact', async () => {
    // On a tmpfs when there is one with room (fast, and the 4 GiB copy is real data there), else in the temp dir.
    const shm = '/dev/shm';
    const room = fs.existsSync(shm) ? fs.statfsSync(shm).bavail * fs.statfsSync(shm).bsize : 0;
    const base = room > 6 * GiB ? fs.mkdtempSync(path.join(shm, 'pcopy-acc-g1-')) : fs.mkdtempSync(path.join(os.tmpdir(), 'pcopy-acc-g1-'));
    try {
      const bigSrc = path.join(base, 'src');
      const bigDest = path.join(base, 'dest');
      fs.mkdirSync(bigSrc);
      const file = path.join(bigSrc, 'over-4GiB.img');
      const size = 4 * GiB + 4097;
      const markers: Array<[number, Buffer]> = [
        [0, Buffer.from('start of the file')],
        [2 ** 31 - 3, Buffer.from('across 2 GiB')],
        [2 ** 32 - 5, Buffer.from('across 4 GiB')],
        [size - 8, Buffer.from('the end!')],
      ];
      const fd = fs.openSync(file, 'w');
      for (const [at, data] of markers) fs.writeSync(fd, data, 0, data.length, at);
      fs.ftruncateSync(fd, size);
      fs.closeSync(fd);
      writeFile(path.join(bigSrc, 'small'), 1000);

      const { copy } = await import('../../dist/index.js');
      let last = { bytesDone: -1, bytesFound: 0, totalsKnown: false };
      const problems: string[] = [];
      const result = await copy(bigSrc, bigDest, {
        onEvent: (e: { type: string; progress?: { bytesDone: number; bytesFound: number; totalsKnown: boolean } }) => {
          if (e.type !== 'progress' || !e.progress) return;
          const p = e.progress;
          if (p.bytesDone < last.bytesDone) problems.push(`bytesDone went back: ${last.bytesDone} → ${p.bytesDone}`);
          if (p.totalsKnown && p.bytesDone > p.bytesFound) problems.push(`bytesDone ${p.bytesDone} > bytesFound ${p.bytesFound}`);
          if (!Number.isSafeInteger(p.bytesDone) || !Number.isSafeInteger(p.bytesFound)) problems.push(`not whole: ${p.bytesDone} ${p.bytesFound}`);
          last = p;
        },
      });
      expect(problems.slice(0, 5)).toEqual([]);
      expect(result.failures).toEqual([]);
      expect(result.bytes).toBe(size + 1000);
      expect(result.bytesCopied).toBe(size + 1000);
      expect(result.filesCopied).toBe(2);
      expect(last.totalsKnown).toBe(true);
      expect(last.bytesFound).toBe(size + 1000);
      expect(last.bytesDone).toBe(size + 1000);

      const copied = path.join(bigDest, 'over-4GiB.img');
      expect(fs.statSync(copied).size).toBe(size);
      const cfd = fs.openSync(copied, 'r');
      for (const [at, data] of markers) {
        const got = Buffer.alloc(data.length);
        fs.readSync(cfd, got, 0, data.length, at);
        expect(got.toString(), `bytes at ${at}`).toBe(data.toString());
      }
      fs.closeSync(cfd);
      const cmp = spawnSync('cmp', [file, copied], { encoding: 'utf8' });
      expect(cmp.status, `cmp: ${cmp.stdout}${cmp.stderr}`).toBe(0);
      expect(findTemps(bigDest)).toEqual([]);
    } finally {
      fs.rmSync(base, { recursive: true, force: true });
    }
  }, 180_000);
});

describe('huge files in parts', () => {
  it('a single 100 MiB file: byte-identical, mode and times kept, no temp; a rerun leaves it alone', async () => {
    const src = path.join(work, 'big.img');
    makeHugeFile(src, 100 * MiB + 17);
    const dest = path.join(work, 'copy.img');
    const r = await runPcopy(['-j', '2', src, dest]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(hashFile(dest)).toBe(hashFile(src));
    const entries = snapshot(work);
    expect(entries.get('copy.img')).toEqual(entries.get('big.img')); // size, hash, mode, owner, mtime (µs)
    expect(findTemps(work)).toEqual([]);
    const ino = fs.statSync(dest).ino;
    const again = await runPcopy(['-j', '2', src, dest]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/0 files copied, 1 unchanged/);
    expect(fs.statSync(dest).ino).toBe(ino);
  });

  it('a tree with two huge files and small ones: trees equal', async () => {
    const src = path.join(work, 'src');
    fs.mkdirSync(path.join(src, 'd'), { recursive: true });
    makeHugeFile(path.join(src, 'a.img'), 70 * MiB);
    makeHugeFile(path.join(src, 'd', 'b.img'), 65 * MiB + 1);
    for (let i = 0; i < 50; i++) fs.writeFileSync(path.join(src, 'd', `s${i}`), `small ${i}\n`.repeat(i));
    const dest = path.join(work, 'dest');
    const r = await runPcopy(['-j', '3', src, dest]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(diffTrees(snapshot(src), snapshot(dest))).toEqual([]);
    expect(findTemps(dest)).toEqual([]);
    const before = inodes(dest);
    expect((await runPcopy(['-j', '3', src, dest])).code).toBe(0);
    expect(inodes(dest)).toEqual(before);
  });
});

describe('G3 many files, bounded memory', () => {
  const scale = process.env.PCOPY_SCALE_TESTS === '1';
  const counts = scale ? [20_000, 200_000] : [20_000];
  /** Peak RSS of pcopy and all its workers together, per run. Generous: several Node processes. */
  const limitMiB: Record<number, number> = { 20_000: 512, 200_000: 1024 };

  it(`${counts.join(' and ')} files: complete, with the peak RSS of all pcopy processes recorded and bounded`, async () => {
    for (const count of counts) {
      const s = path.join(work, `src-${count}`);
      const d = path.join(work, `dest-${count}`);
      makeManyFiles(s, count, 100);
      const running = startPcopy([s, d]);
      const watch = watchTree(running.pid, 20);
      let r;
      try {
        r = await withinOrKill(running.done, count > 100_000 ? 600_000 : 120_000, running, `pcopy of ${count} files`);
      } finally {
        watch.stop();
      }
      const peakMiB = Math.round(watch.peakTotalKiB / 1024);
      console.log(
        `G3: ${count} files: peak RSS of all pcopy processes ${peakMiB} MiB (largest single process ${Math.round(watch.peakSingleKiB / 1024)} MiB, ` +
          `${watch.seen.size} processes, ${watch.samples} samples)`,
      );
      expect(r.code, clip(r.stderr)).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`${count.toLocaleString('en-US')} files copied`));
      expect(watch.samples).toBeGreaterThan(2);
      expect(peakMiB, `peak RSS ${peakMiB} MiB for ${count} files`).toBeLessThan(limitMiB[count]!);
      expect(findTemps(d)).toEqual([]);
      expect(diffTrees(snapshot(s), snapshot(d))).toEqual([]);
      fs.rmSync(s, { recursive: true, force: true });
      fs.rmSync(d, { recursive: true, force: true });
    }
  }, scale ? 1_800_000 : 180_000);
});

describe('G5 seeded random trees', () => {
  it.each([
    [1, []],
    [2, ['-j', '3', '--chunk-size', '1k']],
    [3, ['-j', '1']],
  ])('seed %i, options %j: trees equal afterwards', async (seed, options) => {
    makeTree('random', src, seed);
    const r = await runPcopy([...options, src, dest]);
    expect(r.code, clip(r.stderr)).toBe(0);
    expect(findTemps(dest)).toEqual([]);
    expect(diffTrees(snapshot(src), snapshot(dest))).toEqual([]);
  });
});
