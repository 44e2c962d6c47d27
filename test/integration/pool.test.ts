/**
 * The worker pool with real forked workers (dist/worker-start.cjs: run `npm run build` first).
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { copyPolicy, type CopyOutcome } from '../../dist/copy-file.js';
import { resolveOptions } from '../../dist/options.js';
import { WorkerPool, type PoolSettings } from '../../dist/pool.js';
import { openTemps, workersOf } from '../helpers/proc.js';
import { waitFor } from '../helpers/run.js';
import { findTemps, hashFile, sizeOr, tempPerTest, writeFile } from '../helpers/tree.js';

const tmp = tempPerTest('pcopy-pool-');
const isRoot = process.getuid?.() === 0;
const workerPids = (ppid: number): number[] => workersOf(ppid).map((p) => p.pid);
const MiB = 1024 * 1024;

interface Recorded {
  sizedBytes: number;
  sizedFiles: number;
  bytes: number;
  done: Map<number, CopyOutcome[]>;
  failed: Array<{ id: number; code: string; message: string }>;
  warnings: string[];
}

function runPool(settings: Partial<PoolSettings> & { srcRoot: string; destRoot: string }, rels: string[]): { pool: WorkerPool; rec: Recorded; ids: number[] } {
  const rec: Recorded = { sizedBytes: 0, sizedFiles: 0, bytes: 0, done: new Map(), failed: [], warnings: [] };
  const defaults: PoolSettings = {
    workers: 2,
    initialWorkers: 2,
    srcRoot: settings.srcRoot,
    destRoot: settings.destRoot,
    chunkSize: 65536,
    runTag: `${process.pid}-t${Math.floor(Math.random() * 1e6).toString(36)}`,
    policy: copyPolicy(resolveOptions(), isRoot, 0o022),
    bigFileBytes: 8 * MiB,
    // Whole files only here: parts of huge files have tests of their own (e2e/split-file).
    splitFileBytes: Infinity,
    partBytes: 32 * MiB,
    delayMs: 0,
  };
  const pool = new WorkerPool(
    { ...defaults, ...settings },
    {
      sized: (bytes, files) => {
        rec.sizedBytes += bytes;
        rec.sizedFiles += files;
      },
      bytes: (n) => (rec.bytes += n),
      done: (id, outcome) => rec.done.set(id, [...(rec.done.get(id) ?? []), outcome]),
      failed: (id, error) => rec.failed.push({ id, code: error.code, message: error.message }),
      warn: (message) => rec.warnings.push(message),
      hardLinked: () => {
        throw new Error('no -H in these tests');
      },
    },
  );
  // `fresh` = false: the destination may hold anything (the safe, checking path).
  const ids = rels.map((rel) => pool.add('file', rel, false));
  pool.finishInput();
  return { pool, rec, ids };
}

/**
 * For `waitFor`: throws once the pool has finished, so a wait that lost its race fails at once
 * instead of sitting out its timeout.
 */
function whilePoolRuns(pool: WorkerPool, what: string): () => void {
  let ended = false;
  const end = (): void => void (ended = true);
  void pool.finished.then(end, end);
  return () => {
    if (ended) throw new Error(`the pool finished before ${what}`);
  };
}

/** Makes the destination directories (the pool's caller does that, not the workers). */
function mirrorDirs(srcRoot: string, destRoot: string, rels: string[]): void {
  for (const rel of rels) fs.mkdirSync(path.dirname(path.join(destRoot, rel)), { recursive: true });
}

function expectSameFiles(srcRoot: string, destRoot: string, rels: string[]): void {
  const wrong: string[] = [];
  for (const rel of rels) {
    const a = fs.lstatSync(path.join(srcRoot, rel), { bigint: true });
    const b = fs.lstatSync(path.join(destRoot, rel), { bigint: true, throwIfNoEntry: false });
    if (!b) {
      wrong.push(`${rel}: missing`);
      continue;
    }
    if (a.size !== b.size) wrong.push(`${rel}: size ${a.size} != ${b.size}`);
    else if (hashFile(path.join(srcRoot, rel)) !== hashFile(path.join(destRoot, rel))) wrong.push(`${rel}: content differs`);
    if ((a.mode & 0o7777n) !== (b.mode & 0o7777n)) wrong.push(`${rel}: mode ${a.mode.toString(8)} != ${b.mode.toString(8)}`);
    if (a.mtimeNs / 1000n !== b.mtimeNs / 1000n) wrong.push(`${rel}: mtime ${a.mtimeNs} != ${b.mtimeNs}`);
  }
  expect(wrong.slice(0, 10)).toEqual([]);
}

describe('WorkerPool with forked workers', () => {
  it('copies 3,000 small files and a 40 MiB file (shared queue), every event once, byte-identical; a second pass finds all the same', async () => {
    const srcRoot = path.join(tmp(), 'src');
    const destRoot = path.join(tmp(), 'dest');
    const rels: string[] = [];
    let total = 0;
    for (let i = 0; i < 3000; i++) {
      const rel = `d${i % 30}/f${i}`;
      const size = (i * 7919) % 5000;
      writeFile(path.join(srcRoot, rel), size, { mode: [0o644, 0o600, 0o755][i % 3] });
      fs.utimesSync(path.join(srcRoot, rel), 1_500_000_000 + i, 1_600_000_000 + i + 0.123456);
      rels.push(rel);
      total += size;
    }
    writeFile(path.join(srcRoot, 'big', 'large.bin'), 40 * MiB, { mode: 0o640 });
    rels.push('big/large.bin');
    total += 40 * MiB;
    mirrorDirs(srcRoot, destRoot, rels);

    const { pool, rec, ids } = runPool({ srcRoot, destRoot }, rels);
    await pool.finished;

    expect(rec.failed).toEqual([]);
    expect(rec.warnings).toEqual([]);
    expect(rec.sizedFiles).toBe(rels.length);
    expect(rec.sizedBytes).toBe(total);
    expect(rec.bytes).toBe(total);
    expect(rec.done.size).toBe(rels.length);
    for (const id of ids) expect(rec.done.get(id)).toEqual(['copied']);
    for (const id of ids) expect(pool.size(id)).toBe(fs.statSync(path.join(srcRoot, pool.rel(id))).size);
    expectSameFiles(srcRoot, destRoot, rels);
    expect(findTemps(destRoot)).toEqual([]);
    expect(workerPids(process.pid)).toEqual([]);

    const inodeOf = (rel: string): bigint => fs.lstatSync(path.join(destRoot, rel), { bigint: true }).ino;
    const before = rels.map(inodeOf);
    const second = runPool({ srcRoot, destRoot }, rels);
    await second.pool.finished;
    expect(second.rec.failed).toEqual([]);
    expect(second.rec.done.size).toBe(rels.length);
    for (const id of second.ids) expect(second.rec.done.get(id)).toEqual(['same']);
    expect(second.rec.bytes).toBe(total);
    expect(rels.map(inodeOf)).toEqual(before);
  });

  it('allJobsDone: every job done, the copy complete and no temp left; nothing in DEST changes after it, while the workers exit', async () => {
    const srcRoot = path.join(tmp(), 'src');
    const destRoot = path.join(tmp(), 'dest');
    const rels = Array.from({ length: 600 }, (_, i) => `d${i % 6}/f${i}`);
    for (const [i, rel] of rels.entries()) writeFile(path.join(srcRoot, rel), (i * 131) % 9000);
    mirrorDirs(srcRoot, destRoot, rels);
    const { pool, rec } = runPool({ srcRoot, destRoot }, rels);
    let finished = false;
    void pool.finished.then(() => (finished = true));

    await pool.allJobsDone;
    // The last job's report came from a worker still in the pool: the exits come after.
    expect(finished).toBe(false);
    expect(rec.done.size).toBe(rels.length);
    expect(findTemps(destRoot)).toEqual([]);
    expectSameFiles(srcRoot, destRoot, rels);
    // A worker that wrote or removed anything from here on would change its directory's mtime.
    const dirTimes = (): bigint[] => [0, 1, 2, 3, 4, 5].map((d) => fs.statSync(path.join(destRoot, `d${d}`), { bigint: true }).mtimeNs);
    const atDone = dirTimes();
    await pool.finished;
    expect(dirTimes()).toEqual(atDone);
    expect(workerPids(process.pid)).toEqual([]);
  });

  it('allJobsDone after an abort resolves only once every worker has exited and removed its temp file', async () => {
    const srcRoot = path.join(tmp(), 'src');
    const destRoot = path.join(tmp(), 'dest');
    const rels = Array.from({ length: 20 }, (_, i) => `d/f${i}`);
    for (const rel of rels) writeFile(path.join(srcRoot, rel), 64 * 1024);
    mirrorDirs(srcRoot, destRoot, rels);
    const { pool } = runPool({ srcRoot, destRoot, chunkSize: 1024, delayMs: 20 }, rels);
    let finished = false;
    void pool.finished.then(() => (finished = true));
    const poolRuns = whilePoolRuns(pool, 'a copy started');
    await waitFor(() => {
      poolRuns();
      return findTemps(destRoot).length > 0;
    }, 'a copy in progress');
    void pool.abort();
    await pool.allJobsDone;
    expect(finished).toBe(true);
    expect(workerPids(process.pid)).toEqual([]);
    expect(findTemps(destRoot)).toEqual([]);
  });

  it('reports a missing source file as failed and still copies the rest', async () => {
    const srcRoot = path.join(tmp(), 'src');
    const destRoot = path.join(tmp(), 'dest');
    const rels = ['a', 'gone', 'b'];
    writeFile(path.join(srcRoot, 'a'), 10);
    writeFile(path.join(srcRoot, 'b'), 20);
    fs.mkdirSync(destRoot);
    const { pool, rec, ids } = runPool({ srcRoot, destRoot }, rels);
    await pool.finished;
    expect(rec.failed).toEqual([{ id: ids[1], code: 'VANISHED', message: expect.stringMatching(/vanished/) }]);
    expect(rec.done.get(ids[0]!)).toEqual(['copied']);
    expect(rec.done.get(ids[2]!)).toEqual(['copied']);
    expectSameFiles(srcRoot, destRoot, ['a', 'b']);
  });

  it('retries the file of a worker killed (SIGKILL) mid-file; everything is copied and no temp file is left', async () => {
    const srcRoot = path.join(tmp(), 'src');
    const destRoot = path.join(tmp(), 'dest');
    const rels: string[] = [];
    for (let i = 0; i < 10; i++) {
      writeFile(path.join(srcRoot, 'small', `s${i}`), 100 + i);
      rels.push(`small/s${i}`);
    }
    for (let i = 0; i < 3; i++) {
      writeFile(path.join(srcRoot, 'slow', `big${i}`), 64 * 1024 + i, { mode: 0o600 });
      rels.push(`slow/big${i}`);
    }
    mirrorDirs(srcRoot, destRoot, rels);
    // 30 ms after each 1 KiB chunk: a big file takes about 2 s; from the moment a worker is first well
    // into one, the copy left alone runs over 3.5 s more (two big files in a row): the test's time to
    // catch one.
    const { pool, rec, ids } = runPool({ srcRoot, destRoot, workers: 2, chunkSize: 1024, delayMs: 30 }, rels);

    // A worker well into a file (over 200 ms: so everything it finished before has been reported).
    const what = 'a worker holding a partly written temp file';
    const poolRuns = whilePoolRuns(pool, what);
    let victim: { pid: number; temp: string } | undefined;
    await waitFor(
      () => {
        poolRuns();
        for (const pid of workerPids(process.pid)) {
          const temp = openTemps(pid).find((t) => sizeOr(t) >= 8 * 1024);
          if (temp) victim = { pid, temp };
        }
        return victim !== undefined;
      },
      what,
      { timeoutMs: 20_000, intervalMs: 5 },
    );
    process.kill(victim!.pid, 'SIGKILL');
    await pool.finished;

    expect(rec.failed).toEqual([]);
    expect(rec.warnings).toHaveLength(1);
    expect(rec.warnings[0]).toMatch(/died \(killed by SIGKILL\) while copying `slow\/big\d`: trying it once more/);
    expect(rec.done.size).toBe(rels.length);
    for (const id of ids) expect(rec.done.get(id)).toHaveLength(1);
    expectSameFiles(srcRoot, destRoot, rels);
    expect(findTemps(destRoot)).toEqual([]);
    expect(fs.existsSync(victim!.temp)).toBe(false);
    expect(workerPids(process.pid)).toEqual([]);
  });

  it('retries the right file when the worker is killed just after finishing one it has not reported yet', async () => {
    const srcRoot = path.join(tmp(), 'src');
    const destRoot = path.join(tmp(), 'dest');
    writeFile(path.join(srcRoot, 'first'), 100);
    writeFile(path.join(srcRoot, 'second'), 64 * 1024);
    fs.mkdirSync(destRoot);
    const rels = ['first', 'second'];
    // 50 ms after each 1 KiB chunk: `second` takes over 3 s, the time the test has to see it started.
    const { pool, rec } = runPool({ srcRoot, destRoot, workers: 1, chunkSize: 1024, delayMs: 50 }, rels);

    // `first` (one chunk) is done; `second` has its first chunk in its temp file: kill at once.
    const what = 'the second file to start';
    const poolRuns = whilePoolRuns(pool, what);
    await waitFor(
      () => {
        poolRuns();
        return findTemps(destRoot).some((t) => sizeOr(t) >= 1024);
      },
      what,
      { timeoutMs: 20_000, intervalMs: 1 },
    );
    const workers = workerPids(process.pid);
    expect(workers).toHaveLength(1);
    process.kill(workers[0]!, 'SIGKILL');
    await pool.finished;

    expect(rec.failed).toEqual([]);
    expect(rec.done.size).toBe(2);
    expectSameFiles(srcRoot, destRoot, rels);
    expect(findTemps(destRoot)).toEqual([]);
    expect(workerPids(process.pid)).toEqual([]);
  });
});
