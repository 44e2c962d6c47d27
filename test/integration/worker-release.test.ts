/**
 * A worker, forked as the pool forks one (dist/worker-start.cjs: run `npm run build` first),
 * answering `release`: it gives back the end of its queue and copies only the rest. The scheduler's side is in unit/scheduler.test.ts.
 */
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { copyPolicy } from '../../dist/copy-file.js';
import { resolveOptions } from '../../dist/options.js';
import { forkWorker } from '../../dist/worker-process.js';
import { toWire, type JobRef, type ParentMessage, type TaskResult, type WorkerReport } from '../../dist/protocol.js';
import { waitFor, type Running } from '../helpers/run.js';
import { findTemps, hashFile, tempPerTest, writeFile } from '../helpers/tree.js';

const tmp = tempPerTest('pcopy-release-');
const isRoot = process.getuid?.() === 0;

function startWorker(
  srcRoot: string,
  destRoot: string,
  delayMs: number,
): { child: ChildProcess; running: Running; reports: WorkerReport[]; send(m: ParentMessage): void } {
  const child = forkWorker();
  const reports: WorkerReport[] = [];
  child.on('message', (m: WorkerReport) => reports.push(m));
  const send = (m: ParentMessage): void => void child.send(toWire(m));
  send({ type: 'init', srcRoot, destRoot, chunkSize: 4096, runTag: `${process.pid}-rel`, policy: copyPolicy(resolveOptions(), isRoot, 0o022), delayMs });
  // For `waitFor`: a worker that dies ends a wait at once. Its output goes to ours.
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, stdout: '', stderr: '' })),
  );
  const running: Running = { child, pid: child.pid!, done, stdout: () => '', stderr: () => '' };
  return { child, running, reports, send };
}

describe('a worker asked to release', () => {
  it('gives back the end of its queue (about half the work, never the file in hand), copies the rest, and leaves nothing of the released ones', async () => {
    const srcRoot = path.join(tmp(), 'src');
    const destRoot = path.join(tmp(), 'dest');
    fs.mkdirSync(destRoot, { recursive: true });
    const N = 80;
    const jobs: JobRef[] = [];
    for (let i = 0; i < N; i++) {
      writeFile(path.join(srcRoot, `f${i}`), 3 * 4096, { seed: `f${i}` });
      jobs.push({ id: i, kind: 'file', rel: `f${i}`, attempt: 0, fresh: false });
    }
    // 20 ms after each 4 KiB chunk, about 60 ms a file: the copy left alone would take seconds to get
    // so far down the queue that fewer than 5 jobs were left to give back (below).
    const w = startWorker(srcRoot, destRoot, 20);
    const exited = new Promise<number | null>((resolve) => w.child.on('exit', resolve));
    w.send({ type: 'size', jobs, keepBelow: 8 * 1024 * 1024, found: jobs.length });
    await waitFor(() => w.reports.some((r) => r.inHand.length > 0), 'a job in hand', { running: w.running });
    w.send({ type: 'release' });
    // A report's results, a file copied with nothing more to say as its bare id.
    const finishedIn = (r: WorkerReport): TaskResult[] => r.results.map((x) => (typeof x === 'number' ? { id: x, outcome: 'copied' } : x));
    await waitFor(() => w.reports.some((r) => r.released !== undefined), 'the answer to release', { running: w.running });
    const answer = w.reports.findIndex((r) => r.released !== undefined);
    const released = w.reports[answer]!.released!;

    // The end of the queue, last first: a suffix of the ids, and not job 0 (in hand).
    const sorted = [...released].sort((a, b) => a - b);
    expect(released).toEqual([...sorted].reverse());
    expect(sorted).toEqual(Array.from({ length: sorted.length }, (_, k) => N - sorted.length + k));
    // Half the work as it stood when `release` came (JobQueue.giveBack): `done` files were finished
    // (the answer carries every result not reported before) and one was in hand, leaving `queued` in
    // the queue. Every queued job weighs the same (its bytes plus BYTES_PER_JOB), the one in hand at
    // most as much (its bytes left plus BYTES_PER_JOB): half the weight is half the queue, rounded
    // down or (an odd queue) up. With none in hand (between two files) it is half of one more job,
    // within the same bounds. At least 5: the release came early.
    const done = w.reports.slice(0, answer + 1).flatMap(finishedIn).length;
    const queued = N - done - 1;
    expect(sorted.length, `${done} files done when the release came`).toBeGreaterThanOrEqual(Math.floor(queued / 2));
    expect(sorted.length, `${done} files done when the release came`).toBeLessThanOrEqual(Math.ceil(queued / 2));
    expect(sorted.length, `${done} files done when the release came`).toBeGreaterThanOrEqual(5);

    // The worker copies the rest and nothing else; told to end, it exits.
    const copied = jobs.filter((j) => !released.includes(j.id)).map((j) => j.id);
    await waitFor(() => w.reports.flatMap(finishedIn).length >= copied.length, 'the rest copied', { timeoutMs: 30_000, running: w.running });
    w.send({ type: 'end' });
    expect(await exited).toBe(0);
    const results = w.reports.flatMap(finishedIn);
    expect(results.map((r) => r.id).sort((a, b) => a - b)).toEqual(copied);
    expect(results.every((r) => r.outcome === 'copied')).toBe(true);
    for (const id of copied) expect(hashFile(path.join(destRoot, `f${id}`))).toBe(hashFile(path.join(srcRoot, `f${id}`)));
    for (const id of released) expect(fs.existsSync(path.join(destRoot, `f${id}`))).toBe(false);
    expect(findTemps(destRoot)).toEqual([]);
  }, 60_000);
});
