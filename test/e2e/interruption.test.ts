/**
 * Interruption: Ctrl-C, SIGTERM and SIGHUP mid-file (to the process group as a terminal sends them,
 * to the parent alone, typed as ^C on a real pseudo-terminal, twice, or over and over until pcopy
 * is gone), the parent killed with SIGKILL, and a worker killed mid-file or mid-part (the job is
 * tried once more; a second death fails it). Kills are real SIGKILLs of processes found in /proc.
 *
 * A copy is slowed down enough to be caught in the middle of a file with the test-only
 * PCOPY_TEST_DELAY_MS (a pause after every chunk) and --chunk-size 1k.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { copyInProgress, diffTrees, expectPartialCopyIntact, findTemps, hashFile, isTempName, listEntries, makeHugeFile, makeManyFiles, sha256, sizeOr, snapshot, srcDestPerTest, writeFile } from '../helpers/tree.js';
import { BIN, killStarted, q, type Running, runPcopy, startPcopy, waitFor, withinOrKill } from '../helpers/run.js';
import { deadPid, descendants, isAlive, openFiles, openTemps, procId, type ProcId, type TreeWatch, watchTree, workersOf } from '../helpers/proc.js';
import { clip, crashLines, failureLines, lines } from '../helpers/output.js';
import { hasCommand, REASON, unavailable } from '../helpers/host.js';

let work: string;
let src: string;
let dest: string;
srcDestPerTest('pcopy-interruption-', (dirs) => ({ work, src, dest } = dirs));
/** The test's temp directory (holding src/ and the dest path). */
const tmp = (): string => work;

/**
 * For runs that are interrupted (never left to finish): 15 ms after each 1 KiB chunk, so the 1 MiB
 * file below takes over 15 s, and the test acts long before it could end even on a loaded machine.
 */
const SLOW = { PCOPY_TEST_DELAY_MS: '15' };

/** A 1 MiB file (about 1,000 paused chunks at 1 KiB: many seconds) among 30 small files in folders. */
function makeSlowTree(): void {
  writeFile(path.join(src, 'big.bin'), 1024 * 1024);
  for (let i = 0; i < 30; i++) writeFile(path.join(src, `d${i % 3}`, `small-${i}`), 300 + i);
  writeFile(path.join(src, '.dot'), 10);
}

/** Waits until some temp file below dest holds at least `bytes`: pcopy is in the middle of a file. */
function midFile(running: Running, bytes = 4096): Promise<string> {
  return waitFor(
    () => fs.existsSync(dest) && findTemps(dest).find((t) => (fs.statSync(t, { throwIfNoEntry: false })?.size ?? 0) >= bytes),
    `a temp file of ${bytes}+ bytes`,
    { running, timeoutMs: 30_000 },
  );
}

/** Blocks this thread for `ms` (no event-loop turn that could stretch the wait). */
function blockFor(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function expectAllGone(procs: Iterable<ProcId>, what: string): void {
  const alive = [...procs].filter(isAlive);
  expect(alive.map((p) => p.pid), `${what} still running`).toEqual([]);
}

/** Every process of the run exits by itself, leaving no temp file and no partial file under a final name. */
async function expectCleanExit(watch: TreeWatch): Promise<void> {
  await waitFor(() => [...watch.seen.values()].every((p) => !isAlive(p)), 'every pcopy process to exit', { timeoutMs: 15_000 });
  expect(findTemps(dest)).toEqual([]);
  expectPartialCopyIntact(src, dest);
}

/** The copy can be completed by running the same command again. */
async function expectRerunCompletes(): Promise<void> {
  const again = await runPcopy([src, dest]);
  expect(again.code, clip(again.stderr)).toBe(0);
  expect(findTemps(dest)).toEqual([]);
  expect(diffTrees(snapshot(src), snapshot(dest))).toEqual([]);
}

describe('F1 interrupted mid-file', () => {
  it.each([
    ['SIGINT', 'the process group (Ctrl-C)', 130],
    ['SIGINT', 'the parent alone', 130],
    ['SIGTERM', 'the parent alone', 143],
    ['SIGTERM', 'the process group', 143],
    ['SIGHUP', 'the process group (hang-up)', 129],
    ['SIGHUP', 'the parent alone', 129],
    // As `timeout -s TERM` sends it: one request to stop, not a second interrupt (the summary comes).
    ['SIGTERM', 'the parent and then its group at once', 143],
  ] as const)('%s to %s: exit %i, no temp files, no workers left, a rerun completes', async (signal, target, code) => {
    makeSlowTree();
    const running = startPcopy(['--chunk-size', '1k', src, dest], { extraEnv: SLOW });
    const watch = watchTree(running.pid);
    try {
      await midFile(running);
      expect(workersOf(running.pid).length, 'workers are running').toBeGreaterThan(0);
      process.kill(target.startsWith('the parent') ? running.pid : -running.pid, signal);
      if (target.endsWith('at once')) {
        // 10 ms on: the first has been taken in by then (a signal still pending would merge with it).
        // A blocking wait, not a timer: under load this event loop could stretch a timer past
        // pcopy's 100 ms within which the same signal again is the same request.
        blockFor(10);
        try {
          process.kill(-running.pid, signal);
        } catch (err) {
          // The whole group already exited on the first: nothing left to send it to.
          if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
        }
      }
      const r = await withinOrKill(running.done, 20_000, running, `pcopy after ${signal}`);
      watch.stop();
      expect(r.code, clip(r.stderr)).toBe(code);
      expect(r.signal).toBeNull();
      expect(r.stdout).toMatch(/^pcopy: interrupted: /);
      expect(lines(r.stdout), 'stdout is the summary line alone').toHaveLength(1);
      expect(crashLines(r.stderr), r.stderr).toEqual([]);
      expectAllGone(watch.seen.values(), 'pcopy processes');
      expect(findTemps(dest)).toEqual([]);
      expectPartialCopyIntact(src, dest);
      expect(fs.existsSync(path.join(dest, 'big.bin')), 'the file being copied is absent').toBe(false);
    } finally {
      watch.stop();
    }
    await expectRerunCompletes();
  });

  it.each([
    ['the process group (Ctrl-C)', true],
    ['the parent alone', false],
  ] as const)('a second SIGINT to %s exits at once with 130; the workers still clean up and exit by themselves', async (_target, group) => {
    makeSlowTree();
    const running = startPcopy(['--chunk-size', '1k', src, dest], { extraEnv: SLOW });
    const watch = watchTree(running.pid);
    try {
      await midFile(running);
      const target = group ? -running.pid : running.pid;
      process.kill(target, 'SIGINT');
      try {
        process.kill(target, 'SIGINT');
      } catch {
        // all gone already
      }
      const r = await withinOrKill(running.done, 20_000, running, 'pcopy after two SIGINTs');
      watch.stop();
      expect(r.signal, 'killed by the signal instead of exiting').toBeNull();
      expect(r.code, clip(r.stderr)).toBe(130);
      expect(crashLines(r.stderr), r.stderr).toEqual([]);
      await expectCleanExit(watch);
    } finally {
      watch.stop();
    }
    await expectRerunCompletes();
  });

  // The flake behind this test: a second SIGINT that landed after the copy had stopped, while Node
  // tore the process down, found the default action again and killed pcopy by the signal (exit code
  // null). Here, as soon as pcopy's summary after the first SIGINT arrives (it is about to exit),
  // SIGINTs follow back to back for 150 ms, so they land in its last moments. Before the fix (cli.ts
  // ends with process.exit) this failed in 4 runs of 4, in round 0 or 1.
  it('SIGINTs while pcopy shuts down after the first (its summary printed): still exit 130, never killed by the signal', async () => {
    makeSlowTree();
    for (let round = 0; round < 6; round++) {
      const out = path.join(work, `dest-${round}`);
      const running = startPcopy(['--chunk-size', '1k', src, out], { extraEnv: SLOW });
      await waitFor(() => fs.existsSync(out) && findTemps(out).some((t) => sizeOr(t) >= 4096), 'a temp file of 4 KiB', { running, timeoutMs: 30_000 });
      running.child.stdout!.on('data', (chunk: Buffer) => {
        if (!chunk.includes('interrupted')) return;
        // Synchronously on purpose: nothing here may wait for this event loop (which reaps the child).
        const end = Date.now() + 150;
        while (Date.now() < end) {
          try {
            process.kill(running.pid, 'SIGINT');
          } catch {
            return; // gone
          }
        }
      });
      process.kill(-running.pid, 'SIGINT');
      const r = await withinOrKill(running.done, 20_000, running, 'pcopy under repeated SIGINTs');
      expect(r.signal, `round ${round}: killed by the signal instead of exiting\n${clip(r.stderr)}`).toBeNull();
      expect(r.code, clip(r.stderr)).toBe(130);
      expect(r.stdout).toMatch(/^pcopy: interrupted: /);
      expectPartialCopyIntact(src, out);
    }
  });

  // 32 GiB, all of it a hole but 5 bytes: nothing to store, yet a copy left alone takes over 20 s
  // (3 GiB took about 2 s), so the SIGINT lands mid-file even on a loaded machine; it is stopped
  // within a second, so the size costs nothing.
  it('inside a multi-GiB file (32 GiB, sparse source, no slowdown): SIGINT stops it, temp removed', async () => {
    const huge = path.join(src, 'huge.img');
    const fd = fs.openSync(huge, 'w');
    fs.writeSync(fd, Buffer.from('start'), 0, 5, 0);
    fs.ftruncateSync(fd, 32 * 1024 ** 3);
    fs.closeSync(fd);
    writeFile(path.join(src, 'small'), 100);
    const running = startPcopy([src, dest]);
    const watch = watchTree(running.pid);
    try {
      await midFile(running, 32 * 1024 * 1024);
      process.kill(-running.pid, 'SIGINT');
      const r = await withinOrKill(running.done, 20_000, running, 'pcopy of a 32 GiB file after SIGINT');
      watch.stop();
      expect(r.code, clip(r.stderr)).toBe(130);
      expectAllGone(watch.seen.values(), 'pcopy processes');
      expect(findTemps(dest)).toEqual([]);
      expect(fs.existsSync(path.join(dest, 'huge.img'))).toBe(false);
      expectPartialCopyIntact(src, dest);
    } finally {
      watch.stop();
    }
  });

  it('SIGINT just after a huge file was opened for parts, before the parent heard of it: its temp is removed', async () => {
    const huge = path.join(src, 'huge.img');
    makeHugeFile(huge, 3 * 1024 ** 3);
    // Workers pause 2 s after opening a huge file for parts (its temp exists, the report waits).
    const running = startPcopy(['-j', '2', src, dest], { extraEnv: { PCOPY_TEST_DELAY_MS: '2000' } });
    await waitFor(() => copyInProgress(dest), 'the split temp', { running, timeoutMs: 30_000 });
    process.kill(-running.pid, 'SIGINT');
    const r = await withinOrKill(running.done, 20_000, running, 'pcopy after SIGINT');
    expect(r.code, clip(r.stderr)).toBe(130);
    expect(findTemps(dest)).toEqual([]);
    expect(fs.existsSync(path.join(dest, 'huge.img'))).toBe(false);
  });

  it.skipIf(unavailable(!hasCommand('script'), REASON.script))('^C typed on a real terminal: the bar stops, exit 130, no temp files', async () => {
    makeSlowTree();
    // util-linux script(1) runs the command on a new pseudo-terminal and copies our stdin to it:
    // a \x03 written there is turned into SIGINT for the foreground process group by the tty driver.
    const { running, child, output } = startOnTerminal(`exec ${q(process.execPath)} ${q(BIN)} --chunk-size 1k ${q(src)} ${q(dest)}`);
    const watch = watchTree(child.pid!);
    try {
      await midFile(running);
      // Let the bar draw at least once.
      await waitFor(() => /%/.test(output()), 'the progress bar', { running, timeoutMs: 10_000 });
      child.stdin!.write('\x03');
      const { code } = await withinOrKill(running.done, 20_000, running, 'pcopy on a pty after ^C');
      watch.stop();
      const out = output();
      expect(code, clip(out)).toBe(130);
      const summaryAt = out.lastIndexOf('interrupted');
      expect(summaryAt, clip(out)).toBeGreaterThan(0);
      // It said it was stopping; the bar was stopped: the cursor is shown again, and nothing is
      // redrawn after the summary.
      expect(out).toMatch(/pcopy: stopping \(SIGINT\); Ctrl-C again quits at once/);
      expect(out.slice(0, summaryAt)).toContain('\x1b[?25h');
      expect(out.slice(summaryAt)).not.toMatch(/\d+(\.\d+)?%/);
      expect(crashLines(out)).toEqual([]);
      expectAllGone(watch.seen.values(), 'pcopy processes');
      expect(findTemps(dest)).toEqual([]);
      expectPartialCopyIntact(src, dest);
    } finally {
      watch.stop();
      child.stdin!.end();
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // gone
      }
    }
    await expectRerunCompletes();
  });
});

/** A process's state letter from /proc (T: stopped), or '' once it is gone. */
function procState(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] ?? '';
  } catch {
    return '';
  }
}

/** pcopy on a new pseudo-terminal (util-linux script(1)), slowed down; `out` gathers what the terminal shows. */
function startOnTerminal(command: string, slow: Record<string, string> = SLOW): { running: Running; child: ReturnType<typeof spawn>; output: () => string } {
  const child = spawn('script', ['-qefc', command, '/dev/null'], {
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
    env: { ...process.env, ...slow, TERM: 'xterm', COLUMNS: '200', LINES: '50' },
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const done = new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  const running: Running = { child, pid: child.pid!, done: done.then((code) => ({ code, signal: null, stdout: out, stderr: '' })), stdout: () => out, stderr: () => out };
  return { running, child, output: () => out };
}

describe('F1 on a terminal that misbehaves', () => {
  it.skipIf(unavailable(!hasCommand('script'), REASON.script))('a second ^C while the first is still stopping: exit 130 at once, with the cursor and line wrapping given back', async () => {
    makeSlowTree();
    const { running, child, output } = startOnTerminal(`exec ${q(process.execPath)} ${q(BIN)} --chunk-size 1k ${q(src)} ${q(dest)}`);
    const watch = watchTree(child.pid!);
    const stuck: ProcId[] = [];
    try {
      await midFile(running);
      await waitFor(() => /%/.test(output()), 'the progress bar', { running, timeoutMs: 10_000 });
      // Workers that cannot stop keep the first ^C's clean-up waiting, as workers stuck on a slow
      // device would (the parent waits seconds for them before it kills them).
      stuck.push(...workersOf(child.pid!));
      expect(stuck.length, 'workers are running').toBeGreaterThan(0);
      for (const w of stuck) process.kill(w.pid, 'SIGSTOP');
      child.stdin!.write('\x03');
      // Past the 100 ms within which the same signal again counts as the same request.
      await new Promise((resolve) => setTimeout(resolve, 400));
      const before = output().length;
      child.stdin!.write('\x03');
      const { code } = await withinOrKill(running.done, 10_000, running, 'pcopy on a pty after a second ^C');
      expect(code, clip(output())).toBe(130);
      // The bar hid the cursor and turned line wrapping off; both come back before pcopy is gone.
      const after = output().slice(before);
      expect(after, clip(output())).toContain('\x1b[?25h');
      expect(after, clip(output())).toContain('\x1b[?7h');
      expect(crashLines(output())).toEqual([]);
    } finally {
      for (const w of stuck) if (isAlive(w)) process.kill(w.pid, 'SIGCONT');
      watch.stop();
      child.stdin!.end();
    }
    await expectCleanExit(watch);
  });

  it.skipIf(unavailable(!hasCommand('script'), REASON.script))('^Z on a terminal: the cursor and line wrapping come back while pcopy is stopped; resumed, the bar goes on and the copy completes', async () => {
    makeSlowTree();
    // 2 ms a chunk: stopped and resumed within a few seconds, the copy then ends by itself.
    const { running, child, output } = startOnTerminal(`exec ${q(process.execPath)} ${q(BIN)} --chunk-size 1k ${q(src)} ${q(dest)}`, { PCOPY_TEST_DELAY_MS: '2' });
    const watch = watchTree(child.pid!);
    try {
      await midFile(running);
      await waitFor(() => /%/.test(output()), 'the progress bar', { running, timeoutMs: 10_000 });
      const parent = descendants(child.pid!).find((p) => !workersOf(child.pid!).some((w) => w.pid === p.pid))!;
      const before = output().length;
      child.stdin!.write('\x1a');
      await waitFor(() => procState(parent.pid) === 'T', 'pcopy to stop', { running, timeoutMs: 10_000 });
      // What a shell's `fg` does: SIGCONT to the job's process group; and to script(1), which stops
      // itself when its child does (what pcopy wrote as it stopped comes through only then).
      process.kill(-parent.pid, 'SIGCONT');
      process.kill(child.pid!, 'SIGCONT');
      const r = await withinOrKill(running.done, 60_000, running, 'pcopy resumed after ^Z');
      watch.stop();
      expect(r.code, clip(output())).toBe(0);
      // Stopped, the cursor was shown and lines wrapped again; resumed, the bar hid it again (the
      // last show is the bar's end).
      const after = output().slice(before);
      const shown = after.indexOf('\x1b[?25h');
      const wrapped = after.indexOf('\x1b[?7h');
      const hiddenAgain = after.indexOf('\x1b[?25l', Math.max(shown, wrapped));
      expect(shown, clip(after)).toBeGreaterThanOrEqual(0);
      expect(wrapped, clip(after)).toBeGreaterThanOrEqual(0);
      expect(hiddenAgain, clip(after)).toBeGreaterThan(Math.max(shown, wrapped));
      expect(after.slice(hiddenAgain)).toMatch(/pcopy: 32 files copied/);
      expect(crashLines(output())).toEqual([]);
      expect(diffTrees(snapshot(src), snapshot(dest))).toEqual([]);
    } finally {
      watch.stop();
      child.stdin!.end();
      // On a failure, nothing stays behind stopped.
      for (const p of watch.seen.values()) {
        try {
          if (isAlive(p)) process.kill(p.pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    }
  }, 90_000);

  it.skipIf(unavailable(!hasCommand('script') || !hasCommand('bash'), REASON.script))('the terminal hangs up mid-copy (its window closed): exit 129, no native crash, no temp files', async () => {
    makeSlowTree();
    const rcFile = path.join(tmp(), 'rc');
    const errFile = path.join(tmp(), 'stderr');
    // As an interactive shell does, this one passes the hang-up on to its job (pcopy's stdout is the
    // terminal); it outlives the terminal to write down pcopy's exit code.
    const pcopy = `${q(process.execPath)} ${q(BIN)} --chunk-size 1k ${q(src)} ${q(dest)} 2>${q(errFile)}`;
    const shell = `trap 'kill -HUP $p' HUP; ${pcopy} & p=$!; wait $p; while kill -0 $p 2>/dev/null; do wait $p; done; wait $p; echo $? > ${q(rcFile)}`;
    const { running, child } = startOnTerminal(`exec bash -c ${q(shell)}`);
    const watch = watchTree(child.pid!);
    try {
      await midFile(running);
      // The terminal goes away: its master side closes, and the shell, its session leader, gets SIGHUP.
      process.kill(child.pid!, 'SIGKILL');
      await waitFor(() => fs.existsSync(rcFile) && fs.readFileSync(rcFile, 'utf8').endsWith('\n'), 'pcopy\'s exit code', { timeoutMs: 20_000 });
      const stderr = fs.readFileSync(errFile, 'utf8');
      // Node 20 used to abort here on its way out (exit 134, a native stack trace): the terminal it
      // restores was gone.
      expect(fs.readFileSync(rcFile, 'utf8').trim(), stderr).toBe('129');
      expect(crashLines(stderr), stderr).toEqual([]);
      await expectCleanExit(watch);
    } finally {
      watch.stop();
    }
    await expectRerunCompletes();
  });
});

describe('the summary of an interrupted run', () => {
  it('counts every file it copied: the workers report what they finished since their last report before they go', async (ctx) => {
    makeManyFiles(src, 6000, 200);
    const running = startPcopy([src, dest]);
    // Interrupted while the workers are in full flow: they report at most every 100 ms, and copy
    // thousands of small files in that time.
    await waitFor(() => fs.existsSync(dest) && countFiles(dest) >= 300, '300 files copied', { running, timeoutMs: 30_000, intervalMs: 2 });
    process.kill(running.pid, 'SIGINT');
    const r = await withinOrKill(running.done, 20_000, running, 'pcopy after SIGINT');
    if (r.code === 0) ctx.skip('the copy finished before the signal landed');
    expect(r.code, clip(r.stderr)).toBe(130);
    const said = /^pcopy: interrupted: ([\d,]+) files? copied/.exec(r.stdout);
    expect(said, r.stdout).not.toBeNull();
    expect(findTemps(dest)).toEqual([]);
    expect(Number(said![1]!.replace(/,/g, '')), r.stdout).toBe(countFiles(dest));
    expectPartialCopyIntact(src, dest);
  });
});

/** Regular files below `dir`. */
function countFiles(dir: string): number {
  let n = 0;
  for (const d of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) if (d.isFile()) n++;
  return n;
}

describe('directories after an interrupted run', () => {
  it('SIGINT: the directories made so far get their modes and times (with --no-preserve too), so a rerun needs no fix', async () => {
    makeSlowTree();
    for (let i = 0; i < 3; i++) fs.chmodSync(path.join(src, `d${i}`), 0o750);
    fs.chmodSync(src, 0o705);
    for (const args of [[], ['--no-preserve']]) {
      fs.rmSync(dest, { recursive: true, force: true });
      const running = startPcopy([...args, '--chunk-size', '1k', src, dest], { extraEnv: SLOW });
      await midFile(running);
      process.kill(running.pid, 'SIGINT');
      const r = await withinOrKill(running.done, 20_000, running, 'pcopy after SIGINT');
      expect(r.code, clip(r.stderr)).toBe(130);
      const made = ['', 'd0', 'd1', 'd2'].filter((d) => fs.existsSync(path.join(dest, d)));
      expect(made.length).toBeGreaterThan(1);
      for (const d of made) {
        // The source's modes; without them the source's less the umask (022 or stricter here).
        const want = d === '' ? 0o705 : 0o750;
        const mode = fs.statSync(path.join(dest, d)).mode & 0o7777;
        expect(mode & ~want, `${d || '.'} ${mode.toString(8)} ${args.join(' ')}`).toBe(0);
        expect(mode & 0o700, `${d || '.'} ${mode.toString(8)}`).toBe(0o700);
        if (args.length === 0) expect(mode, d || '.').toBe(want);
      }
    }
  });
});

describe('F2 the parent killed with SIGKILL', () => {
  it('workers exit on their own, no partial file under a final name, the next run removes dead runs\' temps only', async () => {
    makeSlowTree();
    const running = startPcopy(['--chunk-size', '1k', src, dest], { extraEnv: SLOW });
    await midFile(running);
    const workers = workersOf(running.pid);
    expect(workers.length, 'workers are running').toBeGreaterThan(0);
    process.kill(running.pid, 'SIGKILL');
    const r = await withinOrKill(running.done, 10_000, running, 'pcopy after SIGKILL');
    expect(r.signal).toBe('SIGKILL');
    await waitFor(() => workers.every((w) => !isAlive(w)), 'the orphaned workers to exit by themselves', { timeoutMs: 15_000 });
    // Each removed its temp file as it went: a report that failed on the closed channel (EPIPE) is
    // no crash of its own (seen: a Node trace and a partial temp in about half the runs).
    expect(crashLines(r.stderr), r.stderr).toEqual([]);
    expect(findTemps(dest)).toEqual([]);
    // Whatever is under a final name is complete.
    expectPartialCopyIntact(src, dest, isTempName);

    // Plant temps: two of runs that are gone, one of a live run (this test process).
    fs.mkdirSync(path.join(dest, 'd1'), { recursive: true });
    const dead = deadPid();
    const staleTop = path.join(dest, `.pcopy-${dead}-abcdef-1.tmp`);
    const staleSub = path.join(dest, 'd1', `.pcopy-${dead}-abcdef-2.tmp`);
    const live = path.join(dest, 'd1', `.pcopy-${process.pid}-abcdef-3.tmp`);
    for (const f of [staleTop, staleSub, live]) fs.writeFileSync(f, 'partial');
    const leftByKilledRun = findTemps(dest).filter((t) => ![staleTop, staleSub, live].includes(t));

    const again = await runPcopy([src, dest]);
    expect(again.code, clip(again.stderr)).toBe(0);
    expect(fs.existsSync(staleTop), 'stale temp of a dead run removed').toBe(false);
    expect(fs.existsSync(staleSub), 'stale temp of a dead run removed (subdirectory)').toBe(false);
    for (const t of leftByKilledRun) expect(fs.existsSync(t), `temp of the killed run ${t} removed`).toBe(false);
    expect(fs.existsSync(live), 'temp of a live run kept').toBe(true);
    expect(findTemps(dest)).toEqual([live]);
    const copied = snapshot(dest);
    copied.delete(path.relative(dest, live));
    expect(diffTrees(snapshot(src), copied)).toEqual([]);
  });

  it('a second run into the same DEST never removes the temp file of a run still going', async () => {
    makeSlowTree();
    // 5 ms per KiB of its 1 MiB file: over 5 s to catch it mid-file, and as long again to finish.
    const slow = startPcopy(['--chunk-size', '1k', src, dest], { extraEnv: { PCOPY_TEST_DELAY_MS: '5' } });
    const temp = await midFile(slow);
    // Stopped (parent and workers) while the other run goes: it is surely still going however long
    // that run takes on a loaded machine, then continued and left to finish.
    process.kill(-slow.pid, 'SIGSTOP');
    try {
      const fast = await runPcopy([src, dest]);
      expect(fast.code, clip(fast.stderr)).toBe(0);
      const slowId = procId(slow.pid);
      expect(slowId !== undefined && isAlive(slowId), 'the slow run is still going').toBe(true);
      expect(fs.existsSync(temp), `the live run's temp ${temp} was removed`).toBe(true);
    } finally {
      try {
        process.kill(-slow.pid, 'SIGCONT');
      } catch {
        // gone
      }
    }
    const r = await withinOrKill(slow.done, 45_000, slow, 'the slow run');
    expect(r.code, clip(r.stderr)).toBe(0);
    expect(findTemps(dest)).toEqual([]);
    expect(diffTrees(snapshot(src), snapshot(dest))).toEqual([]);
  });
});

describe('F3 a worker killed mid-job', () => {
  /** 40 ms after each 1 KiB chunk: the big file below takes over 5 s, a small one under 0.2 s. */
  const F3_DELAY = { PCOPY_TEST_DELAY_MS: '40' };

  /**
   * Files copied one at a time by one worker (-j 1), 1 KiB chunks with a pause after each, in the
   * walk's order (a directory's files before those below it): the small f0 and f1 first, then the
   * big d/f2 (128 KiB: over 5 s, so the test has seconds to catch a worker in it, each time it is
   * tried), then the small d/e/f3 … f5. Keyed by path relative to SRC.
   */
  function makeFiles(): Map<string, Buffer> {
    const files = new Map<string, Buffer>();
    for (const rel of ['f0', 'f1', 'd/e/f3', 'd/e/f4', 'd/e/f5']) files.set(rel, writeFile(path.join(src, rel), 4 * 1024));
    files.set('d/f2', writeFile(path.join(src, 'd/f2'), 128 * 1024));
    return files;
  }

  /**
   * Waits until at least `finished` files are complete and a worker (not one of `notIn`) is in the
   * middle of a file (of `only`, if given): it has that source file open and a temp file of 2+ KiB.
   * Returns the worker and the file, read from the worker's open descriptors in /proc.
   */
  async function workerMidFile(running: Running, finished: number, notIn: ProcId[] = [], only?: string): Promise<{ worker: ProcId; rel: string }> {
    return waitFor(
      () => {
        if (!fs.existsSync(dest)) return undefined;
        if (listEntries(dest, { files: true }).filter((n) => !isTempName(n)).length < finished) return undefined;
        for (const worker of workersOf(running.pid)) {
          if (notIn.some((n) => n.pid === worker.pid)) continue;
          const open = openFiles(worker.pid);
          const rel = open.map((f) => path.relative(src, f)).find((r) => /^(d\/(e\/)?)?f\d$/.test(r) && (only === undefined || r === only));
          if (rel && open.some((f) => isTempName(f) && sizeOr(f) >= 2048)) return { worker, rel };
        }
        return undefined;
      },
      `a worker in the middle of ${only ?? `file ${finished + 1}`}`,
      { running, timeoutMs: 30_000 },
    );
  }

  // Fails if the retry breaks: the file whose worker died must arrive complete (hash), named by
  // the warning, with exit 0 and no failure.
  it('once: that file is tried once more (named in a warning) and arrives complete; the run exits 0', async () => {
    const files = makeFiles();
    const running = startPcopy(['-j', '1', '--chunk-size', '1k', src, dest], { extraEnv: F3_DELAY });
    const { worker } = await workerMidFile(running, 2);
    const finishedBefore = new Set(listEntries(dest, { files: true }).filter((n) => !isTempName(n)));
    process.kill(worker.pid, 'SIGKILL');
    const r = await withinOrKill(running.done, 45_000, running, 'pcopy after a worker was killed');

    expect(failureLines(r.stderr), clip(r.stderr)).toEqual([]);
    expect(r.code, clip(r.stderr)).toBe(0);
    expect(crashLines(r.stderr)).toEqual([]);
    const warning = /^pcopy: worker \d+ died \(killed by SIGKILL\) while copying `((?:d\/(?:e\/)?)?f\d)`: trying it once more$/m.exec(r.stderr);
    expect(warning, `no retry warning naming the file\n${clip(r.stderr)}`).not.toBeNull();
    const rel = warning![1]!;
    expect(finishedBefore.has(rel), `${rel} had been finished before the kill`).toBe(false);
    expect(hashFile(path.join(dest, rel)), `${rel} after the retry`).toBe(sha256(files.get(rel)!));
    expect(findTemps(dest)).toEqual([]);
    expect(diffTrees(snapshot(src), snapshot(dest))).toEqual([]);
  });

  it('twice on the same file: that file is reported, its temps removed, the rest copied, exit 1', async () => {
    const files = makeFiles();
    const running = startPcopy(['-j', '1', '--chunk-size', '1k', src, dest], { extraEnv: F3_DELAY });
    const first = await workerMidFile(running, 2);
    const before = new Set(listEntries(dest, { files: true }).filter((n) => !isTempName(n)));
    process.kill(first.worker.pid, 'SIGKILL');
    // The retry goes to the new worker: kill that one too while it is in the middle of the same file.
    const second = await workerMidFile(running, 0, [first.worker], first.rel);
    const during = new Set(listEntries(dest, { files: true }).filter((n) => !isTempName(n)));
    process.kill(second.worker.pid, 'SIGKILL');
    const r = await withinOrKill(running.done, 45_000, running, 'pcopy after two workers were killed');

    const failed = failureLines(r.stderr);
    expect(failed.length, clip(r.stderr)).toBe(1);
    expect(failed[0]).toMatch(/died|crash|killed/i);
    const at = /Cannot copy `([^`]*)`/.exec(failed[0]!)?.[1];
    const rel = at === undefined ? undefined : path.relative(src, at);
    expect(rel, failed[0]).toBeDefined();
    expect(rel, 'the file both workers died on is the one reported').toBe(first.rel);
    expect(before.has(rel!) || during.has(rel!), `${rel} had been finished before the kills`).toBe(false);
    expect(r.code, clip(r.stderr)).toBe(1);
    expect(fs.existsSync(path.join(dest, rel!))).toBe(false);
    expect(findTemps(dest)).toEqual([]);
    expect(expectPartialCopyIntact(src, dest)).toEqual([...files.keys()].filter((n) => n !== rel).sort());
  });
});

describe('a worker killed while copying a part of a huge file', () => {
  const MiB = 1024 * 1024;

  it('a worker killed while writing a part: the part is written again, the file completes exactly', async () => {
    makeHugeFile(path.join(src, 'big.img'), 80 * MiB);
    const running = startPcopy(['-j', '2', src, dest], { extraEnv: { PCOPY_TEST_DELAY_MS: '5' } });
    try {
      await waitFor(() => copyInProgress(dest), 'the temp file', { running });
      // A worker that has held the temp file open for 50 ms is in the middle of writing a part, and has
      // said so (with the test delay a worker reports after every chunk). Caught at its very first
      // chunk, it may not have reported the part yet: the part is then sent again without a word, and
      // the opening of the file holds the temp too, for microseconds.
      const since = new Map<number, number>();
      const victim = await waitFor(
        () => {
          const holding = workersOf(running.pid).filter((w) => openTemps(w.pid).length > 0);
          for (const pid of since.keys()) if (!holding.some((w) => w.pid === pid)) since.delete(pid);
          for (const w of holding) if (!since.has(w.pid)) since.set(w.pid, Date.now());
          return holding.find((w) => Date.now() - since.get(w.pid)! >= 50);
        },
        'a worker writing a part',
        { running },
      );
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
