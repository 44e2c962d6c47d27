/**
 * A forked worker (dist/worker.cjs: run `npm run build` first) answering `release`: it gives back the
 * end of its queue and copies only the rest. The scheduler's side is in unit/scheduler.test.ts.
 */
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { copyPolicy } from '../../dist/copy-file.js';
import { resolveOptions } from '../../dist/options.js';
import type { JobRef, ParentMessage, WorkerReport } from '../../dist/protocol.js';
import { waitFor } from '../helpers/run.js';
import { findTemps, hashFile, tempPerTest, writeFile } from '../helpers/tree.js';

const tmp = tempPerTest('pcopy-release-');
const WORKER = new URL('../../dist/worker.cjs', import.meta.url);
const isRoot = process.getuid?.() === 0;

function startWorker(srcRoot: string, destRoot: string, delayMs: number): { child: ChildProcess; reports: WorkerReport[]; send(m: ParentMessage): void } {
  const child = fork(WORKER, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const reports: WorkerReport[] = [];
  child.on('message', (m: WorkerReport) => reports.push(m));
  const send = (m: ParentMessage): void => void child.send(m);
  send({ type: 'init', srcRoot, destRoot, chunkSize: 4096, runTag: `${process.pid}-rel`, policy: copyPolicy(resolveOptions(), isRoot, 0o022), delayMs });
  return { child, reports, send };
}

describe('a worker asked to release', () => {
  it('gives back the end of its queue (about half the work, never the file in hand), copies the rest, and leaves nothing of the released ones', async () => {
    const srcRoot = path.join(tmp(), 'src');
    const destRoot = path.join(tmp(), 'dest');
    fs.mkdirSync(destRoot, { recursive: true });
    const jobs: JobRef[] = [];
    for (let i = 0; i < 40; i++) {
      writeFile(path.join(srcRoot, `f${i}`), 3 * 4096, { seed: `f${i}` });
      jobs.push({ id: i, kind: 'file', rel: `f${i}`, attempt: 0, fresh: false });
    }
    // 20 ms after each 4 KiB chunk: the queue is still long when `release` comes.
    const w = startWorker(srcRoot, destRoot, 20);
    const exited = new Promise<number | null>((resolve) => w.child.on('exit', resolve));
    w.send({ type: 'size', jobs, keepBelow: 8 * 1024 * 1024 });
    await waitFor(() => w.reports.some((r) => r.inHand.length > 0), 'a job in hand');
    w.send({ type: 'release' });
    await waitFor(() => w.reports.some((r) => r.released !== undefined), 'the answer to release');
    const released = w.reports.find((r) => r.released)!.released!;

    // The end of the queue, last first: a suffix of the ids, about half of them, and not job 0 (in hand).
    const sorted = [...released].sort((a, b) => a - b);
    expect(released).toEqual([...sorted].reverse());
    expect(sorted.length).toBeGreaterThanOrEqual(15);
    expect(sorted.length).toBeLessThanOrEqual(20);
    expect(sorted).toEqual(Array.from({ length: sorted.length }, (_, k) => 40 - sorted.length + k));

    // The worker copies the rest and nothing else; told to end, it exits.
    const copied = jobs.filter((j) => !released.includes(j.id)).map((j) => j.id);
    await waitFor(() => w.reports.flatMap((r) => r.results).length >= copied.length, 'the rest copied', { timeoutMs: 30_000 });
    w.send({ type: 'end' });
    expect(await exited).toBe(0);
    const results = w.reports.flatMap((r) => r.results);
    expect(results.map((r) => r.id).sort((a, b) => a - b)).toEqual(copied);
    expect(results.every((r) => r.outcome === 'copied')).toBe(true);
    for (const id of copied) expect(hashFile(path.join(destRoot, `f${id}`))).toBe(hashFile(path.join(srcRoot, `f${id}`)));
    for (const id of released) expect(fs.existsSync(path.join(destRoot, `f${id}`))).toBe(false);
    expect(findTemps(destRoot)).toEqual([]);
  }, 60_000);
});
