/**
 * End to end: interrupting a copy. pcopy runs in its own process group (detached), slowed down with
 * PCOPY_TEST_DELAY_MS and 1 KiB chunks so the signal arrives mid-file.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { diffTrees, findTemps, hashFile, listEntries, sizeOr, snapshot, tempPerTest, writeFile } from '../helpers/tree.js';
import { type Running, runPcopy, startPcopy, waitFor } from '../helpers/run.js';
import { groupMembers } from '../helpers/proc.js';

const tmp = tempPerTest('pcopy-e2e-sig-');
const MiB = 1024 * 1024;

/** A few 2–4 MiB files and some small ones. */
function makeSrc(): string {
  const src = path.join(tmp(), 'src');
  for (let i = 0; i < 4; i++) writeFile(path.join(src, 'big', `f${i}.bin`), 2 * MiB + i * 700_000, { mode: 0o640 });
  for (let i = 0; i < 30; i++) writeFile(path.join(src, 'small', `d${i % 3}`, `s${i}`), 100 + i * 37);
  fs.symlinkSync('big/f0.bin', path.join(src, 'link'));
  return src;
}

function startSlowCopy(): Running {
  return startPcopy(['--chunk-size', '1k', 'src', 'dest'], {
    cwd: tmp(),
    detached: true,
    extraEnv: { PCOPY_TEST_DELAY_MS: '20' },
  });
}

/** Waits until temp files under dest hold at least `bytes`. */
async function bytesLanded(dest: string, bytes: number): Promise<void> {
  await waitFor(
    () => fs.existsSync(dest) && findTemps(dest).reduce((n, t) => n + Math.max(0, sizeOr(t)), 0) >= bytes,
    'bytes to land in temp files',
    { timeoutMs: 30_000, intervalMs: 10 },
  );
}

/** After an interrupt: no temps, every file there is complete and identical, nothing foreign. */
function expectCleanPartialCopy(src: string, dest: string): void {
  expect(findTemps(dest)).toEqual([]);
  const srcFiles = new Set(listEntries(src, { files: true }));
  for (const rel of listEntries(dest, { files: true })) {
    expect(srcFiles.has(rel), `unexpected file ${rel}`).toBe(true);
    expect(hashFile(path.join(dest, rel)), rel).toBe(hashFile(path.join(src, rel)));
  }
}

describe('interrupting a copy', () => {
  it('SIGINT to the whole process group: exit 130, no temp files, only complete files, no workers left; a rerun completes', async () => {
    const src = makeSrc();
    const dest = path.join(tmp(), 'dest');
    const run = startSlowCopy();
    await bytesLanded(dest, 8 * 1024);
    const pid = run.child.pid!;
    expect(groupMembers(pid).length).toBeGreaterThanOrEqual(2); // pcopy and at least one worker
    process.kill(-pid, 'SIGINT');
    const r = await run.done;

    expect(r.code).toBe(130);
    expect(r.stdout).toMatch(/^pcopy: interrupted: /);
    expect(r.stdout.split('\n')).toHaveLength(2);
    expectCleanPartialCopy(src, dest);
    expect(listEntries(dest, { files: true })).not.toContain('big/f3.bin'); // it really was interrupted
    expect(groupMembers(pid)).toEqual([]);

    const again = await runPcopy(['src', 'dest'], { cwd: tmp() });
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
    expect(diffTrees(snapshot(src, { withRoot: true }), snapshot(dest, { withRoot: true }))).toEqual([]);
    expect(findTemps(dest)).toEqual([]);
  });

  it.each([
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const)('%s to the parent alone: exit %i, no temp files, no workers left', async (signal, code) => {
    const src = makeSrc();
    const dest = path.join(tmp(), 'dest');
    const run = startSlowCopy();
    await bytesLanded(dest, 8 * 1024);
    const pid = run.child.pid!;
    process.kill(pid, signal);
    const r = await run.done;

    expect(r.code).toBe(code);
    expect(r.signal).toBeNull();
    expect(r.stdout).toMatch(/^pcopy: interrupted: /);
    expectCleanPartialCopy(src, dest);
    expect(groupMembers(pid)).toEqual([]);
  });

  it('a second SIGINT leaves at once: exit 130, and the workers still remove their temp files', async () => {
    const src = makeSrc();
    const dest = path.join(tmp(), 'dest');
    const run = startSlowCopy();
    await bytesLanded(dest, 8 * 1024);
    const pid = run.child.pid!;
    process.kill(pid, 'SIGINT');
    process.kill(pid, 'SIGINT');
    const r = await run.done;
    expect(r.code).toBe(130);
    // Workers may outlive the parent by a moment: wait for the group to empty, then look.
    await waitFor(() => groupMembers(pid).length === 0, 'the workers to exit', { timeoutMs: 20_000, intervalMs: 10 });
    expectCleanPartialCopy(src, dest);
  });
});
