/**
 * Read-ahead (src/read-ahead.ts): where a device is slow, workers open and read the next files of
 * their queue ahead on the thread pool, hand the open descriptor and first chunk to the copy, and
 * read big files further ahead in big requests. A test cannot make a cache cold, so these runs force
 * it on with PCOPY_TEST_READ_AHEAD=1 and check that every guarantee holds on that path too.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { copyInProgress, diffTrees, expectPartialCopyIntact, findTemps, hashFile, makeTree, snapshot, srcDestPerTest, writeFile } from '../helpers/tree.js';
import { runPcopy, startPcopy, waitFor, withinOrKill } from '../helpers/run.js';
import { groupMembers, openTemps, workersOf } from '../helpers/proc.js';
import { clip, failedCount, failureLines, filesReadAhead } from '../helpers/output.js';

let work: string;
let src: string;
let dest: string;
srcDestPerTest('pcopy-readahead-', (dirs) => ({ work, src, dest } = dirs));

const READ_AHEAD = { PCOPY_TEST_READ_AHEAD: '1' };

const MiB = 1024 * 1024;

describe('read-ahead', () => {
  it('copies a mixed tree exactly (contents, modes, times, links, empty files), with --verify too, and a rerun finds it all unchanged', async () => {
    makeTree('random', src, 7);
    for (let i = 0; i < 300; i++) writeFile(path.join(src, 'many', `f${i % 7}`, `${i}.bin`), (i * 977) % 70_000);
    writeFile(path.join(src, 'big', 'twenty.bin'), 20 * MiB + 3); // read ahead within, in big requests
    fs.writeFileSync(path.join(src, 'many', 'empty'), '');
    fs.symlinkSync('f1/1.bin', path.join(src, 'many', 'link'));

    for (const args of [[], ['--verify', '--chunk-size', '1k']]) {
      const out = path.join(work, `dest${args.length}`);
      const r = await runPcopy([...args, src, out], { extraEnv: { ...READ_AHEAD, PCOPY_DEBUG_TIMING: '1' } });
      expect(r.code, clip(r.stderr)).toBe(0);
      // The path under test ran: most of the 300 small files were read ahead.
      expect(filesReadAhead(r.stderr)).toBeGreaterThan(100);
      expect(diffTrees(snapshot(src), snapshot(out))).toEqual([]);
      expect(findTemps(out)).toEqual([]);
    }
    const again = await runPcopy(['--json', src, path.join(work, 'dest0')], { extraEnv: READ_AHEAD });
    expect(again.code, clip(again.stderr)).toBe(0);
    const result = JSON.parse(again.stdout) as { filesCopied: number; filesSame: number };
    expect(result.filesCopied).toBe(0);
    expect(result.filesSame).toBeGreaterThan(300);
  });

  it('reports a file that vanished after it was queued and copies the rest (exit 1)', async () => {
    for (let i = 0; i < 200; i++) writeFile(path.join(src, 'later', `f${i}`), 5000 + i);
    writeFile(path.join(src, 'big.bin'), 128 * 1024);
    // One worker copies in the walk's order: big.bin first (a directory's files come before those
    // below it), slowly (1 KiB chunks, a pause of 4 ms after each: over 0.5 s), then later/ in its
    // listing order (about 25 ms a file). Once the first file of later/ is being copied, later/ has
    // surely been listed: a file far down its listing goes then, after it was queued and over 4 s
    // before its copy (or its read-ahead, a few files before) would reach it.
    const gone = fs.readdirSync(path.join(src, 'later'))[180]!;
    const run = startPcopy(['-j', '1', '--chunk-size', '1k', src, dest], { extraEnv: { ...READ_AHEAD, PCOPY_TEST_DELAY_MS: '4' } });
    await waitFor(() => copyInProgress(path.join(dest, 'later')), 'the copy of later/ to start', {
      running: run,
    });
    fs.rmSync(path.join(src, 'later', gone));
    const r = await withinOrKill(run.done, 120_000, run, 'pcopy');
    expect(r.code, clip(r.stderr)).toBe(1);
    const failures = failureLines(r.stderr);
    expect(failures, clip(r.stderr)).toHaveLength(1);
    expect(failures[0]).toContain(`later/${gone}\``);
    expect(failures[0]).toMatch(/vanished/);
    expect(failedCount(r.stdout)).toBe(1);
    for (const name of fs.readdirSync(path.join(src, 'later'))) expect(hashFile(path.join(dest, 'later', name)), name).toBe(hashFile(path.join(src, 'later', name)));
    expect(fs.readdirSync(path.join(dest, 'later'))).toHaveLength(199);
    expect(hashFile(path.join(dest, 'big.bin'))).toBe(hashFile(path.join(src, 'big.bin')));
    expect(findTemps(dest)).toEqual([]);
  });

  it('Ctrl-C while reading ahead: exit 130, no temp file, no worker left, nothing half-written under a final name', async () => {
    for (let i = 0; i < 400; i++) writeFile(path.join(src, `d${i % 4}`, `f${i}`), 20_000 + i);
    const run = startPcopy(['--chunk-size', '1k', src, dest], { extraEnv: { ...READ_AHEAD, PCOPY_TEST_DELAY_MS: '2' } });
    await waitFor(() => workersOf(run.pid).some((w) => openTemps(w.pid).length > 0), 'a worker writing a temp file', { running: run });
    process.kill(-run.pid, 'SIGINT');
    const r = await withinOrKill(run.done, 60_000, run, 'pcopy');
    expect(r.code, clip(r.stderr)).toBe(130);
    expect(findTemps(dest)).toEqual([]);
    // The run's process group (parent and workers): nothing of it is left.
    await waitFor(() => groupMembers(run.pid).length === 0, 'no process of the run left', { timeoutMs: 10_000 });
    expectPartialCopyIntact(src, dest);
  });
});
