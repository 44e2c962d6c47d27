/**
 * Start-up: bin/pcopy.js forks the first worker before it loads the CLI, when its arguments look
 * like a copy. A small tree is copied by that one worker (the pool grows only for work worth a
 * second process: many files, or many bytes); a run refused after that early fork (missing SRC,
 * usage error) exits at once with its usual code and leaves no process behind.
 * Run as a command, bin/pcopy.js starts Node on itself without NODE_EXTRA_CA_CERTS (a shell line).
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { forkWorker } from '../../dist/worker-process.js';
import { looksLikeCopy } from '../../src/worker-process.js';
import { groupMembers } from '../helpers/proc.js';
import { workerLines } from '../helpers/output.js';
import { expectSameTree } from '../helpers/expect.js';
import { BIN, runCommand, runPcopy, start, startPcopy, waitFor, withinOrKill } from '../helpers/run.js';
import { copyInProgress, findTemps, srcDestPerTest, writeFile } from '../helpers/tree.js';


/** Run as a command, the bin's shell line starts `node` from PATH: this test's Node goes first there. */
const THIS_NODE_FIRST = { PATH: `${path.dirname(process.execPath)}:${process.env.PATH ?? ''}` };

describe('start-up', () => {
  let src: string;
  let dest: string;
  srcDestPerTest('pcopy-start-', (dirs) => ({ src, dest } = dirs));

  it('a tree of 10 small files is copied by exactly one worker, the one forked before the CLI loaded', async () => {
    for (let i = 0; i < 10; i++) writeFile(path.join(src, i < 5 ? '' : 'sub', `f${i}.txt`), 100 + i * 300);
    // Up to four allowed: the work, not the limit, decides.
    const r = await runPcopy(['-j', '4', src, dest], { extraEnv: { PCOPY_DEBUG_TIMING: '1' } });
    expect(r.code, r.stderr).toBe(0);
    const workers = workerLines(r.stderr);
    expect(workers).toHaveLength(1);
    expect(workers[0]).toContain('(forked early)');
    expectSameTree(src, dest);
  });

  it('workers start without NODE_EXTRA_CA_CERTS (a CA bundle costs each Node start ~40 ms; workers make no TLS connection)', async () => {
    for (let i = 0; i < 24; i++) writeFile(path.join(src, `f${i}.bin`), 4 * 1024 * 1024 + i);
    // Node warns at start-up when the file cannot be loaded: once for pcopy itself, and once per
    // process that was given the variable.
    const r = await runPcopy(['-j', '2', src, dest], { extraEnv: { PCOPY_DEBUG_TIMING: '1', NODE_EXTRA_CA_CERTS: path.join(src, 'no-such-ca.pem') } });
    expect(r.code, r.stderr).toBe(0);
    expect(workerLines(r.stderr)).toHaveLength(2);
    expect(r.stderr.split('\n').filter((l) => l.includes('Ignoring extra certs'))).toHaveLength(1);
    expectSameTree(src, dest);
  });

  it('workers start with no heap-size flag for V8 (on Node 20 any one costs each start ~7 ms)', () => {
    const child = forkWorker();
    try {
      const nodeFlags = child.spawnargs.slice(1, child.spawnargs.findIndex((a) => a.endsWith('worker-start.cjs')));
      expect(nodeFlags.filter((a) => /^--(max|min)-(semi|old)-space-size|^--(max|initial)-heap-size/.test(a))).toEqual([]);
    } finally {
      child.kill();
    }
  });

  it('run as a command, bin/pcopy.js starts Node itself without NODE_EXTRA_CA_CERTS, with its arguments and exit code intact', async () => {
    writeFile(path.join(src, 'a b', "it's $HOME.txt"), 1000);
    const env = { NODE_EXTRA_CA_CERTS: path.join(src, 'no-such-ca.pem'), ...THIS_NODE_FIRST };
    // The same variable makes a plain Node start warn: the check below can fail.
    const bare = await runCommand(process.execPath, ['-e', '0'], { extraEnv: env });
    expect(bare.stderr).toContain('Ignoring extra certs');

    const target = path.join(dest, 'x y', '$HOME');
    const r = await runCommand(BIN, [src, target], { extraEnv: { ...env, PCOPY_DEBUG_TIMING: '1' } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('Ignoring extra certs');
    expect(workerLines(r.stderr)).toHaveLength(1);
    expectSameTree(src, target);

    const usage = await runCommand(BIN, ['--no-such-option', src, target], { extraEnv: env });
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--no-such-option');
    expect(usage.stderr).not.toContain('Ignoring extra certs');
  });

  it('run as a command, the shell becomes Node (exec): the pid that was started is pcopy, so signals reach it', async () => {
    for (let i = 0; i < 5; i++) writeFile(path.join(src, `f${i}`), 1000);
    // 300 ms a file: the run lasts long enough to look at it.
    const running = start(BIN, [src, dest], { extraEnv: { PCOPY_TEST_DELAY_MS: '300', ...THIS_NODE_FIRST } });
    const node = fs.realpathSync(process.execPath);
    // Until the exec the pid is the shell's; with `node "$0"` instead of `exec node "$0"` it stays so.
    await waitFor(() => fs.readlinkSync(`/proc/${running.pid}/exe`) === node, 'the started pid running node', { running });
    await waitFor(() => copyInProgress(dest), 'a copy in progress', { running });
    // To that pid alone, as `kill PID` would: pcopy stops as on Ctrl-C.
    process.kill(running.pid, 'SIGINT');
    const r = await withinOrKill(running.done, 20_000, running, 'pcopy after SIGINT');
    expect(r.code, r.stderr).toBe(130);
    expect(r.stdout).toMatch(/^pcopy: interrupted: /);
    expect(findTemps(dest)).toEqual([]);
  });

  it('a tree of 3,000 files still gets a second worker', async () => {
    for (let i = 0; i < 3000; i++) writeFile(path.join(src, `d${i % 30}`, `f${i}`), 10 + (i % 50));
    // Workers pause 1 ms per file, so the scan is surely ahead by 1,024 jobs, however busy the machine.
    const r = await runPcopy(['-j', '2', src, dest], { extraEnv: { PCOPY_DEBUG_TIMING: '1', PCOPY_TEST_DELAY_MS: '1' } });
    expect(r.code, r.stderr).toBe(0);
    const workers = workerLines(r.stderr);
    expect(workers).toHaveLength(2);
    expect(workers.filter((l) => l.includes('(forked early)'))).toHaveLength(1);
    expectSameTree(src, dest);
  });

  it('a tree of 24 files of 4 MiB gets a second worker once their sizes are known', async () => {
    for (let i = 0; i < 24; i++) writeFile(path.join(src, `f${i}.bin`), 4 * 1024 * 1024 + i);
    const r = await runPcopy(['-j', '2', src, dest], { extraEnv: { PCOPY_DEBUG_TIMING: '1' } });
    expect(r.code, r.stderr).toBe(0);
    expect(workerLines(r.stderr)).toHaveLength(2);
    expectSameTree(src, dest);
  });

  it('one file too big for one worker is split over the pool, but copied by one worker with --verify (not split then)', async () => {
    const file = path.join(src, 'big.bin');
    writeFile(file, 70 * 1024 * 1024);
    for (const [args, workers] of [[[], 2], [['--verify'], 1]] as const) {
      const out = path.join(dest, `copy${workers}`);
      const r = await runPcopy([...args, '-j', '2', file, out], { extraEnv: { PCOPY_DEBUG_TIMING: '1' } });
      expect(r.code, r.stderr).toBe(0);
      expect(workerLines(r.stderr), args.join(' ')).toHaveLength(workers);
      expect(fs.readFileSync(out).equals(fs.readFileSync(file))).toBe(true);
    }
  });

  it('the guess from argv: two operands and no help or version flag', () => {
    expect(looksLikeCopy(['src', 'dest'])).toBe(true);
    expect(looksLikeCopy(['-j', '2', '--exclude', '*.o', 'src', 'dest'])).toBe(true);
    expect(looksLikeCopy(['src'])).toBe(false);
    expect(looksLikeCopy(['src', 'dest', '--help'])).toBe(false);
    expect(looksLikeCopy(['-V', 'src', 'dest'])).toBe(false);
  });

  // Each of these argv looks like a copy, so a worker is forked before the CLI refuses it.
  const refusals: Array<[what: string, args: (src: string, dest: string) => string[], code: number, stderr: RegExp]> = [
    ['a missing SRC', (s, d) => [path.join(s, 'missing'), d], 2, /^pcopy: source .*missing.* does not exist\n$/],
    ['a bad option value', (s, d) => ['-j', 'many', s, d], 2, /workers/],
    ['an unknown option', (s, d) => ['--frobnicate', s, d], 2, /unknown option '--frobnicate'/],
  ];
  for (const [what, args, code, stderr] of refusals) {
    it(`${what}: exit ${code} at once, nothing written, the early worker gone with it`, async () => {
      expect(looksLikeCopy(args(src, dest))).toBe(true);
      writeFile(path.join(src, 'a.txt'), 10);
      const running = startPcopy(args(src, dest));
      const r = await withinOrKill(running.done, 30_000, running, what);
      expect(r.code).toBe(code);
      expect(r.stderr).toMatch(stderr);
      expect(fs.existsSync(dest)).toBe(false);
      // An early worker that was never taken over sees its parent's channel close and exits.
      await waitFor(() => groupMembers(running.pid).length === 0, 'no process left in the group', { timeoutMs: 10_000 });
      expect(groupMembers(running.pid)).toEqual([]);
    });
  }
});
